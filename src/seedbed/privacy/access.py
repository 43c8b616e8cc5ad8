"""Who may read what of a dataset version: restricted columns are withheld from readers
without the `pii` permission, versions restricted as a whole are refused to them, and every
read of restricted data by someone who may is written to the audit log."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from seedbed.auth import audit
from seedbed.auth.permissions import can
from seedbed.auth.users import User
from seedbed.data import datasets
from seedbed.data.datasets import DatasetVersion
from seedbed.errors import Forbidden
from seedbed.privacy import restrictions, scans
from seedbed.workspace import Workspace


@dataclass(frozen=True)
class Access:
    """What one reader gets of a version."""

    withheld: tuple[str, ...] = ()  # restricted columns this reader may not see
    restricted: bool = False  # the version holds restricted data (this reader may see it)

    def keeps(self, column: str) -> bool:
        return column not in self.withheld


def check_read(
    workspace: Workspace, user: User | None, version: DatasetVersion, purpose: str
) -> Access:
    """Decide what `user` may read of `version` for `purpose` (sample, download, profile…).

    Forbidden when the version is restricted as a whole and the user lacks `pii`.
    """
    columns, whole = restricted_columns(workspace, version)
    if not columns and not whole:
        return Access()
    label = f"{version.dataset}/{version.version}"
    if can(user, "read_pii"):
        assert user is not None
        audit.record(
            workspace,
            user.username,
            "dataset.read_restricted",
            label,
            purpose=purpose,
            columns=columns,
            whole=whole,
        )
        return Access(restricted=True)
    if whole:
        dataset_id = datasets.get_dataset(workspace, version.dataset).id
        held = restrictions.get(workspace, dataset_id, version.version)
        reason = held.reason if held is not None else "derived from restricted data"
        raise Forbidden(
            f"{version.dataset} v{version.version} is restricted: {reason}. Only users "
            "with the pii permission may read it until one of them reviews it "
            f"(seedbed data review {version.dataset} --version {version.version})."
        )
    return Access(withheld=tuple(columns))


def restricted_columns(workspace: Workspace, version: DatasetVersion) -> tuple[list[str], bool]:
    """The version's columns restricted by its PII policy, and whether it is restricted as a
    whole (derived from restricted data, not yet reviewed); reads nothing, audits nothing."""
    dataset_id = datasets.get_dataset(workspace, version.dataset).id
    pii = scans.get_scan(workspace, version)
    columns = [c for c in pii.restricted_columns if any(v.name == c for v in version.columns)]
    held = restrictions.get(workspace, dataset_id, version.version)
    return columns, held is not None and held.active


def withheld_header(access: Access) -> dict[str, str]:
    """The response header that tells clients which columns were left out."""
    return {"x-seedbed-withheld": ",".join(access.withheld)} if access.withheld else {}


def write_without_withheld(
    workspace: Workspace, version: DatasetVersion, access: Access, target: Path
) -> None:
    """Write the version to `target` as Parquet, without the columns withheld from the reader."""
    kept = [c.name for c in version.columns if access.keeps(c.name)]
    select = ", ".join('"' + name.replace('"', '""') + '"' for name in kept)
    with datasets.local_parquet(workspace, version) as path, duckdb.connect() as connection:
        connection.execute(
            f"copy (select {select or 'null as withheld'} from read_parquet(?)) "
            f"to '{str(target).replace(chr(39), chr(39) * 2)}' (format parquet, compression zstd)",
            [str(path)],
        )
