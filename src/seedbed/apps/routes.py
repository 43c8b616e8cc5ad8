"""Demo pages: a form generated from a model version's signature that returns a prediction."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from seedbed.apps.predictions import predict
from seedbed.errors import Invalid
from seedbed.registry.models import resolve
from seedbed.web.deps import CsrfChecked, CurrentUser, ModelLoaderDep, WorkspaceDep
from seedbed.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/ui/models/{name}/versions/{reference}/demo")
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


@router.post("/ui/models/{name}/versions/{reference}/demo", dependencies=[CsrfChecked])
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
