"""MLflow's artifact proxy (/api/2.0/mlflow-artifacts/artifacts) over seedbed's artifact store.

A run's MLflow artifact URI is `mlflow-artifacts:/<experiment>/<run>/artifacts`; the proxy path
`<experiment>/<run>/artifacts/<rest>` is the store key `runs/<run>/artifacts/<rest>`, where
seedbed's own pages, SDK and registry find the same files. A logged model's proxy path
`<experiment>/models/<model id>/artifacts/<rest>` is the key `models/<model id>/artifacts/<rest>`
(registry versions point there). Any other path lives under the key
prefix `mlflow-artifacts/`. Every path is checked before it touches the store: MLflow's own
CVE-2023-1177 and CVE-2023-6015 were traversals through this API.
"""

from __future__ import annotations

import posixpath
import re
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, unquote

from anyio import to_thread
from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from seedbed.errors import Invalid, NotFound, TooLarge
from seedbed.registry import logged_models
from seedbed.registry.logged_models import MODEL_ID
from seedbed.tracking.runs import get_run
from seedbed.web.deps import CurrentUser, EditorUser, WorkspaceDep
from seedbed.workspace import Workspace

router = APIRouter()
PREFIX = "mlflow-artifacts"
RUN_ID = re.compile(r"[0-9a-f]{32}")
# Escapes that a client has no honest reason to send in a path: an encoded slash, backslash,
# dot or NUL only serves to slip a separator or ".." past a check.
ENCODED = re.compile(rb"%(2f|5c|2e|00)", re.IGNORECASE)
TEMPORARY = re.compile(r"\.tmp-[0-9a-f]{32}$")  # ArtifactStore's in-progress writes
CHUNK = 1024 * 1024


def safe_path(path: str) -> str:
    """`path` decoded, after refusing anything that could leave the folder it names."""
    decoded, previous = unquote(path), path
    for _ in range(8):  # undo double (and deeper) percent-encoding before checking, as MLflow does
        decoded, previous = unquote(decoded), decoded
        if decoded == previous:
            break
    parts = decoded.split("/")
    if (
        decoded != previous
        or "\\" in decoded
        or any(ord(char) < 32 for char in decoded)
        or "#" in decoded
        or decoded.startswith("/")
        or re.match(r"^[A-Za-z]:", decoded)
        or ".." in parts
    ):
        raise Invalid(
            f"Artifact path {path!r} is not allowed: use a relative path with '/' separators, "
            "without '..', '\\', '%' escapes or a drive letter."
        )
    return "/".join(part for part in parts if part not in ("", "."))


def _check_raw(request: Request) -> None:
    raw = request.scope.get("raw_path") or b""
    if ENCODED.search(raw):
        raise Invalid("Artifact paths may not hold encoded '/', '\\', '.' or NUL characters.")


def store_key(workspace: Workspace, path: str) -> str:
    """The artifact store key behind an MLflow artifact path (see the module docstring)."""
    clean = safe_path(path)
    parts = clean.split("/")
    is_run = len(parts) >= 3 and parts[0].isdigit() and parts[2] == "artifacts"
    is_model = len(parts) >= 4 and parts[0].isdigit() and parts[1:4:2] == ["models", "artifacts"]
    if is_run and RUN_ID.fullmatch(parts[1]):
        run = get_run(workspace, parts[1])
        if run.experiment_id != int(parts[0]):
            raise NotFound(f"Run {run.id} is not in experiment {parts[0]}.")
        key = "/".join([run.artifact_key, *parts[3:]])
    elif is_model and MODEL_ID.fullmatch(parts[2]):
        model = logged_models.get(workspace, parts[2])
        if model.experiment_id != int(parts[0]):
            raise NotFound(f"Logged model {model.id} is not in experiment {parts[0]}.")
        key = "/".join([model.artifact_key, *parts[4:]])
    else:
        key = f"{PREFIX}/{clean}" if clean else PREFIX
    workspace.artifacts.path(key)  # the store's own containment check, once more
    return key


@router.get("/artifacts")
def list_artifacts(
    workspace: WorkspaceDep, user: CurrentUser, request: Request, path: str | None = None
) -> dict[str, Any]:
    """The direct children of a folder: {files: [{path, is_dir, file_size}]}, names relative."""
    _check_raw(request)
    store = workspace.artifacts
    base = store.path(store_key(workspace, path or ""))
    if not store.fs.isdir(base):
        return {"files": []}  # a file or nothing: MLflow lists neither
    files = []
    for entry in store.fs.ls(base, detail=True):
        name = posixpath.basename(str(entry["name"]).rstrip("/"))
        if TEMPORARY.search(name):
            continue
        if entry["type"] == "directory":
            files.append({"path": name, "is_dir": True})
        else:
            files.append({"path": name, "is_dir": False, "file_size": int(entry["size"] or 0)})
    return {"files": sorted(files, key=lambda f: str(f["path"]))}


@router.get("/artifacts/{path:path}")
def download_artifact(
    path: str, request: Request, workspace: WorkspaceDep, user: CurrentUser
) -> StreamingResponse:
    """A file's bytes, streamed, as a download (never rendered: an artifact may be any HTML)."""
    _check_raw(request)
    key = store_key(workspace, path)
    handle = workspace.artifacts.open(key)  # NotFound when it is not a file

    def chunks() -> Iterator[bytes]:
        with handle:
            while chunk := handle.read(CHUNK):
                yield chunk

    name = quote(posixpath.basename(key), safe="")
    return StreamingResponse(
        chunks(),
        media_type="application/octet-stream",
        headers={"content-disposition": f"attachment; filename*=UTF-8''{name}"},
    )


@router.put("/artifacts/{path:path}")
async def upload_artifact(
    path: str, request: Request, workspace: WorkspaceDep, user: EditorUser
) -> dict[str, Any]:
    """Store the raw request body at `path`, streamed to a temporary name and then moved."""
    _check_raw(request)
    key = store_key(workspace, path)
    limit = workspace.settings.upload_max_bytes
    declared = int(request.headers.get("content-length") or 0)
    if declared > limit:
        raise TooLarge(
            f"The artifact is {declared} bytes; the limit is {limit} (upload_max_bytes)."
        )
    store = workspace.artifacts
    target = store.path(key)
    if store.fs.isdir(target):
        raise Invalid(f"{path!r} is a folder; upload files into it, not onto it.")
    temporary = f"{target}.tmp-{uuid.uuid4().hex}"
    await to_thread.run_sync(lambda: store.fs.makedirs(posixpath.dirname(target), exist_ok=True))
    handle = await to_thread.run_sync(store.fs.open, temporary, "wb")
    written = 0
    try:
        async for chunk in request.stream():
            written += len(chunk)
            if written > limit:
                raise TooLarge(f"The artifact is over {limit} bytes (upload_max_bytes).")
            await to_thread.run_sync(handle.write, chunk)
        await to_thread.run_sync(handle.close)
        await to_thread.run_sync(store.fs.mv, temporary, target)
    except BaseException:
        handle.close()
        if store.fs.exists(temporary):
            store.fs.rm(temporary)
        raise
    return {}


@router.delete("/artifacts/{path:path}")
def delete_artifact(
    path: str, request: Request, workspace: WorkspaceDep, user: EditorUser
) -> dict[str, Any]:
    """Delete a file or a folder (with what it holds); a missing path is no error."""
    _check_raw(request)
    key = store_key(workspace, path)
    if key == PREFIX:
        raise Invalid("Name the artifacts to delete; the artifact root cannot be deleted.")
    workspace.artifacts.delete(key)
    return {}
