"""`seedbed evaluate SPEC.yaml`: start an evaluation, optionally follow it to its leaderboard."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from seedbed.cli_output import console, emit, errors, fail
from seedbed.client import connect
from seedbed.client_evaluation import Evaluation
from seedbed.errors import SeedbedError


def evaluate(
    spec: Annotated[Path, typer.Argument(help="The evaluation spec, a YAML file.")],
    profile: Annotated[
        str | None, typer.Option(help="Resource profile of each job (default: the spec's).")
    ] = None,
    wait: Annotated[
        bool, typer.Option("--wait", help="Follow the jobs, then print the leaderboard.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
) -> None:
    """Compare feature sets x algorithms against baselines: one job per combination.

    Exits 1 when the spec has problems or (with --wait) when the evaluation failed.

    Example: seedbed evaluate delays.yaml --profile large --wait
    """
    try:
        with connect() as ws:
            evaluation = ws.evaluate(spec, profile=profile, wait=False)
            if not as_json:
                console.print(
                    f"Evaluation {evaluation.id} started: {len(evaluation.data['jobs'])} jobs. "
                    f"Report: {ws.url}/ui/evaluations/{evaluation.id}"
                )
            if not wait:
                if as_json:
                    typer.echo(json.dumps(evaluation.data, indent=2, default=str))
                return
            evaluation.wait(poll_s=1.0, progress=_progress)
            _print(evaluation, as_json)
    except SeedbedError as exc:
        raise fail(exc) from None
    if evaluation.status != "succeeded":
        errors.print(f"[bold red]The evaluation {evaluation.status}.[/bold red]")
        raise typer.Exit(code=1)


def _progress(evaluation: Evaluation) -> None:
    counts = evaluation.counts
    shown = ", ".join(
        f"{counts.get(k, 0)} {k}" for k in ("queued", "running", "succeeded", "failed")
    )
    errors.print(f"[dim]{evaluation.status}: {shown}[/dim]")


def _print(evaluation: Evaluation, as_json: bool) -> None:
    report = evaluation.report()
    if as_json:
        body = {"evaluation": evaluation.data, "report": report}
        typer.echo(json.dumps(body, indent=2, default=str))
        return
    for item in report["leakage"]:
        for warning in item["warnings"]:
            errors.print(f"[bold red]Leakage[/bold red] in {item['label']}: {warning}")
    emit(
        [_row(r) for r in report["leaderboard"]], False, f"Leaderboard ({report['primary_metric']})"
    )
    for job in report["unfinished"]:
        why = job.get("error") or job["message"]
        errors.print(f"{job['label']}: job {job['job_id']} {job['status']}: {why}")


def _row(row: dict[str, Any]) -> dict[str, Any]:
    diff = row.get("diff") or {}

    def show(value: Any) -> str:
        return "—" if value is None else f"{value:.4g}"

    vs = "—" if diff.get("mean") is None else f"{diff['mean']:+.4f} ± {diff.get('se') or 0:.4f}"
    return {
        "rank": row["rank"] or "—",
        "combination": row["label"],
        "test": show(row["test"]),
        "cv mean ± std": f"{show(row['cv_mean'])} ± {show(row['cv_std'])}",
        "vs baseline": vs,
        "fit s": show(row["fit_seconds"]),
        "run": row["run_id"][:8],
    }
