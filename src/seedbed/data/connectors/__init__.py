"""External sources — PostgreSQL, SQLite files, folders of Parquet/CSV — browsed, queried through
DuckDB and snapshotted as Arrow streams."""

from seedbed.data.connectors.base import DEFAULT_BATCH_ROWS, Column, Connector, TableRef
from seedbed.data.connectors.factory import FIELDS, KINDS, make_connector
from seedbed.data.connectors.files import FilesConnector
from seedbed.data.connectors.postgres import PostgresConnector
from seedbed.data.connectors.sqlite import SqliteConnector

__all__ = [
    "DEFAULT_BATCH_ROWS",
    "FIELDS",
    "KINDS",
    "Column",
    "Connector",
    "FilesConnector",
    "PostgresConnector",
    "SqliteConnector",
    "TableRef",
    "make_connector",
]
