"""Runs inside an evaluation job.

`python -P job.py SPEC_JSON_FILE --worker JOB_ID PARENT_RUN_ID` is a worker: it asks the
server for the next combination (`POST /api/v1/evaluations/PARENT_RUN_ID/claim`), evaluates
it as a child run of PARENT_RUN_ID, and asks again until none is left; one failing
combination does not stop the others. `python -P job.py SPEC_JSON_FILE INDEX PARENT_RUN_ID`
evaluates the one combination INDEX. Both talk to the server through the SDK (SEEDBED_URL and
SEEDBED_TOKEN are in the job's environment) and read the data once per process.

Exits 0 when every combination it evaluated succeeded, 2 on bad input, 1 when any failed,
143 when stopped (SIGTERM, as when the job is cancelled: the run then ends KILLED).
"""

from __future__ import annotations

import json
import signal
import sys
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import seedbed
from seedbed.errors import Invalid, SeedbedError
from seedbed.evaluation import runner, spec

USAGE = (
    "usage: python -P job.py SPEC_JSON_FILE INDEX PARENT_RUN_ID\n"
    "       python -P job.py SPEC_JSON_FILE --worker JOB_ID PARENT_RUN_ID"
)


def _stop(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"stopped by signal {signum}")


def _claims(ws: Any, parent_run_id: str, worker: str) -> Iterator[int]:
    path = f"/api/v1/evaluations/{parent_run_id}/claim"
    while True:
        index = ws.request("POST", path, json={"worker": worker}).json()["index"]
        if index is None:
            return
        yield int(index)


def main(arguments: list[str]) -> int:
    worker = len(arguments) == 4 and arguments[1] == "--worker"
    if not worker and (len(arguments) != 3 or not arguments[1].isdigit()):
        sys.stderr.write(USAGE + "\n")
        return 2
    path, parent_run_id = Path(arguments[0]), arguments[-1]
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:  # unreadable, or not JSON
        sys.stderr.write(f"evaluation job: cannot read the spec {path}: {exc}\n")
        return 2
    try:
        evaluation = spec.parse_spec(data)
        combinations = evaluation.combinations()
        with seedbed.connect() as ws:
            if worker:
                indices: Callable[[], Iterator[int]] = lambda: _claims(  # noqa: E731
                    ws, parent_run_id, arguments[2]
                )
            else:
                index = int(arguments[1])
                if index >= len(combinations):
                    raise Invalid(
                        f"The spec has {len(combinations)} combinations; there is no {index}."
                    )
                indices = lambda: iter([index])  # noqa: E731
            return _evaluate(ws, evaluation, combinations, indices(), parent_run_id, worker)
    except Invalid as exc:
        sys.stderr.write(f"evaluation job: {exc}\n")
        return 2
    except SeedbedError as exc:
        sys.stderr.write(f"evaluation job failed: {exc}\n")
        return 1
    except KeyboardInterrupt as exc:
        sys.stderr.write(f"evaluation job: {exc or 'interrupted'}\n")
        return 143


def _evaluate(
    ws: Any,
    evaluation: spec.EvaluationSpec,
    combinations: list[spec.Combination],
    indices: Iterator[int],
    parent_run_id: str,
    keep_going: bool,
) -> int:
    """Evaluate each claimed combination, sharing the data between them; a worker
    (`keep_going`) logs a failure and goes on with the next combination."""
    failed = 0
    frames: dict[str, Any] = {}
    for index in indices:
        combination = combinations[index]
        print(f"Evaluating {combination.label} (combination {index})", flush=True)
        try:
            run_id = runner.run_combination(ws, evaluation, combination, parent_run_id, frames)
        except KeyboardInterrupt:
            raise
        except Exception as exc:
            if not keep_going:
                raise
            failed += 1
            if isinstance(exc, SeedbedError):
                sys.stderr.write(f"{combination.label} failed: {exc}\n")
            else:
                traceback.print_exc()
            continue
        print(run_id, flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _stop)  # so a cancelled job's run ends KILLED, not RUNNING
    sys.exit(main(sys.argv[1:]))
