"""From a notebook to code: a clean Python script and a job spec beside it.

The script keeps the code cells in order, with `# %%` markers between them; markdown
becomes comments; IPython magics (`%…`, `%%…`), shell escapes (`!…`, `x = !…`) and help
lookups (`obj?`) are commented out with a note, since plain Python cannot run them. The job
spec (YAML: script, profile, environment, args) says how the script runs as a job: in the
environment the notebook's kernel used.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from seedbed.errors import Invalid
from seedbed.notebooks import environments as envs
from seedbed.notebooks.notebook_files import kernelspec, read

NOTE = "  # seedbed export: IPython-only, commented out"
# A magic, a shell escape, an assignment from one, or a help lookup: not plain Python.
_IPYTHON_LINE = re.compile(r"^(\s*)(%|!|\w+\s*=\s*[!%]|[\w.]+\?\??\s*$|\?)")
# Cell magics whose body is still Python; any other (%%bash, %%html, …) comments the cell.
_PYTHON_CELL_MAGICS = {"time", "timeit", "capture", "prun", "debug"}
DEFAULT_PROFILE = "small"
KERNEL_DISPLAY_PREFIX = "seedbed ("


@dataclass(frozen=True)
class Exported:
    script: Path
    spec: Path
    commented: int  # lines commented out because only IPython runs them
    submit: str  # the command that submits it as a job


def to_script(notebook: Any, source_name: str) -> tuple[str, int]:
    """The notebook as a Python script, and how many IPython-only lines were commented out."""
    parts = [f'"""Exported from {source_name} by `seedbed notebook export`."""\n']
    commented = 0
    for cell in notebook.cells:
        source = str(cell.get("source", "")).rstrip()
        if not source:
            continue
        if cell.cell_type == "markdown":
            lines = ["# " + line if line else "#" for line in source.splitlines()]
            parts.append("# %% [markdown]\n" + "\n".join(lines) + "\n")
        elif cell.cell_type == "code":
            code, count = _clean_code(source)
            commented += count
            parts.append("# %%\n" + code + "\n")
    return "\n".join(parts), commented


def _clean_code(source: str) -> tuple[str, int]:
    lines = source.splitlines()
    first = lines[0].strip()
    if first.startswith("%%"):
        magic = first[2:].split()[0] if first[2:].split() else ""
        if magic not in _PYTHON_CELL_MAGICS:
            note = f"# seedbed export: a %%{magic} cell runs only in IPython, commented out\n"
            return note + "\n".join(f"# {line}" for line in lines), len(lines)
        lines = lines[1:]
        kept, count = _clean_lines(lines)
        return f"# {first}{NOTE}\n" + kept, count + 1
    return _clean_lines(lines)


def _clean_lines(lines: list[str]) -> tuple[str, int]:
    out, count = [], 0
    for line in lines:
        match = _IPYTHON_LINE.match(line)
        if match is None:
            out.append(line)
            continue
        count += 1
        indent = match.group(1)
        # an indented line stands in a block, which must not become empty: `pass` keeps it
        out.append(f"{indent}{'pass  ' if indent else ''}# {line.strip()}{NOTE}")
    return "\n".join(out), count


def kernel_environment(notebook: Any) -> str:
    """The workspace environment the notebook's kernel ran in (default for another kernel).

    seedbed's kernels are named after their environment and shown as "seedbed (NAME)"."""
    spec = kernelspec(notebook)
    name = str(spec.get("name", ""))
    ours = str(spec.get("display_name", "")).startswith(KERNEL_DISPLAY_PREFIX)
    return name if ours and envs.NAME.match(name) else envs.DEFAULT


def export_script(
    notebook_file: Path,
    output: Path | None = None,
    profile: str = DEFAULT_PROFILE,
    environment: str | None = None,
) -> Exported:
    """Write NOTEBOOK.py (or `output`) and NOTEBOOK.job.yaml beside it."""
    if environment is not None:
        envs.check_name(environment)
    if notebook_file.suffix != ".ipynb":
        raise Invalid(f"{notebook_file} is not a notebook (.ipynb).")
    if not notebook_file.is_file():
        raise Invalid(f"No notebook at {notebook_file}.")
    notebook = read(notebook_file)
    script = output or notebook_file.with_suffix(".py")
    if script.suffix != ".py":
        raise Invalid(f"The script's name must end in .py, not {script.name!r}.")
    text, commented = to_script(notebook, notebook_file.name)
    environment = environment or kernel_environment(notebook)
    spec_path = script.with_suffix(".job.yaml")
    spec = {"script": script.name, "profile": profile, "environment": environment, "args": []}
    try:
        script.parent.mkdir(parents=True, exist_ok=True)
        _publish(script, text)
        _publish(spec_path, yaml.safe_dump(spec, sort_keys=False))
    except OSError as exc:  # a folder by that name, a read-only place, …
        raise Invalid(f"Could not write {script}: {exc.strerror or exc}.") from None
    submit = shlex.join(
        ["seedbed", "jobs", "submit", str(script), "--profile", profile, "--env", environment]
    )
    return Exported(script, spec_path, commented, submit)


def _publish(path: Path, text: str) -> None:
    """Write whole or not at all."""
    partial = path.with_name(f".{path.name}.partial")
    try:
        partial.write_text(text, encoding="utf-8")
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
