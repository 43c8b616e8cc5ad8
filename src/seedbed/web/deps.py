"""Dependency aliases so route signatures read like prose (WorkspaceDep, CurrentUser).

The dependencies are `async def` although they never await: each only reads what the app or
the auth middleware already holds, and FastAPI runs a plain `def` dependency in its threadpool,
a thread hop per dependency per request."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from seedbed.auth.login import LoginThrottle
from seedbed.auth.permissions import require
from seedbed.auth.users import User
from seedbed.data.sql import QueryRunner
from seedbed.errors import Unauthorized
from seedbed.registry.loading import ModelLoader
from seedbed.web.csrf import verify_csrf_form
from seedbed.workspace import Workspace


async def get_workspace(request: Request) -> Workspace:
    workspace: Workspace = request.app.state.workspace
    return workspace


async def get_user(request: Request) -> User:
    """The logged-in user, who may read (every role may)."""
    user = getattr(request.state, "user", None)
    if not isinstance(user, User):
        raise Unauthorized("Log in first.")
    require(user, "read")
    return user


async def get_editor(user: Annotated[User, Depends(get_user)]) -> User:
    require(user, "write")
    return user


async def get_admin(user: Annotated[User, Depends(get_user)]) -> User:
    require(user, "admin")
    return user


async def get_pii_reader(user: Annotated[User, Depends(get_user)]) -> User:
    require(user, "read_pii")
    return user


async def get_login_throttle(request: Request) -> LoginThrottle:
    throttle: LoginThrottle = request.app.state.login_throttle
    return throttle


async def get_query_runner(request: Request) -> QueryRunner:
    runner: QueryRunner = request.app.state.query_runner
    return runner


async def get_model_loader(request: Request) -> ModelLoader:
    loader: ModelLoader = request.app.state.model_loader
    return loader


WorkspaceDep = Annotated[Workspace, Depends(get_workspace)]
CurrentUser = Annotated[User, Depends(get_user)]
EditorUser = Annotated[User, Depends(get_editor)]
AdminUser = Annotated[User, Depends(get_admin)]
PiiUser = Annotated[User, Depends(get_pii_reader)]
QueryRunnerDep = Annotated[QueryRunner, Depends(get_query_runner)]
ModelLoaderDep = Annotated[ModelLoader, Depends(get_model_loader)]
LoginThrottleDep = Annotated[LoginThrottle, Depends(get_login_throttle)]
CsrfChecked = Depends(verify_csrf_form)
