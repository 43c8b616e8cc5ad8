"""Dependency aliases so route signatures read like prose (WorkspaceDep, CurrentUser)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from seedbed.auth.users import User
from seedbed.data.sql import QueryRunner
from seedbed.errors import Forbidden, Unauthorized
from seedbed.registry.loading import ModelLoader
from seedbed.web.csrf import verify_csrf_form
from seedbed.workspace import Workspace


def get_workspace(request: Request) -> Workspace:
    workspace: Workspace = request.app.state.workspace
    return workspace


def get_user(request: Request) -> User:
    user = getattr(request.state, "user", None)
    if not isinstance(user, User):
        raise Unauthorized("Log in first.")
    return user


def get_editor(user: Annotated[User, Depends(get_user)]) -> User:
    if not user.can_write():
        raise Forbidden(f"{user.username} is a {user.role}; this needs the editor or admin role.")
    return user


def get_admin(user: Annotated[User, Depends(get_user)]) -> User:
    if not user.is_admin:
        raise Forbidden(f"{user.username} is a {user.role}; this needs the admin role.")
    return user


def get_query_runner(request: Request) -> QueryRunner:
    runner: QueryRunner = request.app.state.query_runner
    return runner


def get_model_loader(request: Request) -> ModelLoader:
    loader: ModelLoader = request.app.state.model_loader
    return loader


WorkspaceDep = Annotated[Workspace, Depends(get_workspace)]
CurrentUser = Annotated[User, Depends(get_user)]
EditorUser = Annotated[User, Depends(get_editor)]
AdminUser = Annotated[User, Depends(get_admin)]
QueryRunnerDep = Annotated[QueryRunner, Depends(get_query_runner)]
ModelLoaderDep = Annotated[ModelLoader, Depends(get_model_loader)]
CsrfChecked = Depends(verify_csrf_form)
