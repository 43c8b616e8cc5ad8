"""Feedback routes: the demo page's verdict form, the JSON API, the feedback page and export."""

from __future__ import annotations

import dataclasses
import json
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field

from seedbed.apps import feedback as service
from seedbed.apps.feedback import FeedbackFilter, FeedbackItem, FeedbackPage, FeedbackSummary
from seedbed.apps.feedback_export import export, exports_of
from seedbed.data.datasets import DatasetVersion
from seedbed.errors import Invalid
from seedbed.registry.models import get_model, get_version, list_versions
from seedbed.web.deps import CsrfChecked, CurrentUser, EditorUser, ModelLoaderDep, WorkspaceDep
from seedbed.web.templating import render

router = APIRouter()
PAGE_SIZE = 50


class FeedbackCreate(BaseModel):
    version: int = Field(..., ge=1, description="The model version that made the prediction.")
    inputs: dict[str, Any] = Field(..., description="The row that was scored.")
    prediction: Any = Field(
        ...,
        description='What the model said: a value, or {"prediction": ..., "probabilities": {...}}.',
    )
    probabilities: dict[str, float] | None = Field(
        None, description="Class probabilities, when `prediction` is a bare value."
    )
    correct: bool | None = Field(None, description="The verdict; null: none, only a comment.")
    label: str | None = Field(None, description="The correct label, when the prediction is wrong.")
    comment: str = ""


class ExportRequest(BaseModel):
    name: str = Field(..., description="Dataset name; an existing name gets a new version.")
    version: int | None = Field(None, ge=1, description="Only feedback on this model version.")


class Exported(BaseModel):
    created: bool = Field(..., description="False when the content equals the latest version.")
    version: DatasetVersion


def _version_number(text: str | None) -> int | None:
    if not text:
        return None
    if not (text.isascii() and text.isdigit()):
        raise Invalid(f"version must be a version number such as 2, not {text!r}.")
    return int(text)


def feedback_filter(
    version: Annotated[str | None, Query(description="Model version number.")] = None,
    reviewer: Annotated[str | None, Query(description="Reviewer's name.")] = None,
    verdict: Annotated[str | None, Query(description="right or wrong.")] = None,
    since: Annotated[str | None, Query(description="From this day (YYYY-MM-DD, UTC).")] = None,
    until: Annotated[str | None, Query(description="Up to and including this day.")] = None,
    segment: Annotated[str | None, Query(description="An input column, e.g. carrier.")] = None,
    value: Annotated[str | None, Query(description="The value `segment` must have.")] = None,
) -> FeedbackFilter:
    """The filters shared by the API, the page and export, parsed from the query string."""
    return FeedbackFilter(
        version=_version_number(version),
        reviewer=reviewer or None,
        correct=service.parse_verdict(verdict),
        since=service.parse_day(since, "since"),
        until=service.parse_day(until, "until", end=True),
        segment=segment or None,
        value=value if segment and value not in (None, "") else None,
    )


Filters = Annotated[FeedbackFilter, Depends(feedback_filter)]


@router.post("/api/v1/models/{name}/feedback", tags=["feedback"], status_code=201)
def api_record(
    name: str, body: FeedbackCreate, workspace: WorkspaceDep, user: CurrentUser
) -> FeedbackItem:
    """Record a verdict on a prediction; the reviewer is you."""
    given = body.prediction
    if not (isinstance(given, dict) and "prediction" in given):
        given = {"prediction": given, "probabilities": body.probabilities}
    return service.record(
        workspace,
        model_name=name,
        version=body.version,
        inputs=body.inputs,
        prediction=given,
        correct=body.correct,
        label=body.label,
        comment=body.comment,
        reviewer=user.username,
    )


