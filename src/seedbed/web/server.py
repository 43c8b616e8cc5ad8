"""Running the server: one per workspace, a runtime file for local clients, clean shutdown."""

from __future__ import annotations

import gc
import socket
from collections.abc import Callable
from types import FrameType

import uvicorn

from seedbed.auth.tokens import ensure_admin_token, token_file
from seedbed.data.uploads import expire_stale
from seedbed.runtime import ServerLock, remove_runtime, write_runtime
from seedbed.settings import Settings
from seedbed.workspace import Workspace

Say = Callable[[str], None]


class _Server(uvicorn.Server):
    """Uvicorn re-raises SIGINT/SIGTERM after its graceful shutdown, which would kill the
    process before our cleanup; forgetting the signal lets `serve` finish and exit 0."""

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        self._captured_signals.clear()


def bind(host: str, port: int) -> socket.socket:
    """Bind before serving, so port 0 picks a free port we can print before requests arrive."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise OSError(
            f"Cannot listen on {host}:{port} ({exc.strerror}); "
            "choose another --port or stop what uses it."
        ) from exc
    sock.listen(128)
    return sock


def base_url(settings: Settings, port: int) -> str:
    if settings.public_url:
        return settings.public_url.rstrip("/")
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host
    return f"http://{host}:{port}"


def serve(settings: Settings, demo: bool, say: Say) -> None:
    """Serve the workspace until SIGINT/SIGTERM; refuse if another server owns it."""
    settings.workspace.mkdir(parents=True, exist_ok=True)
    lock = ServerLock(settings.workspace.resolve())
    lock.acquire()
    try:
        with Workspace.open(settings) as workspace:
            token = ensure_admin_token(workspace)
            expire_stale(workspace)
            if demo:
                from seedbed import demo as demo_builder  # scikit-learn loads only for --demo

                demo_builder.build(workspace, progress=say)
            from seedbed.web.app import create_app

            sock = bind(settings.host, settings.port)
            url = base_url(settings, sock.getsockname()[1])
            app = create_app(workspace, server_url=url)
            app.state.jobs.ensure_started()  # reconciles the jobs an earlier server left
            if demo and settings.demo_evaluation:  # once only: workspace meta records it
                from seedbed.demo_evaluation import launch_on_start

                launch_on_start(workspace, app.state.jobs, say)
            write_runtime(workspace.root, url, token_file(workspace))
            # What is loaded by now lives as long as the server: keep it out of the garbage
            # collector's full passes, which otherwise walk it all and stall requests.
            gc.collect()
            gc.freeze()
            try:
                say(f"seedbed is serving {workspace.root} at {url}")
                say(f"Log in: {url}/login?token={token}")
                config = uvicorn.Config(
                    app, log_level=settings.log_level, access_log=False, lifespan="off"
                )
                _Server(config).run(sockets=[sock])
            finally:
                sock.close()
                app.state.jobs.close()  # running jobs go on; the next start reconciles them
                app.state.jupyter.close()  # JupyterLab (and its kernels) stop with the server
                app.state.hosted_apps.close()  # and so do the hosted apps
                remove_runtime(workspace.root)
                say("seedbed stopped.")
    finally:
        lock.release()
