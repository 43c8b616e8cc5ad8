"""Privacy over /api/v1: PII policies (workspace and dataset), restricted versions and their
review, and the token vault."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from seedbed.data import datasets
from seedbed.privacy import policies, restrictions, vault
from seedbed.privacy.policies import ACTIONS, Rule
from seedbed.web.deps import AdminUser, CurrentUser, PiiUser, WorkspaceDep

router = APIRouter(tags=["privacy"])


class RulesChange(BaseModel):
    rules: dict[str, str | None] = Field(
        ...,
        description="PII type -> action (block, drop, mask, hash, tokenize, restrict, allow); "
        "null removes the rule, so the type falls back to the workspace's (or restrict).",
    )


class ReviewRequest(BaseModel):
    note: str = Field("", max_length=2000, description="What was checked, for the audit log.")


class TokensRequest(BaseModel):
    tokens: list[str] = Field(..., max_length=vault.MAX_TOKENS)


def _policy(rules: dict[str, Rule]) -> dict[str, Any]:
    return {
        "rules": [
            {"pii_type": r.pii_type, "action": r.action, "origin": r.origin} for r in rules.values()
        ],
        "actions": ACTIONS,
    }


@router.get("/api/v1/privacy/policy")
def api_workspace_policy(workspace: WorkspaceDep, user: CurrentUser) -> dict[str, Any]:
    """The workspace's action for each PII type (`origin`: workspace or default)."""
    return _policy(policies.effective(workspace))


@router.put("/api/v1/privacy/policy")
def api_set_workspace_policy(
    body: RulesChange, workspace: WorkspaceDep, admin: AdminUser
) -> dict[str, Any]:
    """Set the workspace's actions; they apply to versions published from now on."""
    return _policy(policies.set_rules(workspace, body.rules, user=admin.username))


@router.get("/api/v1/datasets/{name}/policy")
def api_dataset_policy(name: str, workspace: WorkspaceDep, user: CurrentUser) -> dict[str, Any]:
    """The dataset's action for each PII type (`origin`: dataset, workspace or default);
    a dataset may have a policy before its first version."""
    return _policy(policies.effective(workspace, name))


@router.put("/api/v1/datasets/{name}/policy")
def api_set_dataset_policy(
    name: str, body: RulesChange, workspace: WorkspaceDep, admin: AdminUser
) -> dict[str, Any]:
    """Set the dataset's own actions, which win over the workspace's."""
    return _policy(policies.set_rules(workspace, body.rules, dataset=name, user=admin.username))


@router.get("/api/v1/datasets/{name}/versions/{version}/restriction")
def api_restriction(
    name: str, version: int, workspace: WorkspaceDep, user: CurrentUser
) -> dict[str, Any]:
    """Whether the version is restricted as a whole, why, who reviewed it; its parents."""
    dataset_id = datasets.get_dataset(workspace, name).id
    datasets.get_version(workspace, name, version)
    held = restrictions.get(workspace, dataset_id, version)
    return {
        "restriction": held.to_dict() if held is not None else None,
        "parents": restrictions.parents_of(workspace, dataset_id, version),
    }


@router.post("/api/v1/datasets/{name}/versions/{version}/review")
def api_review(
    name: str, version: int, body: ReviewRequest, workspace: WorkspaceDep, user: PiiUser
) -> dict[str, Any]:
    """Lift a version's restriction after review (needs the pii permission)."""
    return restrictions.review(workspace, user, name, version, body.note).to_dict()


@router.post("/api/v1/privacy/detokenize")
def api_detokenize(
    body: TokensRequest, workspace: WorkspaceDep, user: PiiUser
) -> dict[str, str | None]:
    """The original values of tokens (needs the pii permission; every call is audited)."""
    return vault.detokenize(workspace, user, body.tokens)
