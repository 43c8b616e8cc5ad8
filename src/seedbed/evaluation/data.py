"""An evaluation's data: loaded through the SDK, sampled, given its derived features, split
into train and test, and cut into cross-validation folds.

Every combination of one spec runs in its own job and calls `prepare` with the same spec, so
sampling, the split and the folds are seeded and depend only on the rows: each combination
sees identical folds, and differences between combinations can be paired fold by fold.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from seedbed.errors import Invalid
from seedbed.evaluation.spec import Derived, EvaluationSpec

ROW_COLUMN = "__seedbed_row"
Fold = tuple[np.ndarray, np.ndarray]  # positions into the train part: (fit, validate)


@dataclass
class Prepared:
    """The rows of one evaluation, split; positions index `frame`'s rows."""

    frame: pd.DataFrame
    train: np.ndarray
    test: np.ndarray
    folds: list[Fold]  # positions into `train`

    def part(self, positions: np.ndarray) -> pd.DataFrame:
        return self.frame.iloc[positions]


def load_frame(ws: Any, spec: EvaluationSpec) -> tuple[pd.DataFrame, list[str]]:
    """The spec's rows as pandas (a dataset version or a feature-store training set) and the
    dataset versions they came from."""
    if spec.dataset is not None:
        name, version = _name_version(spec.dataset)
        frame = ws.datasets.read(name, version)
        return frame, [spec.dataset]
    source = spec.training_set
    assert source is not None  # the spec holds one of the two
    frame = ws.features.training_set(
        source.entity_rows,
        source.features,
        label=spec.target,
        timestamp=source.timestamp,
        save=False,
    )
    return frame, [source.entity_rows]


def _name_version(reference: str) -> tuple[str, int | None]:
    name, at, version = reference.partition("@")
    if at and not version.isdigit():
        raise Invalid(f"Dataset {reference!r}: write NAME or NAME@VERSION (a number).")
    return name, int(version) if at else None


def sample_rows(frame: pd.DataFrame, max_rows: int | None, seed: int) -> pd.DataFrame:
    """At most `max_rows` rows, chosen with `seed`, in their original order."""
    if max_rows is None or len(frame) <= max_rows:
        return frame.reset_index(drop=True)
    chosen = np.sort(np.random.default_rng(seed).choice(len(frame), max_rows, replace=False))
    return frame.iloc[chosen].reset_index(drop=True)


def add_derived(frame: pd.DataFrame, derived: list[Derived]) -> pd.DataFrame:
    """`frame` with each derived feature's SQL expression computed by DuckDB as a column."""
    if not derived:
        return frame
    import duckdb

    clash = [d.name for d in derived if d.name in frame.columns]
    if clash:
        raise Invalid(f"Derived features {clash} have the names of existing columns; rename them.")
    rows = frame.assign(**{ROW_COLUMN: np.arange(len(frame))})
    result = frame.copy()
    with duckdb.connect(config={"enable_external_access": False}) as connection:
        connection.register("rows", rows)
        for item in derived:
            try:
                values = connection.execute(
                    f'SELECT ({item.sql}) AS value FROM "rows" ORDER BY "{ROW_COLUMN}"'
                ).df()["value"]
            except duckdb.Error as exc:
                reason = str(exc).splitlines()[0]
                raise Invalid(
                    f"Derived feature {item.name!r} ({item.sql}) failed: {reason}. Columns: "
                    f"{', '.join(map(str, frame.columns))}."
                ) from exc
            result[item.name] = values.to_numpy()
    return result


def feature_items(spec: EvaluationSpec, feature_set: str) -> tuple[list[str], list[Derived]]:
    """A feature set's column names (derived ones included, in order) and its derived items."""
    if feature_set not in spec.feature_sets:
        raise Invalid(
            f"No feature set {feature_set!r}; the spec has {', '.join(spec.feature_sets)}."
        )
    names: list[str] = []
    derived: list[Derived] = []
    for item in spec.feature_sets[feature_set]:
        if isinstance(item, Derived):
            derived.append(item)
            names.append(item.name)
        else:
            names.append(item)
    return names, derived


def check_columns(frame: pd.DataFrame, spec: EvaluationSpec, features: list[str]) -> None:
    """Invalid naming each missing column (target, features, split column, slices) and what
    the data has."""
    columns = set(map(str, frame.columns))
    problems = []
    if spec.target and spec.target not in columns:
        problems.append(f"the target {spec.target!r}")
    missing = [f for f in features if f not in columns]
    if missing:
        problems.append(f"features {missing}")
    if spec.split.column and spec.split.column not in columns:
        problems.append(f"the {spec.split.kind} split column {spec.split.column!r}")
    missing_slices = [s for s in spec.slices if s not in columns]
    if missing_slices:
        problems.append(f"slice columns {missing_slices}")
    if problems:
        raise Invalid(
            f"The data lacks {'; '.join(problems)}. Its columns are: "
            f"{', '.join(map(str, frame.columns))}."
        )
    if spec.target and spec.target in features:
        raise Invalid(f"The target {spec.target!r} is listed as a feature; remove it.")


