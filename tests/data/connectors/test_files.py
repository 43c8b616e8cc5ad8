"""The files connector over real Parquet and CSV files, on disk and in an fsspec filesystem."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import duckdb
import fsspec
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from seedbed.data.connectors import FilesConnector, TableRef, make_connector
from seedbed.errors import Invalid, NotFound

SCORE_ROWS = 20_000


def write_folder(fs: fsspec.AbstractFileSystem, root: str) -> None:
    """people.csv, scores.parquet and events/ (Parquet parts partitioned by year)."""
    with fs.open(f"{root}/people.csv", "w") as handle:
        handle.write("id,name,team\n1,Ada,red\n2,Grace,blue\n3,Edsger,red\n")
    scores = pa.table(
        {"person_id": [1 + i % 3 for i in range(SCORE_ROWS)], "score": list(range(SCORE_ROWS))}
    )
    with fs.open(f"{root}/scores.parquet", "wb") as handle:
        pq.write_table(scores, handle, row_group_size=2_000)
    for year, person_ids in ((2023, [1, 2]), (2024, [3])):
        fs.makedirs(f"{root}/events/year={year}", exist_ok=True)
        with fs.open(f"{root}/events/year={year}/part-0.parquet", "wb") as handle:
            pq.write_table(pa.table({"person_id": person_ids}), handle)
    with fs.open(f"{root}/events/_SUCCESS", "w") as handle:
        handle.write("")
    with fs.open(f"{root}/README.txt", "w") as handle:
        handle.write("not a table")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "lake"
    root.mkdir()
    write_folder(fsspec.filesystem("file"), str(root))
    return root


@pytest.fixture
def memory_url() -> Iterator[str]:
    fs = fsspec.filesystem("memory")
    root = f"/lake-{uuid.uuid4().hex[:8]}"
    write_folder(fs, root)
    yield f"memory://{root}"
    fs.rm(root, recursive=True)


@pytest.fixture
def warehouse(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    connection.execute(
        "create table teams as select * from (values ('red', 'R'), ('blue', 'B')) t(team, code)"
    )
    yield connection
    connection.close()


def test_each_file_and_each_folder_of_parts_is_a_table(folder: Path) -> None:
    assert FilesConnector(str(folder)).list_tables() == [
        TableRef("main", "events"),
        TableRef("main", "people"),
        TableRef("main", "scores"),
    ]


def test_describes_csv_parquet_and_partition_columns(folder: Path) -> None:
    connector = FilesConnector(str(folder))

    assert connector.describe("people") == [
        ("id", "BIGINT"),
        ("name", "VARCHAR"),
        ("team", "VARCHAR"),
    ]
    assert connector.describe("events") == [("person_id", "BIGINT"), ("year", "BIGINT")]


def test_attached_files_join_with_local_tables(
    folder: Path, warehouse: duckdb.DuckDBPyConnection
) -> None:
    FilesConnector(str(folder)).attach(warehouse, "lake")

    rows = warehouse.sql(
        "select p.name, t.code, e.year from lake.main.events e "
        "join lake.main.people p on p.id = e.person_id "
        "join teams t on t.team = p.team order by p.id"
    ).fetchall()

    assert rows == [("Ada", "R", 2023), ("Grace", "B", 2023), ("Edsger", "R", 2024)]


def test_read_streams_a_parquet_table(folder: Path) -> None:
    reader = FilesConnector(str(folder)).read(TableRef("main", "scores"), batch_size=1_000)

    batches = list(reader)

    assert len(batches) > 1
    assert sum(batch.num_rows for batch in batches) == SCORE_ROWS


def test_read_runs_a_query_over_several_files(folder: Path) -> None:
    table = (
        FilesConnector(str(folder))
        .read(
            "select p.name, count(*) as n from scores s join people p on p.id = s.person_id "
            "group by p.name order by p.name"
        )
        .read_all()
    )

    assert table.to_pylist() == [
        {"name": "Ada", "n": 6667},
        {"name": "Edsger", "n": 6666},
        {"name": "Grace", "n": 6667},
    ]


def test_same_named_files_get_distinct_tables(folder: Path) -> None:
    (folder / "scores.csv").write_text("a\n1\n")

    names = [table.name for table in FilesConnector(str(folder)).list_tables()]

    assert names == ["events", "people", "scores_csv", "scores_parquet"]


def test_an_empty_folder_says_so(tmp_path: Path) -> None:
    connector = FilesConnector(str(tmp_path))

    assert connector.list_tables() == []
    with pytest.raises(Invalid, match="holds no Parquet or CSV files"):
        connector.test()


def test_a_missing_folder_is_named(tmp_path: Path) -> None:
    with pytest.raises(Invalid, match=f"No folder at {tmp_path / 'nope'}"):
        FilesConnector(str(tmp_path / "nope")).test()


def test_a_file_is_not_a_folder(folder: Path) -> None:
    with pytest.raises(Invalid, match="is a file: give the folder"):
        FilesConnector(str(folder / "people.csv")).test()


def test_a_broken_file_is_named_and_leaves_nothing_attached(
    folder: Path, warehouse: duckdb.DuckDBPyConnection
) -> None:
    (folder / "broken.parquet").write_bytes(b"PAR1 this is not parquet")

    with pytest.raises(Invalid, match=r"Cannot read the files under .*broken\.parquet"):
        FilesConnector(str(folder)).attach(warehouse, "lake")
    assert warehouse.sql(
        "select count(*) from duckdb_databases() where database_name = 'lake'"
    ).fetchall() == [(0,)]


def test_relative_paths_and_unknown_protocols_are_refused() -> None:
    with pytest.raises(Invalid, match="absolute path or a URL"):
        FilesConnector("lake")
    with pytest.raises(Invalid, match="Protocol not known: nope"):
        FilesConnector("nope://bucket/lake")


def test_file_urls_work_like_paths(folder: Path) -> None:
    connector = FilesConnector(f"file://{folder}")

    assert [table.name for table in connector.list_tables()] == ["events", "people", "scores"]
    assert connector.read("select count(*) as n from events").read_all().to_pylist() == [{"n": 3}]


def test_an_fsspec_memory_folder_is_browsed_attached_and_read(
    memory_url: str, warehouse: duckdb.DuckDBPyConnection
) -> None:
    connector = make_connector("files", {"path": memory_url}, None)
    connector.test()

    connector.attach(warehouse, "mem")
    rows = warehouse.sql(
        "select e.year, count(*) from mem.main.events e "
        "join mem.main.people p on p.id = e.person_id "
        "group by e.year order by e.year"
    ).fetchall()

    assert connector.list_tables() == [
        TableRef("main", "events"),
        TableRef("main", "people"),
        TableRef("main", "scores"),
    ]
    assert rows == [(2023, 2), (2024, 1)]
    assert sum(b.num_rows for b in connector.read(TableRef("main", "scores"))) == SCORE_ROWS


def test_describing_a_missing_file_table_is_not_found(folder: Path) -> None:
    with pytest.raises(NotFound, match=r"no table main\.nope"):
        FilesConnector(str(folder)).describe("nope")
