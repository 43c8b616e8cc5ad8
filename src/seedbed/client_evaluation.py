"""`ws.evaluate(...)`: compare feature sets x algorithms against baselines on the server.

ev = ws.evaluate("delays.yaml", profile="large")   # waits, then:
ev.leaderboard()                                    # pandas, ranked on the primary metric
ev.register(ev.leaderboard().run_id[0], "flight-delay", alias="challenger")
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from seedbed.evaluation.spec import EvaluationSpec, load_spec

if TYPE_CHECKING:
    import pandas as pd

    from seedbed.client import Client

LEADERBOARD_COLUMNS = (
    "rank",
    "label",
    "kind",
    "test",
    "cv_mean",
    "cv_std",
    "diff_mean",
    "diff_se",
    "diff_test",
    "fit_seconds",
    "latency_ms_per_row",
    "model_bytes",
    "leakage",
    "run_id",
)


class Evaluation:
    """One evaluation on the server: its state, its report, and registering its models."""

    def __init__(self, client: Client, data: Mapping[str, Any]) -> None:
        self._client = client
        self.id: str = data["id"]
        self._data = dict(data)
        self._report: dict[str, Any] | None = None

    def __repr__(self) -> str:
        return f"<Evaluation {self._data.get('name')} {self.id} {self.status}>"

    @property
    def data(self) -> dict[str, Any]:
        """The evaluation as the server last described it (jobs, counts, spec)."""
        return self._data

    @property
    def status(self) -> str:
        """running, succeeded, failed or cancelled."""
        return str(self._data["status"])

    @property
    def counts(self) -> dict[str, int]:
        """Jobs queued, running, succeeded and failed."""
        return dict(self._data.get("counts") or {})

    @property
    def final(self) -> bool:
        return self.status != "running"

    def refresh(self) -> Evaluation:
        """Read the state and report again from the server."""
        body = self._client.request("GET", f"/api/v1/evaluations/{self.id}").json()
        self._data, self._report = body["evaluation"], body["report"]
        return self

    def wait(
        self,
        timeout_s: float | None = None,
        poll_s: float = 1.0,
        progress: Callable[[Evaluation], None] | None = None,
    ) -> Evaluation:
        """Block until every job has ended (or `timeout_s` passes); returns self."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while True:
            self.refresh()
            if progress is not None:
                progress(self)
            if self.final or (deadline is not None and time.monotonic() > deadline):
                return self
            time.sleep(poll_s)

    def report(self) -> dict[str, Any]:
        """The whole report: leaderboard, best model, slices, leakage, unfinished jobs."""
        if self._report is None or not self.final:
            self.refresh()
        assert self._report is not None
        return self._report

    def leaderboard(self) -> pd.DataFrame:
        """The leaderboard on the primary metric, best first, one row per run."""
        import pandas as pd

        rows = []
        for row in self.report()["leaderboard"]:
            diff = row.get("diff") or {}
            flat = {**row, "diff_mean": diff.get("mean"), "diff_se": diff.get("se")}
            flat["diff_test"] = diff.get("test")
            rows.append({column: flat.get(column) for column in LEADERBOARD_COLUMNS})
        return pd.DataFrame(rows, columns=list(LEADERBOARD_COLUMNS))

    def cancel(self) -> Evaluation:
        """Stop the jobs still queued or running."""
        self._data = self._client.request("POST", f"/api/v1/evaluations/{self.id}/cancel").json()
        return self

    def register(self, run_id: str, model_name: str, alias: str | None = None) -> dict[str, Any]:
        """Register the model of one of the evaluation's runs; returns the model version."""
        body = {"run_id": run_id, "model_name": model_name, "alias": alias}
        response = self._client.request(
            "POST", f"/api/v1/evaluations/{self.id}/register", json=body
        )
        found: dict[str, Any] = response.json()
        return found


def spec_dict(spec: EvaluationSpec | str | Path | Mapping[str, Any]) -> dict[str, Any]:
    """The spec as the server takes it, checked here first (every problem listed)."""
    if not isinstance(spec, EvaluationSpec):
        spec = load_spec(spec)
    return spec.model_dump(mode="json", exclude_none=True)


def evaluate(
    client: Client,
    spec: EvaluationSpec | str | Path | Mapping[str, Any],
    profile: str | None = None,
    wait: bool = True,
) -> Evaluation:
    """Start an evaluation (a YAML path, a dict or a spec); wait for it unless `wait=False`."""
    body = {"spec": spec_dict(spec), "profile": profile}
    started = Evaluation(client, client.request("POST", "/api/v1/evaluations", json=body).json())
    return started.wait() if wait else started


def evaluations(client: Client) -> list[Evaluation]:
    """Every evaluation, newest first."""
    return [
        Evaluation(client, data) for data in client.request("GET", "/api/v1/evaluations").json()
    ]