def split_rows(frame: pd.DataFrame, spec: EvaluationSpec) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the train and test rows (random, time or group split)."""
    split = spec.split
    n = len(frame)
    n_test = round(n * split.test_size)
    if n_test < 1 or n - n_test < spec.cv_folds:
        raise Invalid(
            f"{n} rows are too few for a test part of {split.test_size:.0%} and "
            f"{spec.cv_folds}-fold cross-validation."
        )
    if split.kind == "time":
        assert split.column is not None
        times = frame[split.column]
        if times.isna().any():
            raise Invalid(f"The time split column {split.column!r} has empty values.")
        order = np.argsort(times.to_numpy(), kind="stable")
        return np.sort(order[: n - n_test]), np.sort(order[n - n_test :])
    if split.kind == "group":
        from sklearn.model_selection import GroupShuffleSplit

        assert split.column is not None
        groups = frame[split.column].astype(str).to_numpy()
        if len(np.unique(groups)) < spec.cv_folds + 1:
            raise Invalid(
                f"The group column {split.column!r} has {len(np.unique(groups))} groups; a "
                f"group split with {spec.cv_folds} folds needs at least {spec.cv_folds + 1}."
            )
        splitter = GroupShuffleSplit(1, test_size=split.test_size, random_state=split.seed)
        train, test = next(splitter.split(np.zeros(n), groups=groups))
        return np.sort(train), np.sort(test)
    from sklearn.model_selection import train_test_split

    positions = np.arange(n)
    stratify = None
    if spec.task == "classification" and spec.target:
        labels = frame[spec.target].to_numpy()
        _check_class_counts(frame[spec.target], 2, "a stratified train/test split")
        stratify = labels
    train, test = train_test_split(
        positions, test_size=n_test, random_state=split.seed, stratify=stratify
    )
    return np.sort(train), np.sort(test)


def cv_folds(train: pd.DataFrame, spec: EvaluationSpec) -> list[Fold]:
    """The folds over the train part: stratified for classification, forward-chaining for a
    time split, whole groups for a group split; seeded, so the same for every combination."""
    from sklearn.model_selection import GroupKFold, KFold, StratifiedKFold, TimeSeriesSplit

    k = spec.cv_folds
    split = spec.split
    positions = np.zeros(len(train))
    if split.kind == "time":
        assert split.column is not None
        order = np.argsort(train[split.column].to_numpy(), kind="stable")
        return [(order[a], order[b]) for a, b in TimeSeriesSplit(k).split(positions)]
    if split.kind == "group":
        assert split.column is not None
        groups = train[split.column].astype(str).to_numpy()
        if len(np.unique(groups)) < k:
            raise Invalid(
                f"The training part has {len(np.unique(groups))} groups of {split.column!r}; "
                f"{k}-fold cross-validation needs at least {k}. Lower cv_folds or test_size."
            )
        return list(GroupKFold(k).split(positions, groups=groups))
    if spec.task == "classification" and spec.target:
        _check_class_counts(train[spec.target], k, f"{k}-fold cross-validation")
        stratified = StratifiedKFold(k, shuffle=True, random_state=split.seed)
        return list(stratified.split(positions, train[spec.target].to_numpy()))
    return list(KFold(k, shuffle=True, random_state=split.seed).split(positions))


def _check_class_counts(labels: pd.Series, needed: int, purpose: str) -> None:
    counts = labels.value_counts()
    if len(counts) < 2:
        raise Invalid(
            f"The target {labels.name!r} has a single class ({counts.index[0]!r} in "
            f"{int(counts.iloc[0])} rows); classification needs at least two."
        )
    few = counts[counts < needed]
    if len(few):
        shown = ", ".join(f"{value!r}: {int(count)} rows" for value, count in few.items())
        raise Invalid(
            f"Too few rows in a class of {labels.name!r} for {purpose}: {shown}; each class "
            f"needs at least {needed}. Lower cv_folds, add rows, or merge rare classes."
        )


def prepare(
    frame: pd.DataFrame, spec: EvaluationSpec, features: list[str], derived: list[Derived]
) -> Prepared:
    """Sample, check, derive and split.

    Rows without a target are dropped first. The split and folds depend only on the raw
    rows and the spec, never on the feature set, so every combination shares them.
    """
    frame = sample_rows(frame, spec.max_rows, spec.split.seed)
    raw_features = [f for f in features if f not in {d.name for d in derived}]
    check_columns(frame, spec, raw_features)
    if spec.target:
        frame = frame[frame[spec.target].notna()].reset_index(drop=True)
    frame = add_derived(frame, derived)
    train, test = split_rows(frame, spec)
    return Prepared(frame, train, test, cv_folds(frame.iloc[train], spec))


def model_inputs(frame: pd.DataFrame) -> pd.DataFrame:
    """Feature columns as estimators take them: datetimes become seconds since the epoch."""
    converted = {}
    for name in frame.columns:
        series = frame[name]
        if pd.api.types.is_datetime64_any_dtype(series):
            if getattr(series.dt, "tz", None) is not None:
                series = series.dt.tz_convert(None)
            seconds = series.astype("datetime64[us]").astype("int64") / 1e6
            converted[name] = seconds.where(series.notna())
    return frame.assign(**converted) if converted else frame
