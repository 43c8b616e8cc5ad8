"""Pages of the Data section: datasets, uploads, warehouse tables."""

from __future__ import annotations

import json
from urllib.parse import quote

import pyarrow as pa
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from seedbed.auth.users import User
from seedbed.data import checks, profiles, sources
from seedbed.data import datasets as dataset_service
from seedbed.data.datasets import DatasetVersion
from seedbed.data.lineage import lineage as dataset_lineage
from seedbed.data.profiling import Profile
from seedbed.data.quality import dump_checks_yaml, parse_checks_yaml
from seedbed.data.routes import PREVIEW_ROWS, preview_rows
from seedbed.data.uploads import TYPES
from seedbed.errors import Conflict, Forbidden, Invalid, NotFound
from seedbed.privacy import access
from seedbed.privacy import pages as privacy_pages
from seedbed.privacy import scans as pii_scans
from seedbed.web.deps import AdminUser, CsrfChecked, CurrentUser, EditorUser, WorkspaceDep
from seedbed.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/ui/data")
def data_page(request: Request, workspace: WorkspaceDep, user: CurrentUser) -> Response:
    return render(
        request,
        "data/tables.html",
        tables=workspace.warehouse.tables(),
        datasets=dataset_service.list_datasets(workspace),
        sources=sources.list_sources(workspace),
    )


@router.get("/ui/data/upload")
def upload_page(request: Request, user: EditorUser) -> Response:
    return render(request, "data/upload.html", types=TYPES)


@router.get("/ui/data/tables/{name}")
def table_page(request: Request, name: str, workspace: WorkspaceDep, user: CurrentUser) -> Response:
    info = workspace.warehouse.describe(name)
    head = workspace.warehouse.head(name, PREVIEW_ROWS)
    return render(
        request, "data/table.html", table=info, columns=head.column_names, rows=preview_rows(head)
    )


@router.get("/ui/data/datasets/{name}")
def dataset_page(
    request: Request,
    name: str,
    workspace: WorkspaceDep,
    user: CurrentUser,
    version: int | None = None,
) -> Response:
    dataset = dataset_service.get_dataset(workspace, name)
    if not dataset.versions:
        raise NotFound(f"Dataset {name!r} has no versions left.")
    current = dataset_service.get_version(workspace, name, version)
    return _dataset_page(request, workspace, user, name, current, yaml_text=None, error=None)


def _dataset_page(
    request: Request,
    workspace: WorkspaceDep,
    user: User,
    name: str,
    current: DatasetVersion,
    yaml_text: str | None,
    error: str | None,
) -> Response:
    privacy = privacy_pages.dataset_privacy(workspace, user, current)
    sample = (
        dataset_service.sample(workspace, current, PREVIEW_ROWS, privacy.access.withheld)
        if privacy.refusal is None
        else pa.table({})
    )
    defined = checks.get_checks(workspace, name)
    return render(
        request,
        "data/dataset.html",
        status_code=400 if error else 200,
        dataset=dataset_service.get_dataset(workspace, name),
        current=current,
        privacy=privacy,
        columns=sample.column_names,
        rows=preview_rows(sample),
        lineage=dataset_lineage(workspace, name, current.version),
        results=checks.withhold(
            checks.results_for(workspace, name, current.version),
            None if privacy.refusal else privacy.access,
        ),
        pii=pii_scans.get_scan(workspace, current),
        checks_yaml=yaml_text if yaml_text is not None else dump_checks_yaml(defined),
        checks_error=error,
    )


@router.post("/ui/data/datasets/{name}/checks", dependencies=[CsrfChecked])
async def save_checks(
    request: Request, name: str, workspace: WorkspaceDep, user: EditorUser
) -> Response:
    form = await request.form()
    text = str(form.get("checks_yaml") or "")
    try:
        items = parse_checks_yaml(text) if text.strip() else []
        checks.set_checks(workspace, name, items, user.username, reader=user)
    except (Invalid, Forbidden) as exc:
        current = dataset_service.get_version(workspace, name)
        return _dataset_page(
            request, workspace, user, name, current, yaml_text=text, error=str(exc)
        )
    return RedirectResponse(f"/ui/data/datasets/{quote(name)}#quality", status_code=303)


