"""`seedbed jobs …`: submit scripts and notebooks, follow their logs, cancel, see capacity."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from seedbed.cli_output import console, emit, fail
from seedbed.client import connect
from seedbed.client_jobs import FINAL
from seedbed.errors import SeedbedError

app = typer.Typer(
    help="Jobs: scripts, notebooks and functions run at a chosen size.", no_args_is_help=True
)
Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
FAILED_EXIT = 3


def _row(job: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": job["id"],  # whole: the other commands take the whole id
        "name": job["name"],
        "kind": job["kind"],
        "status": job["status"],
        "profile": job["profile"] or "custom",
        "cpus": f"{job['cpus']:g}",
        "by": job["submitted_by"],
        "seconds": "" if job["seconds"] is None else f"{job['seconds']:.1f}",
        "exit": "" if job["exit_code"] is None else job["exit_code"],
    }


@app.command("submit", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def submit(
    ctx: typer.Context,
    script: Annotated[Path, typer.Argument(help="A Python script, or a notebook (.ipynb).")],
    profile: Annotated[str | None, typer.Option(help="Resource profile (default: small).")] = None,
    cpus: Annotated[float | None, typer.Option(help="CPUs, instead of the profile's.")] = None,
    memory: Annotated[str | None, typer.Option(help="Memory: '2GiB', '50%'.")] = None,
    gpus: Annotated[int | None, typer.Option(help="GPUs, instead of the profile's.")] = None,
    timeout: Annotated[float | None, typer.Option(help="Stop it after this many seconds.")] = None,
    retries: Annotated[int, typer.Option(help="Run again after a failure, up to N times.")] = 0,
    name: Annotated[str, typer.Option(help="A name (default: the file's).")] = "",
    env: Annotated[
        str, typer.Option("--env", help="The workspace environment to run in.")
    ] = "default",
    wait: Annotated[bool, typer.Option("--wait", help="Follow its log until it ends.")] = False,
    as_json: Json = False,
) -> None:
    """Submit a script (arguments after `--`) or a notebook as a job.

    Example: seedbed jobs submit train.py --profile large -- --epochs 3
    """
    try:
        with connect() as ws:
            job = ws.jobs.submit_script(
                script, list(ctx.args), profile, cpus, memory, gpus, timeout, retries, name, env
            )
            if wait:
                out = sys.stderr if as_json else sys.stdout  # with --json, stdout is JSON only
                for chunk in job.logs(follow=True):
                    out.write(chunk)
                    out.flush()
                job.refresh()
    except SeedbedError as exc:
        raise fail(exc) from None
    if as_json:
        typer.echo(json.dumps(job.data, indent=2))
    elif wait:
        console.print(
            f"Job {job.id} {job.status}{': ' + job.data['message'] if job.data['message'] else ''}"
        )
    else:
        console.print(
            f"Submitted job {job.id} ({job.status}). Follow it: seedbed jobs logs -f {job.id}"
        )
    if wait and job.status != "succeeded":
        raise typer.Exit(FAILED_EXIT)


@app.command("list")
def list_jobs(
    status: Annotated[
        str | None, typer.Option(help="live, finished, or a state such as failed.")
    ] = None,
    as_json: Json = False,
) -> None:
    """List jobs, newest first.

    Example: seedbed jobs list --status live
    """
    try:
        with connect() as ws:
            found = [job.data for job in ws.jobs.list(status)]
    except SeedbedError as exc:
        raise fail(exc) from None
    emit(found if as_json else [_row(job) for job in found], as_json, "Jobs")


@app.command("show")
def show(job_id: Annotated[str, typer.Argument(help="Job id.")], as_json: Json = False) -> None:
    """Show one job: state, resources, exit code, CPU time, peak memory, its runs.

    Example: seedbed jobs show 3f2a9c --json
    """
    try:
        with connect() as ws:
            job = ws.jobs.get(job_id)
            runs = job.runs()
    except SeedbedError as exc:
        raise fail(exc) from None
    if as_json:
        typer.echo(json.dumps({**job.data, "runs": runs}, indent=2))
        return
    data = job.data
    for label, value in (
        ("job", f"{data['id']} ({data['kind']}) {data['name']}"),
        ("status", data["status"] + (f": {data['message']}" if data["message"] else "")),
        ("by", data["submitted_by"]),
        (
            "resources",
            f"{data['cpus']:g} CPUs, {data['memory_bytes'] / 2**30:.1f} GiB, "
            f"{data['gpus']} GPUs ({data['profile'] or 'custom'})",
        ),
        ("exit code", data["exit_code"]),
        ("cpu time", f"{data['cpu_seconds']:.2f} s" if data["cpu_seconds"] is not None else "—"),
        (
            "peak memory",
            f"{data['peak_memory_bytes'] / 2**20:,.0f} MiB" if data["peak_memory_bytes"] else "—",
        ),
        ("runs", ", ".join(r["id"] for r in runs) or "none"),
    ):
        console.print(f"[bold]{label:>12}[/bold]  {value}")


@app.command("logs")
def logs(
    job_id: Annotated[str, typer.Argument(help="Job id.")],
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing until it ends.")
    ] = False,
) -> None:
    """Print a job's log (stdout and stderr together).

    Example: seedbed jobs logs -f 3f2a9c
    """
    try:
        with connect() as ws:
            job = ws.jobs.get(job_id)
            for chunk in job.logs(follow=follow):
                sys.stdout.write(chunk)
                sys.stdout.flush()
    except SeedbedError as exc:
        raise fail(exc) from None
    except KeyboardInterrupt:
        raise typer.Exit(130) from None


@app.command("cancel")
def cancel(job_id: Annotated[str, typer.Argument(help="Job id.")]) -> None:
    """Stop a queued or running job and its child processes.

    Example: seedbed jobs cancel 3f2a9c
    """
    try:
        with connect() as ws:
            job = ws.jobs.get(job_id).cancel()
            deadline = time.monotonic() + 10
            while job.status not in FINAL and time.monotonic() < deadline:
                time.sleep(0.2)
                job.refresh()
    except SeedbedError as exc:
        raise fail(exc) from None
    console.print(f"Job {job.id}: {job.status}")


@app.command("capacity")
def capacity(as_json: Json = False) -> None:
    """Show the backend's CPUs, memory and GPUs: total and in use.

    Example: seedbed jobs capacity --json
    """
    try:
        with connect() as ws:
            found = ws.jobs.capacity()
    except SeedbedError as exc:
        raise fail(exc) from None
    if as_json:
        typer.echo(json.dumps(found, indent=2))
        return
    total, used = found["total"], found["used"]
    console.print(
        f"{found['backend']} ({found['detail']}): {used['cpus']:g}/{total['cpus']:g} CPUs, "
        f"{used['memory_bytes'] / 2**30:.1f}/{total['memory_bytes'] / 2**30:.1f} GiB, "
        f"{used['gpus']}/{total['gpus']} GPUs; {found['running']} running, {found['queued']} queued"
    )


@app.command("profiles")
def profiles(as_json: Json = False) -> None:
    """List resource profiles.

    Example: seedbed jobs profiles
    """
    try:
        with connect() as ws:
            found = ws.jobs.profiles()
    except SeedbedError as exc:
        raise fail(exc) from None
    emit(found, as_json, "Resource profiles")


@app.command("profile-set")
def profile_set(
    name: Annotated[str, typer.Argument(help="Profile name.")],
    cpus: Annotated[str, typer.Option(help="CPUs, or 'all'.")] = "1",
    memory: Annotated[str, typer.Option(help="Memory: '2GiB' or '75%'.")] = "2GiB",
    gpus: Annotated[int, typer.Option(help="GPUs.")] = 0,
    description: Annotated[str, typer.Option(help="What it is for.")] = "",
) -> None:
    """Add or change a resource profile (admins).

    Example: seedbed jobs profile-set medium --cpus 2 --memory 8GiB
    """
    try:
        number: float | str = float(cpus)
    except ValueError:
        number = cpus
    body = {"cpus": number, "memory": memory, "gpus": gpus, "description": description}
    try:
        with connect() as ws:
            made = ws.request("PUT", f"/api/v1/compute/profiles/{name}", json=body).json()
    except SeedbedError as exc:
        raise fail(exc) from None
    shown = f"{made['cpus']:g}" if isinstance(made["cpus"], float | int) else made["cpus"]
    console.print(f"Profile {made['name']}: {shown} CPUs, {made['memory']}, {made['gpus']} GPUs")


@app.command("profile-remove")
def profile_remove(name: Annotated[str, typer.Argument(help="Profile name.")]) -> None:
    """Remove a profile an admin added.

    Example: seedbed jobs profile-remove medium
    """
    try:
        with connect() as ws:
            ws.request("DELETE", f"/api/v1/compute/profiles/{name}")
    except SeedbedError as exc:
        raise fail(exc) from None
    console.print(f"Removed profile {name}.")
