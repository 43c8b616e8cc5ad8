"""Share links over HTTP: the API and model-page section editors use to create, list and revoke
them, and (share_pages) the pages a link's visitor sees."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field

from seedbed.apps import share_links
from seedbed.apps.share_links import ShareLink
from seedbed.apps.share_pages import router as pages_router
from seedbed.errors import Invalid
from seedbed.web.deps import CsrfChecked, EditorUser, WorkspaceDep
from seedbed.web.templating import render
from seedbed.workspace import Workspace

router = APIRouter()
router.include_router(pages_router)


class ShareLinkCreate(BaseModel):
    reference: str = Field("champion", description="A version number or an alias.")
    expires: str = Field("7d", description="How long the link works: 30m, 12h, 7d, 2w (≤ 90d).")
    note: str = Field("", description="Who or what the link is for.")


class ShareLinkOut(BaseModel):
    id: str
    model: str
    reference: str
    note: str
    created_by: str
    created_at: int
    expires_at: int
    revoked_at: int | None
    status: str  # active, expired or revoked
    url: str


def link_url(request: Request, workspace: Workspace, link: ShareLink) -> str:
    base = workspace.settings.public_url or str(request.base_url)
    return f"{base.rstrip('/')}/share/{share_links.token_for(workspace, link.id)}"


def _out(request: Request, workspace: Workspace, link: ShareLink) -> ShareLinkOut:
    return ShareLinkOut(
        id=link.id,
        model=link.model_name,
        reference=link.reference,
        note=link.note,
        created_by=link.created_by,
        created_at=link.created_at,
        expires_at=link.expires_at,
        revoked_at=link.revoked_at,
        status=link.status(),
        url=link_url(request, workspace, link),
    )


@router.post("/api/v1/models/{name}/share-links", tags=["share links"], status_code=201)
def api_create(
    request: Request, name: str, body: ShareLinkCreate, workspace: WorkspaceDep, user: EditorUser
) -> ShareLinkOut:
    """Create a link to the model's demo page with reviewer rights only."""
    link, _token = share_links.create(
        workspace, name, body.reference, body.expires, body.note, user.username
    )
    return _out(request, workspace, link)


@router.get("/api/v1/models/{name}/share-links", tags=["share links"])
def api_list(
    request: Request, name: str, workspace: WorkspaceDep, user: EditorUser
) -> dict[str, list[ShareLinkOut]]:
    """The model's share links, newest first, with their status."""
    links = share_links.list_links(workspace, name)
    return {"links": [_out(request, workspace, link) for link in links]}


@router.delete("/api/v1/share-links/{link_id}", tags=["share links"])
def api_revoke(
    request: Request, link_id: str, workspace: WorkspaceDep, user: EditorUser
) -> ShareLinkOut:
    """Revoke a link: its next visit gets a 403 page."""
    return _out(request, workspace, share_links.revoke(workspace, link_id, user.username))


def _section(
    request: Request, workspace: Workspace, name: str, status: int = 200, **extra: Any
) -> Response:
    links = [_out(request, workspace, link) for link in share_links.list_links(workspace, name)]
    return render(request, "apps/share_links.html", status, model_name=name, links=links, **extra)


@router.get("/ui/models/{name}/share-links", include_in_schema=False)
def share_section(
    request: Request, name: str, workspace: WorkspaceDep, user: EditorUser
) -> Response:
    """The model page's share-link list and form (loaded into the page by htmx)."""
    return _section(request, workspace, name)


@router.post("/ui/models/{name}/share-links", dependencies=[CsrfChecked], include_in_schema=False)
async def share_create(
    request: Request, name: str, workspace: WorkspaceDep, user: EditorUser
) -> Response:
    form = await request.form()
    given = {k: str(form.get(k) or "") for k in ("reference", "expires", "note")}
    try:
        link, _token = share_links.create(
            workspace, name, given["reference"], given["expires"], given["note"], user.username
        )
    except Invalid as exc:
        status = 200 if request.headers.get("hx-request") == "true" else 400
        return _section(request, workspace, name, status, error=str(exc), given=given)
    if request.headers.get("hx-request") != "true":  # without htmx: back to the model page
        return RedirectResponse(f"/ui/models/{name}#sharing-heading", status_code=303)
    return _section(request, workspace, name, created=link.id)


@router.post(
    "/ui/share-links/{link_id}/revoke", dependencies=[CsrfChecked], include_in_schema=False
)
def share_revoke(
    request: Request, link_id: str, workspace: WorkspaceDep, user: EditorUser
) -> Response:
    link = share_links.revoke(workspace, link_id, user.username)
    return _section(request, workspace, link.model_name, revoked=link.id)
