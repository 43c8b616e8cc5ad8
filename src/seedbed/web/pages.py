"""Pages that belong to no one domain: health, login and the home page."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import FileResponse, PlainTextResponse, RedirectResponse, Response

from seedbed.auth import audit, tokens, users
from seedbed.auth.login import password_login
from seedbed.errors import Forbidden, SeedbedError
from seedbed.registry.models import list_models
from seedbed.tracking.experiments import list_experiments
from seedbed.web.csrf import token_matches
from seedbed.web.deps import CsrfChecked, CurrentUser, LoginThrottleDep, WorkspaceDep
from seedbed.web.security import SESSION_STAMP, SESSION_TOKEN, SESSION_USER
from seedbed.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/health")
def health() -> PlainTextResponse:
    return PlainTextResponse("OK")


@router.get("/vendor/plotly.min.js")
def plotly_js() -> FileResponse:
    """Plotly's browser bundle, served from the installed `plotly` package (no CDN)."""
    import plotly

    bundle = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    return FileResponse(
        bundle, media_type="text/javascript", headers={"cache-control": "public, max-age=86400"}
    )


@router.get("/favicon.ico")
def favicon() -> RedirectResponse:
    return RedirectResponse("/static/favicon.svg", status_code=301)


def _safe_next(target: str | None) -> str:
    """Only same-site paths, so the login link cannot bounce a user to another site."""
    if (
        not target
        or not target.startswith("/")
        or target.startswith("//")
        or urlsplit(target).netloc
    ):
        return "/ui/"
    return target


def _start_session(
    request: Request, workspace: WorkspaceDep, user_id: int, target: str
) -> Response:
    # A fresh session (and CSRF token) at login, so a cookie planted before it is worth nothing.
    request.session.clear()
    request.session[SESSION_USER] = user_id
    request.session[SESSION_STAMP] = users.session_stamp(workspace, user_id)
    return RedirectResponse(_safe_next(target), status_code=303)


def _log_in(request: Request, workspace: WorkspaceDep, token: str, target: str) -> Response:
    user = tokens.authenticate(workspace, token.strip())
    if user is None:
        return render(
            request,
            "login.html",
            status_code=401,
            next=target,
            username="",
            error="That token is not valid (mistyped, revoked or expired).",
        )
    audit.record(workspace, user.username, "user.login", method="token")
    answer = _start_session(request, workspace, user.id, target)
    request.session[SESSION_TOKEN] = tokens.token_id(workspace, token.strip())
    return answer


@router.get("/login")
def login_page(
    request: Request, workspace: WorkspaceDep, token: str | None = None, next: str | None = None
) -> Response:
    if token:
        return _log_in(request, workspace, token, next or "/ui/")
    return render(request, "login.html", next=_safe_next(next), username="", error=None)


@router.post("/login")
async def login_form(
    request: Request,
    workspace: WorkspaceDep,
    throttle: LoginThrottleDep,
    token: Annotated[str, Form()] = "",
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/ui/",
) -> Response:
    """Log in with a username and password, or with an API token."""
    if not token_matches(request, csrf_token):
        raise Forbidden("The login form expired. Reload the page and try again.")
    if token.strip():
        return _log_in(request, workspace, token, next)
    address = request.client.host if request.client else "?"
    try:
        user = password_login(workspace, throttle, username, password, address)
    except SeedbedError as exc:
        return render(
            request,
            "login.html",
            status_code=exc.status_code,
            next=_safe_next(next),
            username=username,
            error=str(exc),
        )
    return _start_session(request, workspace, user.id, next)


@router.post("/logout", dependencies=[CsrfChecked])
def logout(request: Request) -> RedirectResponse:
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


@router.get("/")
def root() -> RedirectResponse:
    return RedirectResponse("/ui/", status_code=307)


@router.get("/ui/")
def home(request: Request, workspace: WorkspaceDep, user: CurrentUser) -> Response:
    experiments = list_experiments(workspace)
    summary = {
        "Warehouse tables": len(workspace.warehouse.table_names()),
        "Experiments": len(experiments),
        "Runs": sum(e.run_count for e in experiments),
        "Registered models": len(list_models(workspace)),
    }
    return render(
        request,
        "home.html",
        summary=summary,
        activity=audit.recent(workspace, limit=15),
        workspace_root=workspace.root,
    )
