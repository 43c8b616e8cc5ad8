"""Runs inside a notebook job: `python -P notebook_job.py IN OUT`.

Executes every cell with a kernel of this same Python (the job's environment), headless,
and writes the executed copy to OUT, also when a cell fails (that cell then holds the
error, and the job exits with status 1).
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError


def main(source: Path, target: Path) -> int:
    notebook = nbformat.read(source, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=None,  # the job has a timeout of its own
        kernel_name="python3",
        resources={"metadata": {"path": str(Path.cwd())}},
    )
    status = 0
    try:
        client.execute()
    except CellExecutionError as exc:
        sys.stderr.write(f"{exc}\n")
        status = 1
    finally:
        nbformat.write(notebook, target)
    return status


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))
