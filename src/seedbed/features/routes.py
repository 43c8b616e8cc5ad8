"""Feature store over /api/v1: the catalog, applying definitions, and training sets (entity
rows in and out as Arrow IPC)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import pyarrow as pa
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from seedbed.auth.permissions import require
from seedbed.data.routes import ARROW_STREAM, arrow_bytes
from seedbed.errors import Invalid
from seedbed.features import catalog, registry, training_sets
from seedbed.web.deps import CurrentUser, EditorUser, WorkspaceDep

router = APIRouter(tags=["features"])


class ApplyRequest(BaseModel):
    spec: dict[str, Any] = Field(..., description="Entities and views, as the SDK writes them.")
    dry_run: bool = Field(False, description="Validate and show the changes; register nothing.")


class ApplyResult(BaseModel):
    version: int | None = Field(None, description="The version registered now, if any.")
    current: int | None = Field(None, description="The newest registered version.")
    changes: list[str]


@router.get("/api/v1/features")
def api_catalog(workspace: WorkspaceDep, user: CurrentUser) -> dict[str, Any]:
    """The registered definitions (newest version): entities, views and their features."""
    return catalog.describe(workspace)


@router.get("/api/v1/features/versions")
def api_versions(workspace: WorkspaceDep, user: CurrentUser) -> list[dict[str, Any]]:
    """Every registered version of the definitions, newest first, with its changes."""
    return [
        {
            "version": r.version,
            "content_hash": r.content_hash,
            "changes": r.changes,
            "author": r.author,
            "created_at": r.created_at,
        }
        for r in registry.history(workspace)
    ]


@router.post("/api/v1/features/apply")
def api_apply(body: ApplyRequest, workspace: WorkspaceDep, user: EditorUser) -> ApplyResult:
    """Validate definitions against their sources and register them as a new version when
    they change something. Problems come back as one 400 listing all of them."""
    applied = registry.apply(workspace, body.spec, user.username, dry_run=body.dry_run)
    newest = registry.latest(workspace)
    return ApplyResult(
        version=applied.registered.version if applied.registered else None,
        current=newest.version if newest else None,
        changes=applied.changes,
    )


async def _entity_rows(request: Request, limit: int) -> pa.Table:
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise Invalid(
                f"The entity rows are over {limit} bytes (setting upload_max_bytes): upload "
                "them as a dataset and pass entity_dataset= instead."
            )
    if not body:
        raise Invalid("Send the entity rows as an Arrow IPC stream, or name entity_dataset=.")
    try:
        return pa.ipc.open_stream(bytes(body)).read_all()
    except pa.ArrowInvalid as exc:
        raise Invalid(f"The body is not an Arrow IPC stream: {exc}") from exc


@router.post("/api/v1/features/training-set", responses={200: {"content": {ARROW_STREAM: {}}}})
async def api_training_set(
    request: Request,
    workspace: WorkspaceDep,
    user: CurrentUser,
    features: Annotated[list[str], Query(description='"view:feature" or "view"; repeat it.')],
    timestamp: Annotated[str | None, Query(description="The entity rows' time column.")] = None,
    label: Annotated[str | None, Query(description="The label column, put last.")] = None,
    entity_dataset: Annotated[
        str | None, Query(description="Entity rows from a dataset: NAME or NAME@VERSION.")
    ] = None,
    name: Annotated[str, Query(description="Dataset to save it as.")] = training_sets.DEFAULT_NAME,
    save: Annotated[bool, Query(description="Save it as a dataset version.")] = True,
    full_names: Annotated[bool, Query(description="Name columns view__feature.")] = False,
    version: Annotated[
        int | None, Query(description="Definitions version (default newest).")
    ] = None,
) -> Response:
    """Entity rows with point-in-time features appended, as Arrow IPC. Saved (by default)
    as the next version of dataset `name`; the headers name it and carry any warnings."""
    from starlette.concurrency import run_in_threadpool

    if save:  # refused before any work: saving writes a dataset version
        require(user, "write")
    if entity_dataset:
        entity = await run_in_threadpool(training_sets.entity_rows, workspace, entity_dataset, user)
    else:
        entity = await _entity_rows(request, workspace.settings.upload_max_bytes)

    def work() -> tuple[training_sets.TrainingSet, bytes]:
        built, sources = training_sets.build(
            workspace, entity, features, timestamp, label, user, full_names, version
        )
        if save:
            parents = [*sources, *([entity_dataset] if entity_dataset else [])]
            detail = {
                "entity_rows": entity_dataset or "dataframe",
                "timestamp": timestamp,
                "label": label,
                "rows": built.table.num_rows,
            }
            training_sets.save(workspace, built, name, user, parents, detail)
        return built, arrow_bytes(built.table)

    built, payload = await run_in_threadpool(work)
    headers = {
        "x-seedbed-definitions-version": str(built.definitions_version),
        "x-seedbed-features": json.dumps(built.features),
    }
    if built.dataset is not None:
        headers["x-seedbed-dataset"] = f"{built.dataset.dataset}@{built.dataset.version}"
    if built.warnings:
        headers["x-seedbed-warnings"] = json.dumps(built.warnings)
    return Response(payload, media_type=ARROW_STREAM, headers=headers)
