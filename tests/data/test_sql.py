from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from seedbed.data.sql import QueryRunner, check_read_only
from seedbed.data.warehouse import Warehouse
from seedbed.errors import Forbidden, Invalid, NotFound

ENDLESS = "select count(*) from range(1000000000000) a"


@pytest.fixture
def runner(tmp_path: Path) -> QueryRunner:
    warehouse = Warehouse(tmp_path / "w.duckdb")
    warehouse.query("create table t as select range as x from range(10)")
    return QueryRunner(warehouse)


@pytest.mark.parametrize(
    "sql",
    [
        "select * from t",
        "with a as (select 1 as y) select * from a join t on true",
        "select * from range(3)",
        "select count(*) from t where x > 3",
    ],
)
def test_read_only_allows_plain_selects(sql: str) -> None:
    check_read_only(sql)


@pytest.mark.parametrize(
    ("sql", "reason"),
    [
        ("drop table t", "DROP"),
        ("create table u as select 1", "CREATE"),
        ("insert into t values (1)", "INSERT"),
        ("copy t to '/tmp/out.csv'", "COPY"),
        ("attach '/tmp/x.db' as x", "ATTACH"),
        ("select 1; drop table t", "DROP"),
        ("select * from read_csv('/etc/passwd')", "read_csv"),
        ("select * from read_text('/etc/passwd')", "read_text"),
        ("select * from '/etc/hosts.csv'", "files or URLs"),
        ("select * from 'data.parquet'", "files or URLs"),
        ("select * from t join (select * from glob('/*')) g on true", "glob"),
    ],
)
def test_read_only_refuses_writes_and_file_access(sql: str, reason: str) -> None:
    with pytest.raises(Forbidden, match=reason):
        check_read_only(sql)


def test_admins_may_write(runner: QueryRunner) -> None:
    runner.run("create table u as select 1 as a", "root", admin=True, timeout_s=5)
    assert runner.run("select * from u", "v", admin=False, timeout_s=5).num_rows == 1
    with pytest.raises(Forbidden):
        runner.run("drop table u", "v", admin=False, timeout_s=5)


def test_statement_timeout(runner: QueryRunner) -> None:
    started = time.monotonic()
    with pytest.raises(Invalid, match="timeout"):
        runner.run(ENDLESS, "v", admin=False, timeout_s=0.3)
    assert time.monotonic() - started < 10


def test_cancel_by_owner_only(runner: QueryRunner) -> None:
    def cancel_soon() -> None:
        time.sleep(0.3)
        with pytest.raises(NotFound):
            runner.cancel("query-1", "someone-else", admin=False)
        runner.cancel("query-1", "ada", admin=False)

    thread = threading.Thread(target=cancel_soon)
    thread.start()
    with pytest.raises(Invalid, match="cancelled"):
        runner.run(ENDLESS, "ada", admin=False, timeout_s=60, query_id="query-1")
    thread.join()
    with pytest.raises(NotFound):
        runner.cancel("query-1", "ada", admin=False)


def test_errors_are_invalid(runner: QueryRunner) -> None:
    with pytest.raises(Invalid, match="rejected"):
        runner.run("select * from missing", "root", admin=True, timeout_s=5)
    with pytest.raises(Invalid, match="empty"):
        runner.run("  ", "root", admin=True, timeout_s=5)


def test_limit_is_applied_inside_duckdb(runner: QueryRunner) -> None:
    table = runner.run("select * from range(100000000)", "v", admin=False, timeout_s=5, limit=3)
    assert table.num_rows == 3
