"""Demo pages: a form generated from a model version's signature that returns a prediction with
its explanation, batch scoring of a CSV, and two versions side by side. (The prediction API is
in predict_routes.py.)"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, File, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, Response

from seedbed.apps import batch, side_by_side
from seedbed.apps.demo_form import form_fields, form_values
from seedbed.apps.explain import explain
from seedbed.apps.predictions import predict
from seedbed.errors import Invalid, TooLarge
from seedbed.registry.loading import LoadedModel
from seedbed.registry.models import get_model, resolve
from seedbed.web.deps import CsrfChecked, CurrentUser, ModelLoaderDep, WorkspaceDep
from seedbed.web.templating import render
from seedbed.workspace import Workspace

router = APIRouter()
DEMO = "/ui/models/{name}/versions/{reference}/demo"
BATCH = "/ui/models/{name}/versions/{reference}/batch"


def demo_context(
    workspace: Workspace, model: LoadedModel, reference: str, values: dict[str, Any]
) -> dict[str, Any]:
    """What demo.html needs besides the prediction: the fields and where the forms go."""
    name = model.version.name
    limit = workspace.settings.request_body_max_bytes
    return {
        "model": model,
        "values": values,
        "fields": form_fields(model.inputs, values),
        "demo_url": DEMO.format(name=name, reference=reference),
        "batch_url": BATCH.format(name=name, reference=reference),
        "batch_limit": f"{limit / 1024**2:.0f} MiB",
        "feedback_url": f"/ui/models/{name}/versions/{model.version.version}/feedback",
        **_compare_link(workspace, model),
    }


def _compare_link(workspace: Workspace, model: LoadedModel) -> dict[str, str]:
    aliases = get_model(workspace, model.version.name).aliases
    mine = model.version.version
    if "challenger" in aliases and aliases["challenger"] != mine:
        a, b = str(mine), "challenger"
    elif "champion" in aliases and aliases["champion"] != mine:
        a, b = "champion", str(mine)
    else:
        return {}
    url = f"/ui/models/{model.version.name}/compare-demo?a={a}&b={b}"
    return {"compare_url": url, "compare_with": "champion" if b == str(mine) else b}


@router.get(DEMO, include_in_schema=False)
def demo_page(
    request: Request,
    name: str,
    reference: str,
    workspace: WorkspaceDep,
    loader: ModelLoaderDep,
    user: CurrentUser,
) -> Response:
    model = loader.load(resolve(workspace, name, reference))
    context = demo_context(workspace, model, reference, dict(model.input_example))
    return render(request, "apps/demo.html", result=None, error=None, **context)


@router.post(DEMO, dependencies=[CsrfChecked], include_in_schema=False)
async def demo_predict(
    request: Request,
    name: str,
    reference: str,
    workspace: WorkspaceDep,
    loader: ModelLoaderDep,
    user: CurrentUser,
) -> Response:
    model = loader.load(resolve(workspace, name, reference))
    values = form_values(model.inputs, await request.form())
    partial = request.headers.get("hx-request") == "true"
    template = "apps/prediction.html" if partial else "apps/demo.html"
    context = demo_context(workspace, model, reference, values)
    try:
        result = predict(model, [values])[0]
        explanation = explain(model, values)
    except Invalid as exc:
        # htmx swaps only 2xx answers into the page; a plain form post gets the 400
        status = 200 if partial else 400
        return render(request, template, status, result=None, error=str(exc), **context)
    return render(request, template, result=result, explanation=explanation, error=None, **context)


@router.post(BATCH, dependencies=[CsrfChecked], include_in_schema=False)
async def demo_batch(
    request: Request,
    name: str,
    reference: str,
    workspace: WorkspaceDep,
    loader: ModelLoaderDep,
    user: CurrentUser,
    file: UploadFile = File(...),
) -> Response:
    model = loader.load(resolve(workspace, name, reference))
    context = demo_context(workspace, model, reference, dict(model.input_example))
    try:
        limit = workspace.settings.request_body_max_bytes
        if file.size is not None and file.size > limit:
            raise TooLarge(f"The file is larger than {context['batch_limit']}; split it.")
        scored = await run_in_threadpool(
            batch.score_csv, workspace, model, file.file, file.filename or "upload.csv", user.id
        )
    except Invalid as exc:
        return render(
            request, "apps/demo.html", exc.status_code, result=None, error=None,
            batch_error=str(exc), **context,
        )  # fmt: skip
    return render(request, "apps/demo.html", result=None, error=None, batch=scored, **context)


@router.get(BATCH + "/{batch_id}.csv", include_in_schema=False)
def demo_batch_download(
    name: str, reference: str, batch_id: str, workspace: WorkspaceDep, user: CurrentUser
) -> FileResponse:
    path = batch.scored_file(workspace, batch_id, user.id)  # yours only
    version = resolve(workspace, name, reference).version
    return FileResponse(path, media_type="text/csv", filename=f"{name}-v{version}-scored.csv")


@router.get("/ui/models/{name}/compare-demo", include_in_schema=False)
def compare_demo(
    request: Request,
    name: str,
    workspace: WorkspaceDep,
    loader: ModelLoaderDep,
    user: CurrentUser,
    a: str = "champion",
    b: str = "challenger",
) -> Response:
    """One form, two versions; a GET form so that the page (inputs included) can be linked."""
    left = loader.load(resolve(workspace, name, a))
    right = loader.load(resolve(workspace, name, b))
    first, second = side_by_side.sides(left, right, a, b)
    submitted = "predict" in request.query_params
    inputs = side_by_side.shared_inputs(left, right)
    if submitted:
        values = form_values(inputs, request.query_params)
        first, second = side_by_side.score(first, values), side_by_side.score(second, values)
    else:
        values = side_by_side.shared_example(left, right)
    return render(
        request,
        "apps/compare_demo.html",
        model_name=name,
        a=a,
        b=b,
        sides=[first, second],
        fields=side_by_side.fields(first, second, values),
        submitted=submitted,
    )
