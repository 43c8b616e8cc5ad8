"""Dataset routes: uploads (stage, then publish), versions, downloads, over /api/v1."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel, Field
from starlette.background import BackgroundTask

from seedbed.data import checks, profiles, uploads
from seedbed.data import datasets as dataset_service
from seedbed.data.datasets import Dataset, DatasetVersion
from seedbed.data.lineage import lineage as dataset_lineage
from seedbed.data.quality import CheckResult, dump_checks_yaml, parse_checks_yaml
from seedbed.data.uploads import StagedUpload, UploadColumn
from seedbed.errors import Invalid
from seedbed.privacy import access
from seedbed.privacy import scans as pii_scans
from seedbed.web.deps import CurrentUser, EditorUser, WorkspaceDep

router = APIRouter(tags=["datasets"])
PARQUET = "application/vnd.apache.parquet"


class PublishRequest(BaseModel):
    name: str = Field(..., description="Dataset name; an existing name gets a new version.")
    columns: list[UploadColumn] | None = Field(
        None, description="Names and types for every column, in file order (default: inferred)."
    )
    description: str = ""
    parents: list[str] = Field(
        default_factory=list,
        description="Versions this data was derived from, as NAME or NAME@VERSION: a version "
        "derived from restricted data is restricted until someone with the pii permission "
        "reviews it.",
    )


class Published(BaseModel):
    created: bool = Field(..., description="False when the content equals the latest version.")
    version: DatasetVersion


@router.post("/api/v1/uploads", status_code=201)
async def api_upload(
    request: Request,
    workspace: WorkspaceDep,
    user: EditorUser,
    filename: Annotated[str, Query(min_length=1, description="Original file name.")],
) -> StagedUpload:
    """Stream a file (the raw request body) to the staging area; answers with its preview."""
    length = request.headers.get("content-length")
    try:
        expected = int(length) if length is not None else None
    except ValueError:
        raise Invalid("Content-Length must be a number of bytes.") from None
    return await uploads.receive(workspace, request.stream(), filename, expected)


@router.get("/api/v1/uploads/{upload_id}")
def api_staged(upload_id: str, workspace: WorkspaceDep, user: EditorUser) -> StagedUpload:
    """A staged upload with its inferred columns and preview rows."""
    return uploads.get_staged(workspace, upload_id)


@router.post("/api/v1/uploads/{upload_id}/publish", status_code=201)
def api_publish(
    upload_id: str, body: PublishRequest, workspace: WorkspaceDep, user: EditorUser
) -> Published:
    """Publish a staged upload as the next version of a dataset."""
    version, created = uploads.publish(
        workspace,
        upload_id,
        body.name,
        body.columns,
        author=user.username,
        description=body.description,
        parents=body.parents,
    )
    return Published(created=created, version=version)


@router.delete("/api/v1/uploads/{upload_id}", status_code=204)
def api_discard(upload_id: str, workspace: WorkspaceDep, user: EditorUser) -> None:
    """Throw a staged upload away."""
    uploads.discard(workspace, upload_id)


@router.get("/api/v1/datasets")
def api_datasets(workspace: WorkspaceDep, user: CurrentUser) -> list[Dataset]:
    """Datasets with their live versions, most recently updated first."""
    return dataset_service.list_datasets(workspace)


@router.get("/api/v1/datasets/{name}")
def api_dataset(name: str, workspace: WorkspaceDep, user: CurrentUser) -> Dataset:
    """One dataset with its live versions, newest first."""
    return dataset_service.get_dataset(workspace, name)


def _version(workspace: WorkspaceDep, name: str, version: str) -> DatasetVersion:
    if version == "latest":
        return dataset_service.get_version(workspace, name)
    number = dataset_service.version_number(version)
    if number is None:
        raise Invalid(f"Version {version!r} must be a number or 'latest'.")
    return dataset_service.get_version(workspace, name, number)


@router.get("/api/v1/datasets/{name}/versions/{version}")
def api_version(
    name: str, version: str, workspace: WorkspaceDep, user: CurrentUser
) -> DatasetVersion:
    """One version (a number or 'latest')."""
    return _version(workspace, name, version)


@router.get(
    "/api/v1/datasets/{name}/versions/{version}/data", responses={200: {"content": {PARQUET: {}}}}
)
def api_download(name: str, version: str, workspace: WorkspaceDep, user: CurrentUser) -> Response:
    """The version's rows as a Parquet file. Columns restricted as personal data are left
    out for users without the pii permission; the `x-seedbed-withheld` header names them."""
    found = _version(workspace, name, version)
    granted = access.check_read(workspace, user, found, "download")
    filename = f"{name}-v{found.version}.parquet"
    if granted.withheld:
        folder = Path(tempfile.mkdtemp(prefix="seedbed-download-"))
        target = folder / "data.parquet"
        access.write_without_withheld(workspace, found, granted, target)
        return FileResponse(
            target,
            media_type=PARQUET,
            filename=filename,
            headers=access.withheld_header(granted),
            background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True),
        )
    local = workspace.artifacts.local_path(found.path)
    if local is not None:
        return FileResponse(local, media_type=PARQUET, filename=filename)
    return Response(
        workspace.artifacts.get_bytes(found.path),
        media_type=PARQUET,
        headers={"content-disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/api/v1/datasets/{name}/versions/{version}/columns")
def api_columns(
    name: str, version: str, workspace: WorkspaceDep, user: CurrentUser
) -> dict[str, Any]:
    """A version's columns with their types and statistics (from its profile), each with
    `pii`: null, or the PII type found in it with a confidence and the evidence."""
    found = _version(workspace, name, version)
    pii = pii_scans.get_scan(workspace, found)
    granted = access.check_read(workspace, user, found, "statistics")
    columns = profiles.column_summary(workspace, found)
    for index, column in enumerate(columns):
        if not granted.keeps(column["name"]):
            columns[index] = column = {"name": column["name"], "type": column["type"]}
            column["withheld"] = True
        column["pii"] = pii.column(column["name"])
    return {
        "version": found.version,
        "rows": found.rows,
        "columns": columns,
        "pii_scan": pii.summary(),
    }


@router.get("/api/v1/datasets/{name}/versions/{version}/pii")
def api_pii(name: str, version: str, workspace: WorkspaceDep, user: CurrentUser) -> dict[str, Any]:
    """The version's PII scan: its status and the columns in which it found PII."""
    found = pii_scans.get_scan(workspace, _version(workspace, name, version))
    return {**found.summary(), "columns": {n: found.column(n) for n in found.columns}}


