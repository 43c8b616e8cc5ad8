"""The workspace's notebooks: list them, read one, and turn its cells into a read-only view.

The view never carries a notebook's own HTML: markdown is rendered with raw HTML escaped,
code and text outputs are plain text, images are PNG data only. A notebook is anyone's
file, and its HTML outputs could run script in the seedbed page.
"""

from __future__ import annotations

import base64
import binascii
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from markdown_it import MarkdownIt

from seedbed.errors import Invalid, NotFound
from seedbed.workspace import Workspace

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_MARKDOWN = MarkdownIt("commonmark", {"html": False}).enable("table")


@dataclass(frozen=True)
class NotebookFile:
    path: str  # relative to notebooks/, with '/'
    size: int
    modified_s: float


@dataclass(frozen=True)
class Output:
    kind: str  # "text", "error", "image" or "omitted"
    text: str = ""
    png: str = ""  # base64, checked


@dataclass(frozen=True)
class Cell:
    kind: str  # "markdown", "code" or "raw"
    source: str
    html: str = ""  # markdown only: rendered with raw HTML escaped
    execution_count: int | None = None
    outputs: list[Output] = field(default_factory=list)


def list_notebooks(workspace: Workspace) -> list[NotebookFile]:
    """Every notebook under notebooks/, checkpoints left out."""
    root = workspace.notebooks_dir
    if not root.is_dir():
        return []
    found = []
    for path in sorted(root.rglob("*.ipynb")):
        relative = path.relative_to(root)
        if any(part.startswith(".") for part in relative.parts):
            continue
        stat = path.stat()
        found.append(NotebookFile(relative.as_posix(), stat.st_size, stat.st_mtime))
    return found


def notebook_path(workspace: Workspace, relative: str) -> Path:
    """The file of a notebook named relative to notebooks/; never outside it."""
    root = workspace.notebooks_dir.resolve()
    try:
        path = (root / relative).resolve()
        found = path.is_file()
    except (OSError, ValueError):  # a NUL byte, a name too long for the file system
        raise Invalid(f"{relative!r} is not a notebook path under notebooks/.") from None
    if not path.is_relative_to(root) or path.suffix != ".ipynb":
        raise Invalid(f"{relative!r} is not a notebook path under notebooks/.")
    if not found:
        raise NotFound(f"No notebook {relative!r} in {workspace.notebooks_dir}.")
    return path


def read(path: Path) -> Any:
    """A notebook as nbformat's node, upgraded to version 4."""
    try:
        with warnings.catch_warnings():
            # hand-written and older notebooks lack cell ids; reading them is fine
            # nbformat (and jsonschema under it) take a second to import: only when needed
            import nbformat
            from nbformat.validator import MissingIDFieldWarning

            warnings.simplefilter("ignore", MissingIDFieldWarning)
            return nbformat.read(path, as_version=4)
    except Exception as exc:  # nbformat raises bare ValueErrors, JSON errors, and its own
        raise Invalid(f"{path.name} is not a notebook nbformat can read: {exc}") from exc


def kernelspec(notebook: Any) -> dict[str, Any]:
    """The notebook's kernelspec metadata; {} when it has none (or a hand-written non-object)."""
    spec = notebook.metadata.get("kernelspec")
    return spec if isinstance(spec, dict) else {}


def cells(notebook: Any) -> list[Cell]:
    """The notebook's cells, ready for the read-only view."""
    shown = []
    for cell in notebook.cells:
        source = str(cell.get("source", ""))
        if cell.cell_type == "markdown":
            shown.append(Cell("markdown", source, html=_MARKDOWN.render(source)))
        elif cell.cell_type == "code":
            outputs = [o for raw in cell.get("outputs", []) for o in _outputs(raw)]
            shown.append(Cell("code", source, "", cell.get("execution_count"), outputs))
        else:
            shown.append(Cell("raw", source))
    return shown


def _outputs(raw: Any) -> list[Output]:
    kind = raw.get("output_type")
    if kind == "stream":
        return [Output("text", str(raw.get("text", "")))]
    if kind == "error":
        return [Output("error", _ANSI.sub("", "\n".join(raw.get("traceback", []))))]
    data = raw.get("data", {})
    shown = []
    png = data.get("image/png")
    if isinstance(png, str) and _is_base64(png):
        shown.append(Output("image", png=png.replace("\n", "")))
    if "text/plain" in data and not shown:
        shown.append(Output("text", str(data["text/plain"])))
    if not shown and data:
        kinds = ", ".join(sorted(data))
        shown.append(Output("omitted", f"Output not shown here ({kinds}); open it in JupyterLab."))
    return shown


def _is_base64(value: str) -> bool:
    try:
        base64.b64decode(value.replace("\n", ""), validate=True)
    except (binascii.Error, ValueError):
        return False
    return True
