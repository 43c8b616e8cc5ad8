"""Browsing a run's artifacts: one folder level at a time, and bounded previews of files.

A preview never reads a whole file: text stops after `TEXT_BYTES`, a table after `TABLE_ROWS`
rows or `TABLE_BYTES` bytes, an MLmodel file after `MLMODEL_BYTES`. Paths are checked by the
MLflow artifact proxy's own `safe_path`, so both ways into the store refuse the same traversals.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import json
import posixpath
from dataclasses import dataclass, field
from typing import Any, Literal

import yaml

from seedbed.errors import Invalid, NotFound
from seedbed.storage import ArtifactStore
from seedbed.tracking.mlflow_artifacts import TEMPORARY, safe_path

Kind = Literal["image", "text", "table", "html", "binary"]

TEXT_BYTES = 100_000
TABLE_ROWS = 100
TABLE_BYTES = 1024 * 1024
MLMODEL_BYTES = 256 * 1024
IMAGE_TYPES = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "webp": "image/webp",
    "svg": "image/svg+xml",
}
TEXT_EXTENSIONS = {
    "txt", "md", "json", "yaml", "yml", "py", "log", "toml", "cfg", "ini", "sh", "sql", "r",
    "xml", "js", "css", "ipynb", "jsonl", "rst", "err", "out",
}  # fmt: skip
TEXT_NAMES = {"MLmodel", "Dockerfile", "LICENSE", "README", "Makefile"}
TABLE_EXTENSIONS = {"csv", "tsv"}
HTML_EXTENSIONS = {"html", "htm"}


@dataclass(frozen=True)
class Entry:
    """One child of a folder: `path` is relative to the artifact root."""

    name: str
    path: str
    is_dir: bool
    size: int | None
    kind: Kind | None  # None for folders
    is_model: bool = False  # a folder holding an MLmodel file


@dataclass(frozen=True)
class Folder:
    path: str
    entries: list[Entry]
    crumbs: list[tuple[str, str]]  # (name, path) from the root down to this folder
    is_model: bool


@dataclass(frozen=True)
class TextHead:
    text: str
    truncated: bool


@dataclass(frozen=True)
class TableHead:
    columns: list[str]
    rows: list[list[str]]
    truncated: bool  # more rows (or bytes) follow what is shown


@dataclass(frozen=True)
class ModelInfo:
    """What an MLmodel file says: flavours, signature columns, versions."""

    flavors: list[tuple[str, str]]  # (flavour, a short description)
    inputs: list[tuple[str, str]]  # (name, type)
    outputs: list[tuple[str, str]]
    details: dict[str, str] = field(default_factory=dict)


def clean_path(path: str) -> str:
    """`path` relative to an artifact root, after refusing traversal (400)."""
    return safe_path(path.strip())


def preview_kind(name: str) -> Kind:
    """How a file is shown, from its name alone."""
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if extension in IMAGE_TYPES:
        return "image"
    if extension in TABLE_EXTENSIONS:
        return "table"
    if extension in HTML_EXTENSIONS:
        return "html"
    if extension in TEXT_EXTENSIONS or name in TEXT_NAMES:
        return "text"
    return "binary"


def content_type(name: str) -> str | None:
    """The type a file is served inline with, or None when it is only ever downloaded."""
    kind = preview_kind(name)
    if kind == "image":
        return IMAGE_TYPES[name.rsplit(".", 1)[-1].lower()]
    if kind == "html":
        return "text/html; charset=utf-8"
    if kind in ("text", "table"):
        return "text/plain; charset=utf-8"
    return None


def _key(root: str, path: str) -> str:
    return f"{root}/{path}" if path else root


def _crumbs(path: str) -> list[tuple[str, str]]:
    parts = path.split("/") if path else []
    return [(part, "/".join(parts[: i + 1])) for i, part in enumerate(parts)]


def is_folder(store: ArtifactStore, root: str, path: str) -> bool:
    return bool(store.fs.isdir(store.path(_key(root, clean_path(path)))))


def list_folder(store: ArtifactStore, root: str, path: str = "") -> Folder:
    """The direct children of a folder under `root`, folders first; NotFound if it is missing."""
    clean = clean_path(path)
    base = store.path(_key(root, clean))
    if not store.fs.isdir(base):
        if clean:
            raise NotFound(f"There is no artifact folder {clean!r}.")
        return Folder(clean, [], [], is_model=False)  # a run that logged nothing yet
    entries = []
    for item in store.fs.ls(base, detail=True):
        name = posixpath.basename(str(item["name"]).rstrip("/"))
        if TEMPORARY.search(name):
            continue
        child = f"{clean}/{name}" if clean else name
        if item["type"] == "directory":
            is_model = bool(store.fs.isfile(f"{base}/{name}/MLmodel"))
            entries.append(Entry(name, child, True, None, None, is_model))
        else:
            entries.append(Entry(name, child, False, int(item["size"] or 0), preview_kind(name)))
    entries.sort(key=lambda e: (not e.is_dir, e.name.lower()))
    has_mlmodel = any(e.name == "MLmodel" and not e.is_dir for e in entries)
    return Folder(clean, entries, _crumbs(clean), is_model=has_mlmodel)


def file_entry(store: ArtifactStore, root: str, path: str) -> Entry:
    """One file under `root`; NotFound when there is no file at `path`."""
    clean = clean_path(path)
    if not clean:
        raise Invalid("Name a file to preview, not the artifact root.")
    full = store.path(_key(root, clean))
    if not store.fs.isfile(full):
        raise NotFound(f"There is no artifact file {clean!r}.")
    name = posixpath.basename(clean)
    return Entry(name, clean, False, int(store.fs.size(full) or 0), preview_kind(name))


def _head(store: ArtifactStore, key: str, limit: int) -> tuple[bytes, bool]:
    with store.open(key) as handle:
        data: bytes = handle.read(limit + 1)
    return data[:limit], len(data) > limit


def _decode(data: bytes, complete: bool) -> str:
    # A cut may fall inside a multi-byte character; the incremental decoder leaves it out.
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    return decoder.decode(data, final=complete)


def read_text_head(
    store: ArtifactStore, root: str, path: str, limit: int = TEXT_BYTES
) -> TextHead | None:
    """The first `limit` bytes of a file as text; None when it looks binary."""
    key = _key(root, clean_path(path))
    data, truncated = _head(store, key, limit)
    if b"\x00" in data:
        return None
    text = _decode(data, complete=not truncated)
    if not truncated and path.lower().endswith(".json"):
        with contextlib.suppress(ValueError):  # a broken file is shown as it is
            text = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    return TextHead(text, truncated)


def read_table_head(
    store: ArtifactStore,
    root: str,
    path: str,
    rows: int = TABLE_ROWS,
    limit: int = TABLE_BYTES,
) -> TableHead | None:
    """The header and first `rows` rows of a CSV or TSV file; None when it cannot be read."""
    key = _key(root, clean_path(path))
    data, truncated = _head(store, key, limit)
    if b"\x00" in data:
        return None
    text = _decode(data, complete=not truncated)
    if truncated and "\n" in text:
        text = text[: text.rindex("\n")]  # the last line may be cut short
    delimiter = "\t" if path.lower().endswith(".tsv") else _sniff(text)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        header = next(reader, None)
        if header is None:
            return TableHead([], [], truncated=False)
        found: list[list[str]] = []
        for row in reader:
            if len(found) == rows:
                return TableHead(header, found, truncated=True)
            found.append(row)
    except csv.Error:
        return None
    return TableHead(header, found, truncated)


def _sniff(text: str) -> str:
    try:
        return csv.Sniffer().sniff(text[:16_384], delimiters=",;|\t").delimiter
    except csv.Error:
        return ","


def read_model(store: ArtifactStore, root: str, path: str) -> ModelInfo | None:
    """What the MLmodel file in folder `path` says; None when it is missing or unreadable."""
    clean = clean_path(path)
    key = _key(root, f"{clean}/MLmodel" if clean else "MLmodel")
    try:
        data, truncated = _head(store, key, MLMODEL_BYTES)
        document = yaml.safe_load(data.decode("utf-8")) if not truncated else None
    except (NotFound, UnicodeDecodeError, yaml.YAMLError):
        return None
    if not isinstance(document, dict):
        return None
    flavors = document.get("flavors") or {}
    signature = document.get("signature") or {}
    details = {
        label: str(document[name])
        for name, label in (
            ("model_uuid", "Model id"),
            ("utc_time_created", "Created"),
            ("mlflow_version", "MLflow format"),
        )
        if document.get(name)
    }
    return ModelInfo(
        flavors=[(str(name), _flavor_summary(spec)) for name, spec in flavors.items()],
        inputs=_columns(signature.get("inputs")),
        outputs=_columns(signature.get("outputs")),
        details=details,
    )


def _flavor_summary(spec: Any) -> str:
    if not isinstance(spec, dict):
        return ""
    shown = [
        f"{key.replace('_', ' ')} {value}"
        for key, value in spec.items()
        if key.endswith("_version") or key == "loader_module"
    ]
    return ", ".join(shown)


def _columns(spec: Any) -> list[tuple[str, str]]:
    """Signature columns, given as MLflow writes them (a JSON string) or as a list."""
    if isinstance(spec, str):
        try:
            spec = json.loads(spec)
        except ValueError:
            return []
    if not isinstance(spec, list):
        return []
    columns = []
    for i, column in enumerate(spec):
        if not isinstance(column, dict):
            continue
        kind = str(column.get("type", ""))
        tensor = column.get("tensor-spec")
        if isinstance(tensor, dict):
            kind = f"tensor {tensor.get('dtype', '')} {tensor.get('shape', '')}".strip()
        columns.append((str(column.get("name", f"#{i}")), kind))
    return columns


@dataclass(frozen=True)
class Preview:
    """A file with what its preview shows: text, a table's head, or neither (the file URL)."""

    entry: Entry
    text: TextHead | None = None
    table: TableHead | None = None


@dataclass(frozen=True)
class Browse:
    """A folder level, the model it holds (if any), and the file opened in it (if any)."""

    folder: Folder
    key: str  # the store key of the folder
    model: ModelInfo | None
    preview: Preview | None


def preview(store: ArtifactStore, root: str, path: str) -> Preview:
    """A file's preview, read within the byte bounds of this module."""
    entry = file_entry(store, root, path)
    if entry.kind == "text":
        return Preview(entry, text=read_text_head(store, root, entry.path))
    if entry.kind == "table":
        table = read_table_head(store, root, entry.path)
        if table is None:  # not a table after all (a field too long, say): show the text
            return Preview(entry, text=read_text_head(store, root, entry.path))
        return Preview(entry, table=table)
    return Preview(entry)


def browse(store: ArtifactStore, root: str, path: str = "") -> Browse:
    """What the artifact browser shows at `path`: a folder, or a file in its folder."""
    clean = clean_path(path)
    opened = None
    if clean and not is_folder(store, root, clean):
        opened = preview(store, root, clean)
        clean = posixpath.dirname(clean)
    folder = list_folder(store, root, clean)
    model = read_model(store, root, clean) if folder.is_model else None
    return Browse(folder, _key(root, clean), model, opened)
