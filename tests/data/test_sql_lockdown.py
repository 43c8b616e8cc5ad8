"""SQL that reaches outside the workspace, refused for non-admins by DuckDB's own settings.

Each attack is sent twice: through the API as a viewer (a 403 that names what was refused,
never a 500), and straight into the sandbox, past seedbed's own read-only check, to show
that DuckDB itself refuses it. Every test checks the file was not read or written.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from fastapi.testclient import TestClient

from seedbed.auth import tokens, users
from seedbed.data.sql import QueryRunner
from seedbed.web.app import create_app
from seedbed.workspace import Workspace

SECRET = "top-secret-line-7f3a"


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "outside" / "secret.csv"
    path.parent.mkdir()
    path.write_text(f"word\n{SECRET}\n")
    return path


@pytest.fixture
def flights(local_workspace: Workspace) -> Workspace:
    local_workspace.warehouse.query("create table flights as select range as id from range(5)")
    return local_workspace


@pytest.fixture
def viewer(flights: Workspace) -> Iterator[TestClient]:
    local_workspace = flights
    user = users.create_user(local_workspace, "vera", role="viewer")
    token = tokens.create_token(local_workspace, user, "test")
    with TestClient(
        create_app(local_workspace),
        base_url="http://127.0.0.1",
        headers={"Authorization": f"Bearer {token}"},
    ) as http:
        yield http


@pytest.fixture
def runner(flights: Workspace) -> QueryRunner:
    return QueryRunner(flights.warehouse)


def sql(http: TestClient, query: str) -> tuple[int, str]:
    answer = http.post("/api/v1/sql", json={"query": query, "format": "json"})
    return answer.status_code, answer.text


def in_sandbox(runner: QueryRunner, query: str) -> None:
    """Run `query` in a non-admin sandbox without seedbed's read-only check in front."""
    sandbox = runner.sandbox(query)
    try:
        relation = sandbox.connection.sql(query)
        if relation is not None:
            relation.fetchall()
    finally:
        sandbox.close()


def assert_refused_by_duckdb(runner: QueryRunner, query: str) -> None:
    with pytest.raises((duckdb.PermissionException, duckdb.InvalidInputException)) as caught:
        in_sandbox(runner, query)
    text = str(caught.value)
    assert "disabled" in text or "locked" in text, text


# -- reading files -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "template",
    [
        "select * from read_csv('{path}')",
        "select * from read_csv_auto('{path}')",
        "select * from read_text('{path}')",
        "select * from read_blob('{path}')",
        "select * from sniff_csv('{path}')",
        "select * from '{path}'",
    ],
)
def test_reading_a_file_is_refused(
    viewer: TestClient, runner: QueryRunner, secret_file: Path, template: str
) -> None:
    query = template.format(path=secret_file)
    status, text = sql(viewer, query)
    assert status == 403 and SECRET not in text, text
    assert_refused_by_duckdb(runner, query)


def test_read_csv_etc_passwd_is_refused(viewer: TestClient, runner: QueryRunner) -> None:
    status, text = sql(viewer, "select * from read_csv('/etc/passwd', sep=':')")
    assert status == 403 and "root:" not in text and "read_csv" in text
    assert_refused_by_duckdb(runner, "select * from read_csv('/etc/passwd', sep=':')")


def test_read_parquet_of_an_absolute_path_is_refused(
    viewer: TestClient, runner: QueryRunner, tmp_path: Path
) -> None:
    target = tmp_path / "x.parquet"
    duckdb.sql(f"copy (select '{SECRET}' as s) to '{target}'")
    query = f"select * from read_parquet('{target}')"
    status, text = sql(viewer, query)
    assert status == 403 and SECRET not in text
    assert_refused_by_duckdb(runner, query)


def test_glob_of_the_root_is_refused(viewer: TestClient, runner: QueryRunner) -> None:
    status, text = sql(viewer, "select * from glob('/*')")
    assert status == 403 and "/etc" not in text
    assert_refused_by_duckdb(runner, "select * from glob('/*')")


def test_a_file_hidden_in_a_subquery_is_refused(
    viewer: TestClient, runner: QueryRunner, secret_file: Path
) -> None:
    query = f"select * from flights where id in (select len(word) from read_csv('{secret_file}'))"
    assert sql(viewer, query)[0] == 403
    assert_refused_by_duckdb(runner, query)


def test_a_url_is_refused(viewer: TestClient, runner: QueryRunner) -> None:
    query = "select * from read_csv('https://example.invalid/x.csv')"
    assert sql(viewer, query)[0] == 403
    assert_refused_by_duckdb(runner, query)


# -- writing files, attaching, extensions -------------------------------------------------


def test_copy_to_a_file_is_refused(viewer: TestClient, runner: QueryRunner, tmp_path: Path) -> None:
    target = tmp_path / "x.csv"
    query = f"copy (select 1) to '{target}'"
    status, text = sql(viewer, query)
    assert status == 403, text
    assert_refused_by_duckdb(runner, query)
    assert not target.exists()


def test_copy_after_a_select_is_refused(
    viewer: TestClient, runner: QueryRunner, tmp_path: Path
) -> None:
    target = tmp_path / "y.csv"
    assert sql(viewer, f"select 1; copy (select * from flights) to '{target}'")[0] == 403
    assert_refused_by_duckdb(runner, f"select * from flights; copy (select 42) to '{target}'")
    assert not target.exists()


def test_export_database_is_refused(
    viewer: TestClient, runner: QueryRunner, tmp_path: Path
) -> None:
    target = tmp_path / "export"
    query = f"export database '{target}'"
    assert sql(viewer, query)[0] == 403
    assert_refused_by_duckdb(runner, query)
    assert not target.exists()


