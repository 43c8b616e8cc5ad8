"""The runs table of an experiment: one page of runs, its columns, sorting and differences.

The table's whole state is a `TableView` that reads from and writes to a URL query
string, so a link or the back button shows the same table again. Runs come from
`search.search_runs` (the MLflow filter grammar, its ordering and its page tokens).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import func, select

from seedbed.errors import Invalid
from seedbed.tracking.experiments import Experiment, get_experiment, list_experiments
from seedbed.tracking.filters import parse_filter
from seedbed.tracking.runs import Run
from seedbed.tracking.search import (
    decode_page_token,
    encode_page_token,
    filter_condition,
    search_runs,
)
from seedbed.tracking.tables import latest_metrics, run_params, run_tags, runs
from seedbed.workspace import Workspace

PAGE_SIZES = (50, 100, 500)
# Columns every table shows, as (filter-grammar name, heading).
ATTRIBUTES = (
    ("attributes.run_name", "Run"),
    ("attributes.status", "Status"),
    ("attributes.user_id", "User"),
    ("attributes.start_time", "Started"),
)
_KINDS = {"params": run_params, "metrics": latest_metrics, "tags": run_tags}
KIND_ORDER = ("attributes", "metrics", "params", "tags")  # how the table groups its columns
# A column chooser lists at most this many keys of a kind; experiments rarely have more.
MAX_KEYS = 500


@dataclass(frozen=True)
class Column:
    """A column of the table: `kind` is attributes, params, metrics or tags."""

    kind: str
    key: str

    @property
    def name(self) -> str:
        """The column as the URL names it: `params.alpha`."""
        return f"{self.kind}.{self.key}"

    @property
    def sort_key(self) -> str:
        """The column in the filter grammar; quoted, since keys may hold dots or spaces."""
        return f"{self.kind}.`{self.key}`"

    @property
    def label(self) -> str:
        return dict(ATTRIBUTES).get(self.name, self.key)

    @property
    def numeric(self) -> bool:
        return self.kind == "metrics"

    def value(self, run: Run) -> Any:
        """What the run holds in this column; None when it has nothing there."""
        if self.kind == "params":
            return run.params.get(self.key)
        if self.kind == "metrics":
            return run.metrics.get(self.key)
        if self.kind == "tags":
            return run.tags.get(self.key)
        return {
            "run_name": run.name,
            "status": run.status,
            "user_id": run.user,
            "start_time": run.start_time,
        }[self.key]


def parse_column(name: str) -> Column:
    """`params.alpha` → Column("params", "alpha")."""
    kind, dot, key = name.partition(".")
    if not dot or not key or kind not in (*_KINDS, "attributes"):
        raise Invalid(
            f"Column {name!r} is unknown; name one as params.KEY, metrics.KEY or tags.KEY."
        )
    return Column(kind, key)


@dataclass(frozen=True)
class Sort:
    column: Column
    ascending: bool

    @property
    def order_by(self) -> str:
        return f"{self.column.sort_key} {'ASC' if self.ascending else 'DESC'}"

    @property
    def text(self) -> str:
        """How the URL carries it: `metrics.auc desc`."""
        return f"{self.column.name} {'asc' if self.ascending else 'desc'}"


def parse_sort(text: str) -> Sort | None:
    """`metrics.auc desc` → a Sort; an empty text means the default (newest first)."""
    text = text.strip()
    if not text:
        return None
    name, _, direction = text.rpartition(" ")
    if not name:
        name, direction = direction, "asc"
    if direction.lower() not in ("asc", "desc"):
        raise Invalid(f"Sort {text!r} must end in asc or desc, e.g. 'metrics.auc desc'.")
    return Sort(parse_column(name.strip()), direction.lower() == "asc")


@dataclass(frozen=True)
class TableView:
    """What the user asked to see: the URL query string of the runs table, parsed."""

    filter: str = ""
    sort: Sort | None = None
    page_size: int = PAGE_SIZES[0]
    page: str = ""  # a search_runs page token; empty for the first page
    columns: tuple[Column, ...] | None = None  # None: the default choice
    differences_only: bool = False

    @classmethod
    def from_query(cls, query: Mapping[str, Any], columns: Sequence[str]) -> TableView:
        """Read the view from query values (`columns` are the repeated `col` values)."""
        try:
            page_size = int(query.get("page_size") or PAGE_SIZES[0])
        except ValueError:
            page_size = PAGE_SIZES[0]
        chosen = None
        if query.get("chosen"):
            chosen = tuple(parse_column(name) for name in columns if name)
        return cls(
            filter=str(query.get("filter") or "").strip(),
            sort=parse_sort(str(query.get("sort") or "")),
            page_size=page_size if page_size in PAGE_SIZES else PAGE_SIZES[0],
            page=str(query.get("page") or ""),
            columns=chosen,
            differences_only=bool(query.get("diff")),
        )

    def query_string(self, **changes: Any) -> str:
        """This view, with `changes`, as a query string; a new filter or sort starts at page 1."""
        view = replace(self, **changes)
        if "page" not in changes:
            view = replace(view, page="")
        items: list[tuple[str, str]] = []
        if view.filter:
            items.append(("filter", view.filter))
        if view.sort:
            items.append(("sort", view.sort.text))
        if view.page_size != PAGE_SIZES[0]:
            items.append(("page_size", str(view.page_size)))
        if view.page:
            items.append(("page", view.page))
        if view.columns is not None:
            items.append(("chosen", "1"))
            items += [("col", column.name) for column in view.columns]
        if view.differences_only:
            items.append(("diff", "1"))
        return urlencode(items)

    def sorted_by(self, column: Column) -> str:
        """The query string for a click on `column`'s heading: sort by it, or flip it."""
        if self.sort and self.sort.column == column:
            return self.query_string(sort=Sort(column, not self.sort.ascending))
        # Metrics are most often read best-first; names and times from the top.
        return self.query_string(sort=Sort(column, ascending=column.kind != "metrics"))


