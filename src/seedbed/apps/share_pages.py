"""What a share link's visitor sees under /share/{token}: a name form, then the model's demo
page (prediction, explanation, feedback). /share/ is public in web/security.py, so every
route here checks the link itself (share_links.verify) on every request; a refused link gets
a 403 page. The reviewer's name is kept in the session cookie, per link."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from seedbed.apps import feedback, share_links
from seedbed.apps.demo_form import form_fields, form_values
from seedbed.apps.explain import explain
from seedbed.apps.predictions import predict
from seedbed.apps.rate_window import SlidingWindow
from seedbed.apps.share_links import LinkRefused, ShareLink
from seedbed.errors import Invalid
from seedbed.registry.loading import LoadedModel
from seedbed.registry.models import ModelVersion
from seedbed.web.deps import CsrfChecked, ModelLoaderDep, WorkspaceDep
from seedbed.web.templating import render
from seedbed.workspace import Workspace

router = APIRouter()
NAMES = "share_reviewers"  # session key: {link id: reviewer name}
NAME_MAX = 100
PREDICTIONS_PER_MINUTE = 60


async def share_window(request: Request) -> SlidingWindow:
    """The per-link prediction limit, kept on app.state (created on first use; async, so no
    two requests create it at once)."""
    state = request.app.state
    if not hasattr(state, "share_window"):
        state.share_window = SlidingWindow(PREDICTIONS_PER_MINUTE, 60.0)
    window: SlidingWindow = state.share_window
    return window


def _over_limit(request: Request, window: SlidingWindow, link: ShareLink) -> Response | None:
    """A 429 page once the link has scored its limit this minute (predictions and feedback,
    which scores the row again, both count); None while it may go on."""
    wait = window.hit(link.id)
    if not wait:
        return None
    message = f"This link allows {window.limit} predictions a minute; try again in {wait} s."
    response = render(request, "apps/share_denied.html", 429, user=None, code=429, message=message)
    response.headers["Retry-After"] = str(wait)
    return response


def _scoring_visit(
    request: Request, workspace: Workspace, token: str, window: SlidingWindow
) -> Response | tuple[ShareLink, ModelVersion, str]:
    """The link, its version and the reviewer's name for a request that scores a row; or the
    answer instead: a 403 page for a bad link, the name form first, a 429 over the limit."""
    try:
        link, version = share_links.verify(workspace, token)
    except LinkRefused as exc:
        return _refused(request, exc)
    reviewer = _reviewer(request, link)
    if reviewer is None:
        return RedirectResponse(f"/share/{token}", status_code=303)
    limited = _over_limit(request, window, link)
    if limited is not None:
        return limited
    return link, version, reviewer


def _refused(request: Request, exc: LinkRefused) -> Response:
    return render(request, "apps/share_denied.html", 403, user=None, code=403, message=str(exc))


def _reviewer(request: Request, link: ShareLink) -> str | None:
    names = request.session.get(NAMES) or {}
    name = names.get(link.id) if isinstance(names, dict) else None
    return name if isinstance(name, str) and name else None


def _page(
    request: Request, token: str, model: LoadedModel, reviewer: str, status: int = 200, **extra: Any
) -> Response:
    values = extra.pop("values", dict(model.input_example))
    partial = request.headers.get("hx-request") == "true"
    return render(
        request,
        "apps/prediction.html" if partial else "apps/share_demo.html",
        status,
        user=None,
        model=model,
        values=values,
        fields=form_fields(model.inputs, values),
        token=token,
        reviewer=reviewer,
        feedback_url=f"/share/{token}/feedback",
        **{"result": None, "error": None, **extra},
    )


@router.get("/share/{token}", include_in_schema=False)
def share_visit(
    request: Request, token: str, workspace: WorkspaceDep, loader: ModelLoaderDep
) -> Response:
    try:
        link, version = share_links.verify(workspace, token)
    except LinkRefused as exc:
        return _refused(request, exc)
    reviewer = _reviewer(request, link)
    if reviewer is None:
        return render(
            request, "apps/share_name.html", user=None, token=token, link=link, version=version
        )
    return _page(request, token, loader.load(version), reviewer)


@router.post("/share/{token}/name", dependencies=[CsrfChecked], include_in_schema=False)
async def share_name(request: Request, token: str, workspace: WorkspaceDep) -> Response:
    try:
        link, version = share_links.verify(workspace, token)
    except LinkRefused as exc:
        return _refused(request, exc)
    raw = (await request.form()).get("reviewer")
    name = raw.strip() if isinstance(raw, str) else ""
    if not name or len(name) > NAME_MAX:
        error = f"Give your name (1 to {NAME_MAX} characters): your feedback is kept with it."
        return render(
            request, "apps/share_name.html", 400, user=None, token=token, link=link,
            version=version, error=error,
        )  # fmt: skip
    names = request.session.get(NAMES)
    request.session[NAMES] = {**(names if isinstance(names, dict) else {}), link.id: name}
    return RedirectResponse(f"/share/{token}", status_code=303)


@router.post("/share/{token}/predict", dependencies=[CsrfChecked], include_in_schema=False)
async def share_predict(
    request: Request,
    token: str,
    workspace: WorkspaceDep,
    loader: ModelLoaderDep,
    window: SlidingWindow = Depends(share_window),
) -> Response:
    visit = _scoring_visit(request, workspace, token, window)
    if isinstance(visit, Response):
        return visit
    _link, version, reviewer = visit
    model = loader.load(version)
    values = form_values(model.inputs, await request.form())
    partial = request.headers.get("hx-request") == "true"
    try:
        result = predict(model, [values])[0]
        explanation = explain(model, values)
    except Invalid as exc:
        return _page(request, token, model, reviewer, 200 if partial else 400,
                     values=values, error=str(exc))  # fmt: skip
    return _page(
        request, token, model, reviewer, values=values, result=result, explanation=explanation
    )


@router.post("/share/{token}/feedback", dependencies=[CsrfChecked], include_in_schema=False)
async def share_feedback(
    request: Request,
    token: str,
    workspace: WorkspaceDep,
    loader: ModelLoaderDep,
    window: SlidingWindow = Depends(share_window),
) -> Response:
    visit = _scoring_visit(request, workspace, token, window)
    if isinstance(visit, Response):
        return visit
    link, version, reviewer = visit
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    partial = request.headers.get("hx-request") == "true"
    model = loader.load(version)
    try:
        values = _json_object(form.get("inputs_json"), "inputs_json")
        # scored again: what is stored is what the model says, not what the page sent back
        inputs, result = feedback.scored(model, values)
    except Invalid as exc:
        return render(request, "apps/feedback_thanks.html", 200 if partial else 400,
                      user=None, item=None, error=str(exc))  # fmt: skip
    try:
        item = feedback.record(
            workspace,
            model_name=version.name,
            version=version.version,
            inputs=inputs,
            prediction={"prediction": result.prediction, "probabilities": result.probabilities},
            correct={"yes": True, "no": False}.get(form.get("correct", "")),
            label=form.get("label") or None,
            comment=form.get("comment", ""),
            reviewer=reviewer,
            via="share",
            share_link_id=link.id,
        )
    except Invalid as exc:
        # the form again, with the message and what the reviewer chose, to correct and resend
        return render(
            request, "apps/feedback_form.html", 200 if partial else 400, user=None,
            feedback_url=f"/share/{token}/feedback", model=model, values=values, result=result,
            feedback_error=str(exc), feedback_given=form,
        )  # fmt: skip
    return render(request, "apps/feedback_thanks.html", user=None, item=item, error=None)


def _json_object(raw: Any, field: str) -> dict[str, Any]:
    try:
        value = json.loads(raw) if isinstance(raw, str) else None
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise Invalid(f"The form field {field!r} must hold a JSON object; reload the page.")
    return value