@router.get("/api/v1/models/{name}/feedback", tags=["feedback"])
def api_list(
    name: str,
    workspace: WorkspaceDep,
    user: CurrentUser,
    where: Filters,
    limit: Annotated[int, Query(ge=1, le=service.MAX_LIMIT)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> FeedbackPage:
    """Feedback on a model, newest first, filtered and paged."""
    return service.list_feedback(workspace, name, where, limit=limit, offset=offset)


@router.get("/api/v1/models/{name}/feedback/summary", tags=["feedback"])
def api_summary(
    name: str,
    workspace: WorkspaceDep,
    user: CurrentUser,
    where: Filters,
    by: Annotated[str | None, Query(description="Input column to group by.")] = None,
) -> FeedbackSummary:
    """Counts and agreement per day, per version and per value of one input column."""
    return service.summary(workspace, name, where, by=by or None)


@router.post("/api/v1/models/{name}/feedback/export", tags=["feedback"], status_code=201)
def api_export(
    name: str, body: ExportRequest, workspace: WorkspaceDep, user: EditorUser
) -> Exported:
    """Save the feedback as the next version of a dataset (identical content adds none)."""
    where = FeedbackFilter(version=body.version)
    version, created = export(workspace, name, name=body.name, user=user.username, where=where)
    return Exported(created=created, version=version)


def _verdict(text: str) -> bool | None:
    value = text.strip().lower()
    if value not in ("yes", "no", ""):
        raise Invalid(f"correct must be yes, no or empty, not {text!r}.")
    return None if value == "" else value == "yes"


def _json_field(text: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(text or "")
    except json.JSONDecodeError as exc:
        raise Invalid(f"{what} is not valid JSON ({exc}); reload the demo page.") from exc
    if not isinstance(value, dict):
        raise Invalid(f"{what} must be a JSON object; reload the demo page.")
    return value


@router.post(
    "/ui/models/{name}/versions/{version}/feedback",
    dependencies=[CsrfChecked],
    include_in_schema=False,
)
async def ui_record(
    request: Request,
    name: str,
    version: int,
    workspace: WorkspaceDep,
    loader: ModelLoaderDep,
    user: CurrentUser,
) -> Response:
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    partial = request.headers.get("hx-request") == "true"
    try:
        model = loader.load(get_version(workspace, name, version))
        values = _json_field(form.get("inputs_json", ""), "inputs")
        # scored again: what is stored is what the model says, not what the page sent back
        inputs, result = service.scored(model, values)
    except Invalid as exc:
        if not partial:
            raise
        return render(request, "apps/feedback_thanks.html", item=None, error=str(exc))
    try:
        item = service.record(
            workspace,
            model_name=name,
            version=version,
            inputs=inputs,
            prediction={"prediction": result.prediction, "probabilities": result.probabilities},
            correct=_verdict(form.get("correct", "")),
            label=form.get("label"),
            comment=form.get("comment", ""),
            reviewer=user.username,
        )
    except Invalid as exc:
        if not partial:
            raise
        # the form again, with the message and what the reviewer chose, to correct and resend
        return render(
            request,
            "apps/feedback_form.html",
            feedback_url=request.url.path,
            model=model,
            values=values,
            result=result,
            feedback_error=str(exc),
            feedback_given=form,
        )
    if partial:
        return render(request, "apps/feedback_thanks.html", item=item, error=None)
    back = f"/ui/models/{quote(name, safe='')}/versions/{version}/demo"
    return RedirectResponse(back, status_code=303)


@router.get("/ui/models/{name}/feedback", include_in_schema=False)
def feedback_page(
    request: Request,
    name: str,
    workspace: WorkspaceDep,
    user: CurrentUser,
    where: Filters,
    page: Annotated[int, Query(ge=1)] = 1,
) -> Response:
    model = get_model(workspace, name)
    listed = service.list_feedback(
        workspace, name, where, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
    )
    summary = service.summary(workspace, name, where, by=where.segment)
    return render(
        request,
        "apps/feedback.html",
        model=model,
        versions=list_versions(workspace, name),
        listed=listed,
        page=page,
        pages=max(1, -(-listed.total // PAGE_SIZE)),
        summary=summary,
        chart_data=dataclasses.asdict(summary),
        filters=dict(request.query_params),
        paging_query="".join(
            f"{urlencode({k: v})}&" for k, v in request.query_params.items() if k != "page"
        ),
        exports=exports_of(workspace, name),
    )


@router.get("/ui/models/{name}/feedback/card", include_in_schema=False)
def feedback_card(
    request: Request, name: str, workspace: WorkspaceDep, user: CurrentUser
) -> Response:
    """The model page's feedback box (loaded by htmx): counts, agreement, a link."""
    return render(
        request,
        "apps/feedback_card.html",
        model=get_model(workspace, name),
        summary=service.summary(workspace, name),
    )


@router.post(
    "/ui/models/{name}/feedback/export", dependencies=[CsrfChecked], include_in_schema=False
)
async def ui_export(
    request: Request, name: str, workspace: WorkspaceDep, user: EditorUser
) -> Response:
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    where = feedback_filter(
        **{
            k: form.get(k)
            for k in ("version", "reviewer", "verdict", "since", "until", "segment", "value")
        }
    )
    version, created = export(
        workspace, name, name=form.get("dataset", "").strip(), user=user.username, where=where
    )
    target = f"/ui/data/datasets/{quote(version.dataset, safe='')}?version={version.version}"
    return RedirectResponse(target + ("" if created else "&unchanged=1"), status_code=303)