@router.get("/ui/sql")
def sql_page(request: Request, workspace: WorkspaceDep, user: CurrentUser) -> Response:
    return render(
        request,
        "data/sql.html",
        tables=workspace.warehouse.tables(),
        row_limit=workspace.settings.sql_row_limit,
        timeout_s=workspace.settings.sql_timeout_s,
    )


@router.get("/ui/data/sources/{name}")
def source_page(
    request: Request, name: str, workspace: WorkspaceDep, user: CurrentUser
) -> Response:
    source = sources.get_source(workspace, name)
    try:
        found, error = sources.tables(workspace, name), None
    except Invalid as exc:  # the source is down or refuses us: say so on the page
        found, error = [], str(exc)
    return render(request, "data/source.html", source=source, tables=found, error=error)


@router.get("/ui/data/sources/{name}/tables/{table}")
def source_table_page(
    request: Request, name: str, table: str, workspace: WorkspaceDep, user: CurrentUser
) -> Response:
    return render(
        request,
        "data/source_table.html",
        source=sources.get_source(workspace, name),
        table=table,
        columns=sources.describe(workspace, name, table),
        error=None,
    )


@router.post("/ui/data/sources/{name}/tables/{table}/snapshot", dependencies=[CsrfChecked])
async def snapshot_form(
    request: Request, name: str, table: str, workspace: WorkspaceDep, user: EditorUser
) -> Response:
    dataset = str((await request.form()).get("dataset") or "")
    try:
        version, _created = sources.snapshot(
            workspace, name, dataset, table=table, user=user.username
        )
    except Invalid as exc:
        return render(
            request,
            "data/source_table.html",
            status_code=400,
            source=sources.get_source(workspace, name),
            table=table,
            columns=sources.describe(workspace, name, table),
            error=str(exc),
        )
    return RedirectResponse(f"/ui/data/datasets/{quote(version.dataset)}", status_code=303)


@router.post("/ui/data/sources", dependencies=[CsrfChecked])
async def register_form(request: Request, workspace: WorkspaceDep, user: AdminUser) -> Response:
    form = await request.form()
    kind = str(form.get("kind") or "")
    fields = ("host", "port", "database", "user", "sslmode") if kind == "postgres" else ("path",)
    config = {f: str(form.get(f)).strip() for f in fields if str(form.get(f) or "").strip()}
    try:
        sources.register(
            workspace,
            str(form.get("name") or ""),
            kind,
            config,
            str(form.get("secret") or "") or None,
            user.username,
        )
    except (Invalid, Conflict) as exc:
        return render(
            request,
            "data/tables.html",
            status_code=400,
            tables=workspace.warehouse.tables(),
            datasets=dataset_service.list_datasets(workspace),
            sources=sources.list_sources(workspace),
            source_error=str(exc),
        )
    return RedirectResponse(f"/ui/data/sources/{quote(str(form.get('name')))}", status_code=303)


@router.get("/ui/data/datasets/{name}/versions/{version}/profile")
def profile_page(
    request: Request, name: str, version: int, workspace: WorkspaceDep, user: CurrentUser
) -> Response:
    current = dataset_service.get_version(workspace, name, version)
    granted = access.check_read(workspace, user, current, "profile")
    profile = profiles.get_profile(workspace, current)
    if granted.withheld:
        shown = profiles.withhold(profile.to_dict(), granted.withheld)
        shown["columns"] = [c for c in shown["columns"] if not c.get("withheld")]
        profile = Profile.from_dict(shown)
    return render(
        request,
        "data/profile.html",
        current=current,
        profile=profile,
        withheld=granted.withheld,
        pii=pii_scans.get_scan(workspace, current),
        done=privacy_pages.DONE,
        # "</" would end the <script> block the JSON sits in.
        profile_json=json.dumps(profile.to_dict()).replace("</", "<\\/"),
    )
