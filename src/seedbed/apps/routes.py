"""Demo pages: a form generated from a model version's signature that returns a prediction."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from seedbed.apps.predictions import Prediction, predict
from seedbed.errors import Invalid
from seedbed.registry.models import resolve
from seedbed.web.deps import CsrfChecked, CurrentUser, ModelLoaderDep, WorkspaceDep
from seedbed.web.templating import render

router = APIRouter()


class PredictRequest(BaseModel):
    inputs: list[dict[str, Any]] = Field(..., description="Rows of field: value pairs.")


class PredictResponse(BaseModel):
    model: str
    version: int
    predictions: list[Prediction]


@router.post("/api/v1/models/{name}/versions/{reference}/predict", tags=["models"])
def api_predict(
    name: str,
    reference: str,
    body: PredictRequest,
    workspace: WorkspaceDep,
    loader: ModelLoaderDep,
    user: CurrentUser,
) -> PredictResponse:
    """Score rows with a model version (number, 'latest' or alias)."""
    version = resolve(workspace, name, reference)
    predictions = predict(loader.load(version), body.inputs)
    return PredictResponse(model=name, version=version.version, predictions=predictions)


@router.get("/ui/models/{name}/versions/{reference}/demo", include_in_schema=False)
def demo_page(
    request: Request,
    name: str,
    reference: str,
    workspace: WorkspaceDep,
    loader: ModelLoaderDep,
    user: CurrentUser,
) -> Response:
    model = loader.load(resolve(workspace, name, reference))
    return render(
        request, "apps/demo.html", model=model, values=model.input_example, result=None, error=None
    )


@router.post(
    "/ui/models/{name}/versions/{reference}/demo",
    dependencies=[CsrfChecked],
    include_in_schema=False,
)
async def demo_predict(
    request: Request,
    name: str,
    reference: str,
    workspace: WorkspaceDep,
    loader: ModelLoaderDep,
    user: CurrentUser,
) -> Response:
    model = loader.load(resolve(workspace, name, reference))
    form = await request.form()
    values = {c.name: form.get(c.name) for c in model.inputs}
    partial = request.headers.get("hx-request") == "true"
    template = "apps/prediction.html" if partial else "apps/demo.html"
    try:
        result = predict(model, [values])[0]
    except Invalid as exc:
        return render(
            request,
            template,
            status_code=400 if not partial else 200,
            model=model,
            values=values,
            result=None,
            error=str(exc),
        )
    return render(request, template, model=model, values=values, result=result, error=None)
