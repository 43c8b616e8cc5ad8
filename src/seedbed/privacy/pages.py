"""Privacy in the UI: the workspace's PII policy (admins), a dataset's policy and its
restriction on the dataset page, and the review that lifts a restriction."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from seedbed.auth.permissions import can
from seedbed.auth.users import User
from seedbed.data import datasets
from seedbed.data.datasets import DatasetVersion
from seedbed.errors import Forbidden, Invalid
from seedbed.privacy import access, policies, restrictions
from seedbed.privacy.detection import TYPES
from seedbed.privacy.policies import ACTIONS, Rule
from seedbed.privacy.restrictions import Restriction
from seedbed.web.deps import AdminUser, CsrfChecked, PiiUser, WorkspaceDep
from seedbed.web.templating import render
from seedbed.workspace import Workspace

router = APIRouter(include_in_schema=False)
# How the schema table names what ingest did with a column.
DONE = {
    "restrict": "restricted",
    "allow": "allowed",
    "mask": "masked",
    "hash": "hashed",
    "tokenize": "tokenized",
    "drop": "dropped",
}


@dataclass
class DatasetPrivacy:
    """What the dataset page shows about privacy, for one reader."""

    access: access.Access
    refusal: str | None
    restriction: Restriction | None
    parents: list[dict[str, Any]]
    rules: dict[str, Rule]
    can_review: bool
    done: dict[str, str] = field(default_factory=lambda: DONE)


def dataset_privacy(workspace: Workspace, user: User, version: DatasetVersion) -> DatasetPrivacy:
    dataset_id = datasets.get_dataset(workspace, version.dataset).id
    refusal = None
    try:
        granted = access.check_read(workspace, user, version, "page")
    except Forbidden as exc:
        granted, refusal = access.Access(), str(exc)
    return DatasetPrivacy(
        access=granted,
        refusal=refusal,
        restriction=restrictions.get(workspace, dataset_id, version.version),
        parents=restrictions.parents_of(workspace, dataset_id, version.version),
        rules=policies.effective(workspace, version.dataset),
        can_review=can(user, "read_pii"),
    )


def _rules_from_form(form: Any, inherit: str) -> dict[str, str | None]:
    """`rule_<type>` fields: an action, or `inherit` to remove the rule."""
    rules: dict[str, str | None] = {}
    for pii_type in TYPES:
        chosen = str(form.get(f"rule_{pii_type}") or inherit)
        rules[pii_type] = None if chosen == inherit else chosen
    return rules


@router.get("/ui/admin/privacy")
def privacy_page(request: Request, workspace: WorkspaceDep, admin: AdminUser) -> Response:
    return _privacy_page(request, workspace, error=None, notice=None)


def _privacy_page(
    request: Request, workspace: Workspace, error: str | None, notice: str | None
) -> Response:
    return render(
        request,
        "privacy/policy.html",
        status_code=400 if error else 200,
        rules=policies.effective(workspace),
        actions=ACTIONS,
        error=error,
        notice=notice,
    )


@router.post("/ui/admin/privacy", dependencies=[CsrfChecked])
async def save_workspace_policy(
    request: Request, workspace: WorkspaceDep, admin: AdminUser
) -> Response:
    rules = _rules_from_form(await request.form(), inherit="default")
    try:
        policies.set_rules(workspace, rules, user=admin.username)
    except Invalid as exc:
        return _privacy_page(request, workspace, error=str(exc), notice=None)
    return _privacy_page(
        request, workspace, error=None, notice="Saved: new versions are published under it."
    )


@router.post("/ui/data/datasets/{name}/policy", dependencies=[CsrfChecked])
async def save_dataset_policy(
    request: Request, name: str, workspace: WorkspaceDep, admin: AdminUser
) -> Response:
    rules = _rules_from_form(await request.form(), inherit="inherit")
    policies.set_rules(workspace, rules, dataset=name, user=admin.username)
    return RedirectResponse(f"/ui/data/datasets/{quote(name)}#privacy", status_code=303)


@router.post("/ui/data/datasets/{name}/versions/{version}/review", dependencies=[CsrfChecked])
async def review_version(
    request: Request, name: str, version: int, workspace: WorkspaceDep, user: PiiUser
) -> Response:
    form = await request.form()
    restrictions.review(workspace, user, name, version, str(form.get("note") or ""))
    return RedirectResponse(
        f"/ui/data/datasets/{quote(name)}?version={version}#privacy", status_code=303
    )
