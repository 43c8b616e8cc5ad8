from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from seedbed.data.warehouse import Warehouse
from seedbed.errors import Invalid, NotFound


@pytest.fixture
def warehouse(tmp_path: Path) -> Warehouse:
    store = Warehouse(tmp_path / "w.duckdb")
    store.load_dataframe("people", pd.DataFrame({"name": ["a", "b", None], "age": [1, 2, 3]}))
    return store


def test_tables_and_schema(warehouse: Warehouse) -> None:
    assert warehouse.table_names() == ["people"]
    info = warehouse.describe("people")
    assert info.rows == 3
    assert [(c.name, c.type) for c in info.columns] == [("name", "VARCHAR"), ("age", "BIGINT")]


def test_head_and_query_return_arrow(warehouse: Warehouse) -> None:
    assert warehouse.head("people", 2).num_rows == 2
    result = warehouse.query("select sum(age) as total from people")
    assert result.column("total").to_pylist() == [6]


def test_replacing_a_table(warehouse: Warehouse) -> None:
    warehouse.load_dataframe("people", pd.DataFrame({"x": [1]}))
    assert warehouse.describe("people").rows == 1


def test_errors_name_the_problem(warehouse: Warehouse) -> None:
    with pytest.raises(NotFound, match="Tables: people"):
        warehouse.describe("nope")
    with pytest.raises(Invalid, match="rejected"):
        warehouse.query("select * from nope")
    with pytest.raises(Invalid, match="empty"):
        warehouse.query("  ")
    with pytest.raises(NotFound):
        warehouse.head('people" ; drop table people; --')
    assert warehouse.has_table("people")


def test_a_second_process_cannot_open_the_file(warehouse: Warehouse) -> None:
    import subprocess
    import sys

    code = (
        "from pathlib import Path; from seedbed.data.warehouse import Warehouse; "
        f"Warehouse(Path({str(warehouse.path)!r}))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode != 0 and "another seedbed process" in result.stderr