@dataclass
class RunsTable:
    """One page of runs and everything the page shows around them."""

    experiment: Experiment
    view: TableView
    runs: list[Run] = field(default_factory=list)
    keys: dict[str, list[str]] = field(default_factory=dict)  # kind -> every key in the experiment
    columns: list[Column] = field(default_factory=list)  # the chosen columns that are shown
    hidden_same: list[Column] = field(default_factory=list)  # hidden by differences only
    total: int = 0  # runs that match the filter
    run_count: int = 0  # active runs in the experiment
    offset: int = 0
    next_page: str | None = None  # a page token; None on the last page
    previous_page: str = ""  # a page token; "" is the first page (see `offset`)
    error: str | None = None

    @property
    def attribute_columns(self) -> list[Column]:
        return [parse_column(name) for name, _ in ATTRIBUTES]

    @property
    def column_groups(self) -> list[tuple[str, int]]:
        """Headings over the chosen columns: ("Metrics", 5), ("Params", 10)..."""
        groups: list[tuple[str, int]] = []
        for column in self.columns:
            label = column.kind.capitalize()
            if groups and groups[-1][0] == label:
                groups[-1] = (label, groups[-1][1] + 1)
            else:
                groups.append((label, 1))
        return groups

    @property
    def chosen(self) -> set[str]:
        """Names of the columns the chooser shows as ticked."""
        if self.view.columns is None:
            return {c.name for c in default_columns(self.keys)}
        return {c.name for c in self.view.columns}