def test_attach_is_refused(viewer: TestClient, runner: QueryRunner, tmp_path: Path) -> None:
    target = tmp_path / "x.db"
    query = f"attach '{target}' as x"
    status, text = sql(viewer, query)
    assert status == 403, text
    assert_refused_by_duckdb(runner, query)
    assert not target.exists()


@pytest.mark.parametrize("query", ["install httpfs", "load httpfs", "force install httpfs"])
def test_extensions_cannot_be_installed_or_loaded(
    viewer: TestClient, runner: QueryRunner, query: str
) -> None:
    assert sql(viewer, query)[0] == 403
    assert_refused_by_duckdb(runner, query)


def test_no_extension_is_loaded_on_demand(runner: QueryRunner) -> None:
    # httpfs would be auto-loaded for an https URL; autoload is off, and reading is off.
    assert_refused_by_duckdb(runner, "select * from 'https://example.invalid/x.parquet'")


# -- settings -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "set enable_external_access = true",
        "set lock_configuration = false",
        "reset lock_configuration",
        "set allowed_directories = ['/']",
        "set allowed_paths = ['/etc/passwd']",
        "set autoinstall_known_extensions = true",
        "set profiling_output = '/tmp/seedbed-profile.json'",
        "set temp_directory = '/tmp'",
        "pragma enable_external_access",
    ],
)
def test_settings_cannot_be_changed(viewer: TestClient, runner: QueryRunner, query: str) -> None:
    assert sql(viewer, query)[0] in (400, 403)
    with pytest.raises(duckdb.Error):
        in_sandbox(runner, query)


def test_locked_settings_hold(runner: QueryRunner) -> None:
    sandbox = runner.sandbox("select 1")
    try:
        settings = dict(
            sandbox.connection.execute(
                "select name, value from duckdb_settings() where name in ("
                "'enable_external_access', 'lock_configuration', "
                "'autoinstall_known_extensions', 'autoload_known_extensions')"
            ).fetchall()
        )
    finally:
        sandbox.close()
    assert settings == {
        "enable_external_access": "false",
        "lock_configuration": "true",
        "autoinstall_known_extensions": "false",
        "autoload_known_extensions": "false",
    }


def test_the_warehouse_itself_is_locked(flights: Workspace, secret_file: Path) -> None:
    # Queries that name no source run on the warehouse, not in a sandbox: its lock is the guard.
    cursor = flights.warehouse.cursor()
    try:
        settings = dict(
            cursor.execute(
                "select name, value from duckdb_settings() where name in ("
                "'enable_external_access', 'lock_configuration')"
            ).fetchall()
        )
        with pytest.raises(duckdb.PermissionException):
            cursor.execute(f"select * from read_csv('{secret_file}')").fetchall()
        with pytest.raises(duckdb.Error):
            cursor.execute("set enable_external_access = true")
    finally:
        cursor.close()
    assert settings == {"enable_external_access": "false", "lock_configuration": "true"}


@pytest.mark.parametrize(
    "query", ["call pragma_version()", "pragma database_list", "checkpoint", "vacuum"]
)
def test_pragma_and_call_are_refused_through_the_api(viewer: TestClient, query: str) -> None:
    assert sql(viewer, query)[0] in (400, 403)


def test_the_warehouse_cannot_be_written_from_the_sandbox(
    runner: QueryRunner, local_workspace: Workspace
) -> None:
    # Even past the read-only check, the sandbox holds no handle on the warehouse file.
    in_sandbox(runner, "create table flights2 as select 1")
    in_sandbox(runner, "select * from flights; drop view flights")
    with pytest.raises(duckdb.CatalogException):
        in_sandbox(runner, "drop table flights")
    assert local_workspace.warehouse.table_names() == ["flights"]


# -- what still works -------------------------------------------------------------------------


def test_viewers_query_warehouse_tables(viewer: TestClient) -> None:
    answer = viewer.post(
        "/api/v1/sql",
        json={
            "format": "json",
            "query": "select count(*) as n, sum(a.id)::int as s from flights a "
            "join main.flights b using (id) where a.id > 0",
        },
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["rows"] == [[4, 10]]


def test_viewers_query_the_warehouse_by_its_catalog_name(
    viewer: TestClient, local_workspace: Workspace
) -> None:
    catalog = local_workspace.warehouse.catalog
    status, text = sql(viewer, f'select count(*) from "{catalog}".main.flights')
    assert status == 200 and "5" in text, text


def test_viewers_get_arrow(viewer: TestClient) -> None:
    import pyarrow as pa

    answer = viewer.post("/api/v1/sql", json={"query": "select * from flights order by id"})
    assert answer.status_code == 200
    table = pa.ipc.open_stream(answer.content).read_all()
    assert table.column("id").to_pylist() == [0, 1, 2, 3, 4]


def test_admins_are_held_to_the_warehouse_too(
    client: TestClient, tmp_path: Path, secret_file: Path
) -> None:
    # The warehouse is locked for everyone: admins read files through uploads and sources.
    target = tmp_path / "admin.csv"
    copied = client.post("/api/v1/sql", json={"query": f"copy (select 1) to '{target}'"})
    assert (
        copied.status_code == 403 and "outside the workspace" in copied.json()["error"]["message"]
    )
    assert not target.exists()
    read = client.post("/api/v1/sql", json={"query": f"select * from read_csv('{secret_file}')"})
    assert read.status_code == 403
    # ... while an admin's writes to the warehouse's own tables still work.
    made = client.post("/api/v1/sql", json={"query": "create table admin_notes as select 1 as x"})
    assert made.is_success
    answer = client.post(
        "/api/v1/sql", json={"query": "select x from admin_notes", "format": "json"}
    )
    assert answer.json()["rows"] == [[1]]
