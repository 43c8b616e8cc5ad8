"""The `seedbed` command: `init`, `up`, and one command group per domain noun."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from seedbed.apps.feedback_cli import app as feedback_app
from seedbed.apps.hosted_cli import app as hosted_app
from seedbed.apps.package_cli import package
from seedbed.apps.share_cli import app as share_app
from seedbed.auth.audit_cli import app as audit_app
from seedbed.auth.cli import app as users_app
from seedbed.cli_output import console, fail
from seedbed.compute.cli import app as jobs_app
from seedbed.data.cli import app as data_app
from seedbed.errors import SeedbedError
from seedbed.evaluation.cli import evaluate
from seedbed.features.cli import app as features_app
from seedbed.notebooks.cli import app as env_app
from seedbed.notebooks.notebook_cli import app as notebook_app
from seedbed.privacy.cli import app as privacy_app
from seedbed.registry.cli import app as models_app
from seedbed.settings import load_settings
from seedbed.tracking.cli import app as runs_app

app = typer.Typer(
    help="seedbed: a self-hosted environment in which data scientists create and test models.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(data_app, name="data")
app.add_typer(runs_app, name="runs")
app.add_typer(models_app, name="models")
app.add_typer(users_app, name="users")
app.add_typer(audit_app, name="audit")
app.add_typer(privacy_app, name="privacy")
app.add_typer(jobs_app, name="jobs")
app.add_typer(env_app, name="env")
app.add_typer(notebook_app, name="notebook")
app.add_typer(features_app, name="features")
app.add_typer(hosted_app, name="apps")
app.add_typer(feedback_app, name="feedback")
app.add_typer(share_app, name="share")
app.command("evaluate")(evaluate)
app.command("package")(package)

WorkspaceOption = Annotated[
    Path | None,
    typer.Option("--workspace", "-w", help="Workspace folder (default: ./workspace)."),
]


@app.command()
def init(workspace: WorkspaceOption = None) -> None:
    """Create a workspace folder with its metadata DB, settings file and admin token.

    Example: seedbed init --workspace ./team-ws
    """
    from seedbed.auth.tokens import ensure_admin_token, token_file
    from seedbed.runtime import ServerLock
    from seedbed.workspace import Workspace

    try:
        settings = load_settings(workspace=workspace)
        settings.workspace.mkdir(parents=True, exist_ok=True)
        lock = ServerLock(settings.workspace.resolve())
        lock.acquire()  # the server is the only writer: refuse while one runs
        try:
            with Workspace.open(settings) as ws:
                ensure_admin_token(ws)
                console.print(f"Workspace ready at {ws.root}; admin token in {token_file(ws)}")
        finally:
            lock.release()
    except (SeedbedError, OSError) as exc:
        raise fail(exc) from None


@app.command()
def up(
    demo: Annotated[
        bool, typer.Option(help="Load the nycflights13 demo (reused if there).")
    ] = False,
    workspace: WorkspaceOption = None,
    host: Annotated[str | None, typer.Option(help="Interface to bind (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8765; 0 picks one).")] = None,
) -> None:
    """Serve a workspace: the web UI, /api/v1 and the SDK's endpoint.

    Example: seedbed up --demo --port 8765
    """
    from seedbed.web.server import serve

    try:
        settings = load_settings(workspace=workspace, host=host, port=port)
        serve(settings, demo, say=typer.echo)
    except (SeedbedError, OSError) as exc:
        raise fail(exc) from None


def main() -> None:
    app()
