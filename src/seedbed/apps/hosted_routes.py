"""Hosted apps over /api/v1/apps, the Apps page, and the proxy at /apps/NAME/ (HTTP and
WebSocket) that only logged-in readers pass (seedbed.web.security checks both)."""

from __future__ import annotations

import atexit
import threading
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request, WebSocket
from fastapi.responses import PlainTextResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from seedbed.apps import proxy
from seedbed.apps.hosted import HostedApps
from seedbed.auth.permissions import can
from seedbed.auth.users import User
from seedbed.web.deps import CsrfChecked, CurrentUser, EditorUser
from seedbed.web.templating import render

router = APIRouter()
_create_lock = threading.Lock()


def hosted_apps(app: FastAPI) -> HostedApps:
    """The server's HostedApps: `app.state.hosted_apps` when create_app made it, else made here
    on first use (and stopped at exit), so the apps' lifetime is the server's either way."""
    service: HostedApps | None = getattr(app.state, "hosted_apps", None)
    if service is None:
        with _create_lock:
            service = getattr(app.state, "hosted_apps", None)
            if service is None:
                server_url = getattr(app.state.jupyter, "server_url", "http://127.0.0.1")
                service = HostedApps(app.state.workspace, server_url)
                app.state.hosted_apps = service
                atexit.register(service.close)
    return service


async def get_hosted(request: Request) -> HostedApps:
    return hosted_apps(request.app)


HostedDep = Annotated[HostedApps, Depends(get_hosted)]


class NewApp(BaseModel):
    name: str = Field(..., description="Lower-case letters, digits and dashes: /apps/NAME/.")
    script: str = Field(..., description="The Streamlit script's text.")
    replace: bool = Field(False, description="Replace a running app of the same name.")


@router.post("/api/v1/apps", tags=["apps"], status_code=201)
async def api_serve(body: NewApp, hosted: HostedDep, user: EditorUser) -> dict[str, Any]:
    """Save the script as app NAME and start it; answers once the app answers."""
    app = await run_in_threadpool(hosted.serve, user, body.name, body.script, body.replace)
    return app.to_dict()


@router.get("/api/v1/apps", tags=["apps"])
async def api_list(hosted: HostedDep, user: CurrentUser) -> list[dict[str, Any]]:
    """Every hosted app with its status."""
    return [a.to_dict() for a in await run_in_threadpool(hosted.list)]


@router.get("/api/v1/apps/{name}", tags=["apps"])
async def api_get(name: str, hosted: HostedDep, user: CurrentUser) -> dict[str, Any]:
    return (await run_in_threadpool(hosted.get, name)).to_dict()


@router.post("/api/v1/apps/{name}/stop", tags=["apps"])
async def api_stop(name: str, hosted: HostedDep, user: EditorUser) -> dict[str, Any]:
    """Stop the app's process and revoke its token."""
    return (await run_in_threadpool(hosted.stop, user, name)).to_dict()


@router.post("/api/v1/apps/{name}/restart", tags=["apps"])
async def api_restart(name: str, hosted: HostedDep, user: EditorUser) -> dict[str, Any]:
    """Start the app again from its saved script, with a token of the caller."""
    return (await run_in_threadpool(hosted.restart, user, name)).to_dict()


@router.delete("/api/v1/apps/{name}", tags=["apps"], status_code=204)
async def api_delete(name: str, hosted: HostedDep, user: EditorUser) -> Response:
    await run_in_threadpool(hosted.delete, user, name)
    return Response(status_code=204)


@router.get("/api/v1/apps/{name}/logs", tags=["apps"], response_class=PlainTextResponse)
async def api_logs(name: str, hosted: HostedDep, user: EditorUser, lines: int = 200) -> str:
    """The app's last output lines (streamlit's, and the tracebacks of the script)."""
    return await run_in_threadpool(hosted.logs, name, max(1, min(lines, 10_000)))


# -- the Apps page ------------------------------------------------------------------------


@router.get("/ui/apps", include_in_schema=False)
async def apps_page(request: Request, hosted: HostedDep, user: CurrentUser) -> Response:
    apps = await run_in_threadpool(hosted.list)
    return render(request, "apps/hosted.html", apps=apps, can_write=can(user, "write"))


@router.post("/ui/apps/{name}/stop", include_in_schema=False, dependencies=[CsrfChecked])
async def stop_from_page(name: str, hosted: HostedDep, user: EditorUser) -> Response:
    await run_in_threadpool(hosted.stop, user, name)
    return RedirectResponse("/ui/apps", status_code=303)


@router.post("/ui/apps/{name}/restart", include_in_schema=False, dependencies=[CsrfChecked])
async def restart_from_page(name: str, hosted: HostedDep, user: EditorUser) -> Response:
    await run_in_threadpool(hosted.restart, user, name)
    return RedirectResponse("/ui/apps", status_code=303)


# -- the proxy ----------------------------------------------------------------------------


@router.get("/apps/{name}", include_in_schema=False)
async def app_root(name: str, user: CurrentUser) -> Response:
    return RedirectResponse(f"/apps/{name}/", status_code=307)


@router.api_route(
    "/apps/{name}/{path:path}",
    methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
    include_in_schema=False,
)
async def app_http(request: Request, name: str, path: str, user: CurrentUser) -> Response:
    port = hosted_apps(request.app).port_of(name)
    if port is None:
        return render(request, "apps/hosted_missing.html", status_code=404, app_name=name)
    return await proxy.forward_http(request, port)


@router.websocket("/apps/{name}/{path:path}")
async def app_websocket(websocket: WebSocket, name: str, path: str) -> None:
    user = websocket.scope.get("state", {}).get("user")
    if not isinstance(user, User) or not can(user, "read"):  # the middleware let it through
        await websocket.close(code=1008, reason="Log in first.")
        return
    port = hosted_apps(websocket.app).port_of(name)
    if port is None:
        await websocket.close(code=1011, reason=f"No app named {name!r} is running.")
        return
    await proxy.forward_websocket(websocket, port)
