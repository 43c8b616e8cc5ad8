"""Runs inside an evaluation job: `python -P job.py SPEC_JSON_FILE INDEX PARENT_RUN_ID`.

Evaluates the spec's combination number INDEX as a child run of PARENT_RUN_ID, talking to
the server through the SDK (SEEDBED_URL and SEEDBED_TOKEN are in the job's environment).
Exits 0 with the child run's id on stdout, 2 on bad input, 1 on any other failure, 143
when stopped (SIGTERM, as when the job is cancelled: the run then ends KILLED).
"""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path
from types import FrameType

import seedbed
from seedbed.errors import Invalid, SeedbedError
from seedbed.evaluation import runner, spec

USAGE = "usage: python -P job.py SPEC_JSON_FILE INDEX PARENT_RUN_ID"


def _stop(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"stopped by signal {signum}")


def main(arguments: list[str]) -> int:
    if len(arguments) != 3 or not arguments[1].isdigit():
        sys.stderr.write(USAGE + "\n")
        return 2
    path, index, parent_run_id = Path(arguments[0]), int(arguments[1]), arguments[2]
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:  # unreadable, or not JSON
        sys.stderr.write(f"evaluation job: cannot read the spec {path}: {exc}\n")
        return 2
    try:
        evaluation = spec.parse_spec(data)
        combinations = evaluation.combinations()
        if index >= len(combinations):
            raise Invalid(f"The spec has {len(combinations)} combinations; there is no {index}.")
        combination = combinations[index]
        print(f"Evaluating {combination.label} (combination {index})", flush=True)
        with seedbed.connect() as ws:
            run_id = runner.run_combination(ws, evaluation, combination, parent_run_id)
    except Invalid as exc:
        sys.stderr.write(f"evaluation job: {exc}\n")
        return 2
    except SeedbedError as exc:
        sys.stderr.write(f"evaluation job failed: {exc}\n")
        return 1
    except KeyboardInterrupt as exc:
        sys.stderr.write(f"evaluation job: {exc or 'interrupted'}\n")
        return 143
    # Anything else propagates: Python prints the traceback and exits 1.
    print(run_id, flush=True)
    return 0


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _stop)  # so a cancelled job's run ends KILLED, not RUNNING
    sys.exit(main(sys.argv[1:]))
