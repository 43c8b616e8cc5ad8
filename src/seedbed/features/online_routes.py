"""Online features over /api/v1: lookups (any role), materialization and the consistency
check (editors).

The lookup is the hot path: an `async def` route with no thread hop, answering from the
online store through a per-thread read-only connection, with the materialized specs and
resolved feature lists cached in memory until the next materialization.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from seedbed.errors import Invalid
from seedbed.features import consistency, materialize
from seedbed.features.online import OnlineFeatures
from seedbed.web.deps import EditorUser, WorkspaceDep, get_user
from seedbed.workspace import Workspace

router = APIRouter(tags=["features"])


class LookupRequest(BaseModel):
    features: list[str] = Field(..., description='"view:feature" or "view" (all its features).')
    entities: list[dict[str, Any]] = Field(
        ..., description='One object of join-key values per entity: [{"origin": "JFK"}].'
    )
    full_names: bool = Field(False, description="Name results view__feature.")


class MaterializeRequest(BaseModel):
    views: list[str] | None = Field(None, description="Views to materialize (default: all).")
    incremental: bool = Field(False, description="Only keys whose values changed since the last.")
    as_of: dt.datetime | None = Field(None, description="Materialization time (default: now).")


class CheckRequest(BaseModel):
    views: list[str] | None = Field(None, description="Views to check (default: all).")


def online_features(request: Request, workspace: Workspace) -> OnlineFeatures:
    """The app's online store and its caches, opened on first use."""
    found: OnlineFeatures | None = getattr(request.app.state, "online_features", None)
    if found is None:
        found = OnlineFeatures(workspace)
        request.app.state.online_features = found
    return found


def _lookup_request(body: bytes) -> LookupRequest:
    """The body, checked by hand: the hot path skips FastAPI's validation machinery, and
    answers the same 400s (what is wrong and how to fix it)."""
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise Invalid(f"The body is not JSON: {exc}.") from exc
    if not isinstance(data, dict):
        raise Invalid('Send an object: {"features": [...], "entities": [{...}]}.')
    unknown = sorted(set(data) - set(LookupRequest.model_fields))
    features, entities = data.get("features"), data.get("entities")
    full_names = data.get("full_names", False)
    if unknown:
        raise Invalid(f"Unknown fields {unknown}: send features, entities and full_names.")
    if not isinstance(features, list) or not all(isinstance(f, str) for f in features):
        raise Invalid('"features" must be a list of "view:feature" or "view" names.')
    if not isinstance(entities, list) or not all(isinstance(e, dict) for e in entities):
        raise Invalid('"entities" must be a list of objects such as {"origin": "JFK"}.')
    if not isinstance(full_names, bool):
        raise Invalid('"full_names" must be true or false.')
    return LookupRequest.model_construct(
        features=features, entities=entities, full_names=full_names
    )


@router.post(
    "/api/v1/features/online",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": LookupRequest.model_json_schema()}},
        }
    },
)
async def api_online(request: Request) -> Response:
    """The features of each entity as served now: latest values (null past the ttl), window
    aggregates and derived features as of the last materialization; null for unknown keys.

    Body: `{"features": ["view:feature" or "view", ...], "entities": [{"origin": "JFK"}],
    "full_names": false}`. Any role may look features up."""
    await get_user(request)  # any role; the latency-critical route solves no dependencies
    body = _lookup_request(await request.body())
    workspace: Workspace = request.app.state.workspace
    online = online_features(request, workspace)
    now_us = time.time_ns() // 1000
    plan, results = online.lookup(body.entities, body.features, now_us, body.full_names)
    payload = {
        "features": list(plan.columns),
        "results": results,
        "materialized": {
            state.name: {
                "as_of_us": state.as_of_us,
                "definitions_version": state.definitions_version,
            }
            for state, _, _ in plan.views
        },
    }
    return Response(json.dumps(payload, default=str), media_type="application/json")


@router.post("/api/v1/features/materialize")
async def api_materialize(
    body: MaterializeRequest, request: Request, workspace: WorkspaceDep, user: EditorUser
) -> dict[str, Any]:
    """Compute every key's values at one time and write them to the online store."""
    online = online_features(request, workspace)
    done = await run_in_threadpool(
        materialize.materialize,
        workspace,
        online,
        body.views,
        body.incremental,
        user,
        body.as_of,
    )
    return {"views": [materialize.as_dict(item) for item in done]}


@router.post("/api/v1/features/check")
async def api_check(
    body: CheckRequest, request: Request, workspace: WorkspaceDep, user: EditorUser
) -> dict[str, Any]:
    """Recompute offline what the online store serves; list every mismatch."""
    online = online_features(request, workspace)
    report = await run_in_threadpool(consistency.check, workspace, online, body.views, user)
    return report.as_dict()