@router.post("/api/v1/datasets/{name}/versions/{version}/pii/scan")
def api_scan_pii(
    name: str, version: str, workspace: WorkspaceDep, user: EditorUser
) -> dict[str, Any]:
    """Scan the version for PII again (after a failed scan, or with newer detectors)."""
    found = pii_scans.scan_version(workspace, name, _version(workspace, name, version).version)
    return {**found.summary(), "columns": {n: found.column(n) for n in found.columns}}


@router.delete("/api/v1/datasets/{name}/versions/{version}", status_code=204)
def api_delete_version(name: str, version: int, workspace: WorkspaceDep, user: EditorUser) -> None:
    """Soft-delete a version; refused (409) while a registered model depends on it."""
    dataset_service.delete_version(workspace, name, version, user.username)


@router.get("/api/v1/datasets/{name}/versions/{version}/lineage")
def api_lineage(
    name: str, version: int, workspace: WorkspaceDep, user: CurrentUser
) -> dict[str, Any]:
    """The runs that read a version and the models registered from them."""
    found = dataset_lineage(workspace, name, version)
    return {"runs": found.runs, "models": found.models}


class ChecksRequest(BaseModel):
    checks: list[dict[str, Any]] | None = Field(None, description="Checks as objects.")
    yaml: str | None = Field(None, description="Or: checks as YAML (a top-level checks: list).")


class ChecksAnswer(BaseModel):
    checks: list[dict[str, Any]]
    yaml: str
    results: list[CheckResult] = Field(
        default_factory=list, description="Results on the latest version, after a change."
    )


@router.get("/api/v1/datasets/{name}/checks")
def api_checks(name: str, workspace: WorkspaceDep, user: CurrentUser) -> ChecksAnswer:
    """The dataset's quality checks, as objects and as YAML."""
    found = checks.get_checks(workspace, name)
    return ChecksAnswer(
        checks=[c.model_dump(exclude_none=True) for c in found], yaml=dump_checks_yaml(found)
    )


@router.put("/api/v1/datasets/{name}/checks")
def api_set_checks(
    name: str, body: ChecksRequest, workspace: WorkspaceDep, user: EditorUser
) -> ChecksAnswer:
    """Replace the dataset's checks and run them on its latest version."""
    if (body.checks is None) == (body.yaml is None):
        raise Invalid("Give the checks either as `checks` (a list) or as `yaml`, not both.")
    items: list[Any] = parse_checks_yaml(body.yaml) if body.yaml is not None else body.checks or []
    results = checks.set_checks(workspace, name, items, user.username, reader=user)
    if results:
        latest = dataset_service.get_version(workspace, name)
        results = checks.shown_to(workspace, user, latest, results)
    found = checks.get_checks(workspace, name)
    return ChecksAnswer(
        checks=[c.model_dump(exclude_none=True) for c in found],
        yaml=dump_checks_yaml(found),
        results=results,
    )


@router.get("/api/v1/datasets/{name}/versions/{version}/checks")
def api_check_results(
    name: str, version: str, workspace: WorkspaceDep, user: CurrentUser
) -> list[CheckResult]:
    """The results of the checks on one version. Samples and observed values of restricted
    data are left out (`withheld`) for users without the pii permission."""
    found = _version(workspace, name, version)
    return checks.shown_to(
        workspace, user, found, checks.results_for(workspace, name, found.version)
    )


@router.post("/api/v1/datasets/{name}/versions/{version}/checks/run")
def api_run_checks(
    name: str, version: str, workspace: WorkspaceDep, user: EditorUser
) -> list[CheckResult]:
    """Run the checks on one version again (freshness changes with time)."""
    found = _version(workspace, name, version)
    return checks.shown_to(
        workspace, user, found, checks.run_for_version(workspace, name, found.version)
    )


@router.get("/api/v1/datasets/{name}/versions/{version}/profile")
def api_profile(
    name: str, version: str, workspace: WorkspaceDep, user: CurrentUser, refresh: bool = False
) -> dict[str, Any]:
    """Per-column statistics, histograms, top values and correlations (cached per version;
    `refresh=true` computes it again)."""
    found = _version(workspace, name, version)
    granted = access.check_read(workspace, user, found, "profile")
    return profiles.withhold(
        profiles.get_profile(workspace, found, refresh).to_dict(), granted.withheld
    )