def runs_table(workspace: Workspace, experiment_id: int, view: TableView) -> RunsTable:
    """The page of runs `view` asks for. A malformed filter, sort or page token leaves the
    table empty with `error` saying what is wrong (and where, for a filter)."""
    experiment = get_experiment(workspace, experiment_id)
    table = RunsTable(
        experiment=experiment, view=view, keys=experiment_keys(workspace, experiment_id)
    )
    chosen = default_columns(table.keys) if view.columns is None else list(view.columns)
    chosen.sort(key=lambda column: KIND_ORDER.index(column.kind))
    table.columns = chosen
    table.run_count = count_runs(workspace, experiment_id)
    try:
        table.offset = decode_page_token(view.page)
        table.runs, table.next_page = search_runs(
            workspace,
            [experiment_id],
            view.filter,
            max_results=view.page_size,
            order_by=[view.sort.order_by] if view.sort else None,
            page_token=view.page or None,
        )
        table.total = (
            count_runs(workspace, experiment_id, view.filter) if view.filter else table.run_count
        )
    except Invalid as error:
        table.error = str(error)
        return table
    if table.offset > view.page_size:
        table.previous_page = encode_page_token(table.offset - view.page_size)
    if view.differences_only:
        table.columns = [c for c in chosen if c.kind == "tags" or differs(c, table.runs)]
        table.hidden_same = [c for c in chosen if c not in table.columns]
    return table


def default_columns(keys: Mapping[str, Sequence[str]]) -> list[Column]:
    """Without a choice: every metric, then every param; tags only when asked for."""
    return [Column("metrics", k) for k in keys.get("metrics", [])] + [
        Column("params", k) for k in keys.get("params", [])
    ]


def differs(column: Column, shown: Sequence[Run]) -> bool:
    """Whether the runs hold different values in `column` (a missing value counts as one)."""
    values = {_comparable(column.value(run)) for run in shown}
    return len(values) > 1


def _comparable(value: Any) -> Any:
    # NaN never equals itself; two runs that both logged NaN hold the same value.
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    return value


def experiment_keys(workspace: Workspace, experiment_id: int) -> dict[str, list[str]]:
    """Every param, metric and tag key that an active run of the experiment has, sorted."""
    found: dict[str, list[str]] = {}
    with workspace.engine.connect() as connection:
        for kind, table in _KINDS.items():
            # Each distinct key (read off the key index), kept if some run of the experiment
            # has it: ~4 ms on 10k runs, where collecting the keys of every run took ~60 ms.
            keys = select(table.c.key).distinct().subquery("keys")
            held = table.alias("held")
            in_experiment = (
                select(held.c.run_id)
                .join(runs, runs.c.id == held.c.run_id)
                .where(
                    held.c.key == keys.c.key,
                    runs.c.experiment_id == experiment_id,
                    runs.c.lifecycle_stage == "active",
                )
                .exists()
            )
            query = select(keys.c.key).where(in_experiment).order_by(keys.c.key).limit(MAX_KEYS)
            if kind == "tags":
                # MLflow's own bookkeeping tags (mlflow.runName, mlflow.user...) are noise here.
                query = query.where(keys.c.key.not_like("mlflow.%"))
            found[kind] = list(connection.execute(query).scalars())
    return found


def count_runs(workspace: Workspace, experiment_id: int, filter_string: str = "") -> int:
    """How many active runs of the experiment match the filter."""
    query = (
        select(func.count())
        .select_from(runs)
        .where(runs.c.experiment_id == experiment_id, runs.c.lifecycle_stage == "active")
    )
    expr = parse_filter(filter_string)
    if expr is not None:
        query = query.where(filter_condition(expr, workspace.engine.dialect.name))
    with workspace.engine.connect() as connection:
        return int(connection.execute(query).scalar_one())


@dataclass(frozen=True)
class ExperimentSummary:
    experiment: Experiment
    last_run_at: int | None


def experiment_summaries(workspace: Workspace) -> list[ExperimentSummary]:
    """Active experiments, newest first, with run counts and when their latest run started."""
    query = (
        select(runs.c.experiment_id, func.max(runs.c.start_time))
        .where(runs.c.lifecycle_stage == "active")
        .group_by(runs.c.experiment_id)
    )
    with workspace.engine.connect() as connection:
        last = dict(connection.execute(query).tuples().all())
    return [ExperimentSummary(e, last.get(e.id)) for e in list_experiments(workspace)]
