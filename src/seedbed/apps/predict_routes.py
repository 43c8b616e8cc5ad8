"""The prediction API: `POST /api/v1/models/{name}@{alias}/predict` (JSON records or Arrow).

Latency matters here, so the handlers read the body themselves (no pydantic model over the
rows), resolve the alias with one query and score a cached model; big batches are scored in
the threadpool so they do not hold up the event loop.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

import pandas as pd
import pyarrow as pa
from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from seedbed.apps.predictions import InvalidInput, frame_warnings, predict, predict_frame
from seedbed.errors import Invalid
from seedbed.registry.loading import LoadedModel, ModelLoader
from seedbed.web.deps import CurrentUser, ModelLoaderDep

router = APIRouter()

ARROW_STREAM = "application/vnd.apache.arrow.stream"
INLINE_ROWS = 2_000  # bigger batches are scored in the threadpool
_BODY_DOC = {
    "requestBody": {
        "content": {
            "application/json": {
                "schema": {
                    "oneOf": [
                        {
                            "type": "object",
                            "properties": {
                                "inputs": {"type": "array", "items": {"type": "object"}}
                            },
                        },
                        {"type": "array", "items": {"type": "object"}},
                    ]
                },
                "example": {"inputs": [{"field": "value"}]},
            },
            ARROW_STREAM: {"schema": {"type": "string", "format": "binary"}},
        }
    }
}


def _target(target: str) -> tuple[str, str]:
    name, at, reference = target.rpartition("@")
    if not at or not name or not reference:
        raise Invalid(
            f"Name the model as NAME@ALIAS, NAME@VERSION or NAME@latest, not {target!r} "
            "(for example /api/v1/models/flight-delay@champion/predict)."
        )
    return name, reference


@router.post("/api/v1/models/{target}/predict", tags=["models"], openapi_extra=_BODY_DOC)
async def api_predict_alias(
    target: str, request: Request, loader: ModelLoaderDep, user: CurrentUser
) -> Response:
    """Score rows with `NAME@ALIAS` (or `NAME@3`, `NAME@latest`): a JSON list of records,
    `{"inputs": [...]}`, or an Arrow IPC stream answered in Arrow."""
    name, reference = _target(target)
    return await _answer(request, await _model(loader, name, reference))


@router.post(
    "/api/v1/models/{name}/versions/{reference}/predict", tags=["models"], openapi_extra=_BODY_DOC
)
async def api_predict(
    name: str, reference: str, request: Request, loader: ModelLoaderDep, user: CurrentUser
) -> Response:
    """Score rows with a model version (number, 'latest' or alias); same bodies as above."""
    return await _answer(request, await _model(loader, name, reference))


async def _model(loader: ModelLoader, name: str, reference: str) -> LoadedModel:
    """A cached model at once; reading one from the store (seconds) runs in the threadpool."""
    found = loader.cached(name, reference)
    if found is not None:
        return found
    return await run_in_threadpool(loader.load_reference, name, reference)


async def _answer(request: Request, model: LoadedModel) -> Response:
    body = await request.body()
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == ARROW_STREAM:
        return await _answer_arrow(body, model)
    rows = _records(body)
    if len(rows) > INLINE_ROWS:
        predictions = await run_in_threadpool(predict, model, rows)
    else:
        predictions = predict(model, rows)
    answer = {
        "model": model.version.name,
        "version": model.version.version,
        "predictions": [asdict(p) for p in predictions],
    }
    return Response(
        json.dumps(answer, allow_nan=False, default=str, separators=(",", ":")),
        media_type="application/json",
    )


def _records(body: bytes) -> list[dict[str, Any]]:
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidInput(
            f'The body is not JSON ({exc}); send a list of records, {{"inputs": [...]}}, or '
            f"an Arrow stream with Content-Type: {ARROW_STREAM}."
        ) from exc
    if isinstance(data, dict):
        data = data.get("inputs", data.get("dataframe_records"))
    if not isinstance(data, list):
        raise InvalidInput(
            'Send the rows as a JSON list of records or as {"inputs": [records...]}.'
        )
    return data


async def _answer_arrow(body: bytes, model: LoadedModel) -> Response:
    try:
        frame = pa.ipc.open_stream(body).read_all().to_pandas()
    except (pa.ArrowInvalid, OSError) as exc:
        raise InvalidInput(f"The body is not an Arrow IPC stream: {exc}") from exc
    scored = await run_in_threadpool(_score_arrow, model, frame)
    table, warnings = scored
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    headers = {"Seedbed-Warnings": json.dumps(warnings)} if warnings else {}
    return Response(sink.getvalue().to_pybytes(), media_type=ARROW_STREAM, headers=headers)


def _score_arrow(model: LoadedModel, frame: pd.DataFrame) -> tuple[pa.Table, list[str]]:
    """The prediction columns (not the inputs, which the caller has) and range warnings."""
    scored = predict_frame(model, frame)
    outputs = scored.columns[len(model.inputs) :]
    warnings = frame_warnings(model.inputs, scored)
    return pa.Table.from_pandas(scored[outputs], preserve_index=False), warnings
