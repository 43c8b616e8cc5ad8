"""Runs inside a function job: `python -P function_job.py IN OUT`.

Unpickles (function, args, kwargs), calls it, and pickles ("ok", value) or
("error", exception, traceback text) to OUT, so the SDK returns the value or raises.
A function that fails exits with status 1 (the job is failed) after writing OUT.
"""

from __future__ import annotations

import sys
import traceback
from pathlib import Path

import cloudpickle


def main(source: Path, target: Path) -> int:
    function, args, kwargs = cloudpickle.loads(source.read_bytes())
    try:
        value = function(*args, **kwargs)
    except BaseException as exc:  # reported to the caller, whatever it was
        text = traceback.format_exc()
        sys.stderr.write(text)
        try:
            outcome = cloudpickle.dumps(("error", exc, text))
        except Exception:
            outcome = cloudpickle.dumps(("error", RuntimeError(repr(exc)), text))
        target.write_bytes(outcome)
        return 1
    target.write_bytes(cloudpickle.dumps(("ok", value)))
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))
