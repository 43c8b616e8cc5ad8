"""Reviewers' feedback on predictions: record a verdict, list and summarise the verdicts
(agreement per day, version and segment). feedback_export turns them into a dataset version."""

from __future__ import annotations

import datetime as dt
import json
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Select, func, select

from seedbed.apps.predictions import Prediction, predict
from seedbed.apps.tables import feedback
from seedbed.auth import audit
from seedbed.db import now_ms
from seedbed.errors import Invalid
from seedbed.registry.loading import LoadedModel
from seedbed.registry.models import get_model, get_version
from seedbed.workspace import Workspace

MAX_COMMENT = 5000
MAX_LABEL = 1000
MAX_REVIEWER = 200
MAX_JSON = 100_000
MAX_LIMIT = 1000
VIAS = ("user", "share")
DAY_MS = 86_400_000


@dataclass(frozen=True)
class FeedbackItem:
    id: int
    model_name: str
    version: int
    inputs: dict[str, Any]
    prediction: dict[str, Any]  # {"prediction": ..., "probabilities": {...} | None}
    correct: bool | None
    label: str | None
    comment: str
    reviewer: str
    via: str
    share_link_id: str | None
    created_at: int


@dataclass(frozen=True)
class FeedbackFilter:
    """Which items to look at; every field left None matches all."""

    version: int | None = None
    reviewer: str | None = None
    correct: bool | None = None
    since: int | None = None  # epoch ms, inclusive
    until: int | None = None  # epoch ms, exclusive
    segment: str | None = None  # an input column …
    value: str | None = None  # … and the value it must have (compared as text)


@dataclass(frozen=True)
class FeedbackPage:
    items: list[FeedbackItem]
    total: int
    limit: int
    offset: int


@dataclass(frozen=True)
class Agreement:
    key: str  # a day (YYYY-MM-DD), a segment value or a version number
    total: int
    with_verdict: int
    correct: int
    agreement: float | None  # share marked correct among those with a verdict


@dataclass(frozen=True)
class FeedbackSummary:
    model_name: str
    total: int
    with_verdict: int
    correct: int
    wrong: int
    agreement: float | None
    reviewers: int
    columns: list[str]  # input columns seen, for segment choices
    segment: str | None  # the column `by_segment` groups by
    by_day: list[Agreement] = field(default_factory=list)
    by_segment: list[Agreement] = field(default_factory=list)
    by_version: list[Agreement] = field(default_factory=list)


def _check_json(value: Any, what: str) -> str:
    try:
        text = json.dumps(value, allow_nan=False, default=_json_default)
    except (TypeError, ValueError) as exc:
        raise Invalid(f"{what} must be plain JSON values ({exc}).") from exc
    if len(text) > MAX_JSON:
        raise Invalid(f"{what} is too large ({len(text):,} characters; at most {MAX_JSON:,}).")
    return text


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dt.datetime | dt.date | pd.Timestamp):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


def _consistent(
    prediction: Mapping[str, Any], correct: bool | None, label: str | None
) -> bool | None:
    """The verdict, checked against the label: a label equal to the prediction means right."""
    if label is None:
        return correct
    predicted = str(prediction.get("prediction"))
    if correct is True and label != predicted:
        raise Invalid(
            f"The prediction was marked right, but the correct label given ({label!r}) differs "
            f"from the prediction ({predicted!r}); mark it wrong or leave the label empty."
        )
    if correct is False and label == predicted:
        raise Invalid(
            f"The prediction was marked wrong, but the correct label given is the prediction "
            f"itself ({predicted!r}); give the right label or mark it right."
        )
    return label == predicted if correct is None else correct


def record(
    workspace: Workspace,
    *,
    model_name: str,
    version: int,
    inputs: dict[str, Any],
    prediction: dict[str, Any],
    correct: bool | None,
    label: str | None,
    comment: str,
    reviewer: str,
    via: str = "user",
    share_link_id: str | None = None,
) -> FeedbackItem:
    """Store one reviewer's verdict on one prediction of a model version."""
    reviewer = (reviewer or "").strip()
    if not reviewer:
        raise Invalid("Give the reviewer's name: feedback is kept with who gave it.")
    if len(reviewer) > MAX_REVIEWER:
        raise Invalid(f"The reviewer's name is too long (at most {MAX_REVIEWER} characters).")
    comment = (comment or "").strip()
    if len(comment) > MAX_COMMENT:
        raise Invalid(
            f"The comment is too long ({len(comment):,} characters; at most {MAX_COMMENT:,})."
        )
    label = (label or "").strip() or None
    if label is not None and len(label) > MAX_LABEL:
        raise Invalid(f"The correct label is too long (at most {MAX_LABEL} characters).")
    if via not in VIAS:
        raise Invalid(f"via must be one of {', '.join(VIAS)}, not {via!r}.")
    if via == "share" and not share_link_id:
        raise Invalid("Feedback given through a share link must name the link.")
    if not isinstance(inputs, Mapping) or not inputs:
        raise Invalid("inputs must be an object of field: value pairs, the row that was scored.")
    if not isinstance(prediction, Mapping) or "prediction" not in prediction:
        raise Invalid(
            'prediction must be an object such as {"prediction": 1, "probabilities": {...}}.'
        )
    probabilities = prediction.get("probabilities")
    if probabilities is not None and (
        not isinstance(probabilities, Mapping)
        or not all(
            isinstance(p, int | float) and not isinstance(p, bool) and 0 <= p <= 1
            for p in probabilities.values()
        )
    ):
        raise Invalid(
            "prediction.probabilities must be an object of class: probability pairs, each a "
            "number from 0 to 1."
        )
    if correct is not None and not isinstance(correct, bool):
        raise Invalid("correct must be true, false or null (no verdict).")
    correct = _consistent(prediction, correct, label)
    if correct is None and not comment:
        raise Invalid(
            "Nothing to record: mark the prediction right or wrong, give the correct label "
            "or write a comment."
        )
    get_version(workspace, model_name, version)  # NotFound names what is missing
    stored_prediction = {"prediction": prediction["prediction"], "probabilities": probabilities}
    values = {
        "model_name": model_name,
        "version": version,
        "inputs": _check_json(dict(inputs), "inputs"),
        "prediction": _check_json(stored_prediction, "prediction"),
        "correct": correct,
        "label": label,
        "comment": comment,
        "reviewer": reviewer,
        "via": via,
        "share_link_id": share_link_id if via == "share" else None,
        "created_at": now_ms(),
    }
    with workspace.engine.begin() as connection:
        inserted = connection.execute(feedback.insert().values(**values))
        new_id = inserted.inserted_primary_key[0]  # type: ignore[index]
        audit.append(
            connection,
            reviewer if via == "user" else None,  # a share-link visitor is no user
            "feedback.record",
            f"{model_name}/{version}",
            via=via,
            reviewer=reviewer,
            correct=correct,
        )
    return _item({**values, "id": new_id})


def _item(row: Mapping[Any, Any]) -> FeedbackItem:
    return FeedbackItem(
        id=int(row["id"]),
        model_name=row["model_name"],
        version=int(row["version"]),
        inputs=json.loads(row["inputs"]),
        prediction=json.loads(row["prediction"]),
        correct=row["correct"],
        label=row["label"],
        comment=row["comment"],
        reviewer=row["reviewer"],
        via=row["via"],
        share_link_id=row["share_link_id"],
        created_at=int(row["created_at"]),
    )


def _query(model_name: str, where: FeedbackFilter) -> Select[Any]:
    query = select(feedback).where(feedback.c.model_name == model_name)
    if where.version is not None:
        query = query.where(feedback.c.version == where.version)
    if where.reviewer:
        query = query.where(feedback.c.reviewer == where.reviewer)
    if where.correct is not None:
        query = query.where(feedback.c.correct.is_(where.correct))
    if where.since is not None:
        query = query.where(feedback.c.created_at >= where.since)
    if where.until is not None:
        query = query.where(feedback.c.created_at < where.until)
    return query


def segment_text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "(missing)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # "12" from a form and 12.0 from the API are one segment
    return str(value)


def _matches(item: FeedbackItem, where: FeedbackFilter) -> bool:
    if not where.segment or where.value is None:
        return True
    return segment_text(item.inputs.get(where.segment)) == where.value


def _check_filter(where: FeedbackFilter) -> None:
    if where.value is not None and not where.segment:
        raise Invalid("A segment value needs a segment column: give both (e.g. carrier = UA).")
    if where.since is not None and where.until is not None and where.until <= where.since:
        raise Invalid("The date range is empty: 'until' must come after 'since'.")


def select_items(
    workspace: Workspace, model_name: str, where: FeedbackFilter
) -> list[FeedbackItem]:
    get_model(workspace, model_name)
    _check_filter(where)
    query = _query(model_name, where).order_by(feedback.c.created_at.desc(), feedback.c.id.desc())
    with workspace.engine.connect() as connection:
        rows = connection.execute(query).mappings().all()
    return [item for item in map(_item, rows) if _matches(item, where)]


def list_feedback(
    workspace: Workspace,
    model_name: str,
    where: FeedbackFilter | None = None,
    *,
    limit: int = 100,
    offset: int = 0,
) -> FeedbackPage:
    """Feedback on a model, newest first, filtered and paged."""
    where = where or FeedbackFilter()
    if not 1 <= limit <= MAX_LIMIT:
        raise Invalid(f"limit must be between 1 and {MAX_LIMIT}.")
    if offset < 0:
        raise Invalid("offset must be 0 or more.")
    if where.segment and where.value is not None:
        found = select_items(
            workspace, model_name, where
        )  # a JSON field: filtered here, not in SQL
        return FeedbackPage(found[offset : offset + limit], len(found), limit, offset)
    get_model(workspace, model_name)
    _check_filter(where)
    query = _query(model_name, where)
    with workspace.engine.connect() as connection:
        total = connection.execute(select(func.count()).select_from(query.subquery())).scalar_one()
        rows = (
            connection.execute(
                query.order_by(feedback.c.created_at.desc(), feedback.c.id.desc())
                .limit(limit)
                .offset(offset)
            )
            .mappings()
            .all()
        )
    return FeedbackPage([_item(r) for r in rows], int(total), limit, offset)


def _agreement(key: str, items: Iterable[FeedbackItem]) -> Agreement:
    listed = list(items)
    judged = [i for i in listed if i.correct is not None]
    right = sum(1 for i in judged if i.correct)
    share = right / len(judged) if judged else None
    return Agreement(key, len(listed), len(judged), right, share)


def _day(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC).strftime("%Y-%m-%d")


def default_segment(items: Iterable[FeedbackItem]) -> str | None:
    """The first input column holding text with few distinct values (carrier, origin)."""
    seen: dict[str, set[str]] = defaultdict(set)
    numeric: set[str] = set()
    for item in items:
        for key, value in item.inputs.items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                numeric.add(key)
            seen[key].add(segment_text(value))
    for key, values in seen.items():
        if key not in numeric and 1 <= len(values) <= 30:
            return key
    return next(iter(seen), None)


def summary(
    workspace: Workspace,
    model_name: str,
    where: FeedbackFilter | None = None,
    *,
    by: str | None = None,
) -> FeedbackSummary:
    """Counts and agreement (share marked right among those with a verdict), per day, per
    model version and per value of one input column (`by`, else a text column such as carrier)."""
    where = where or FeedbackFilter()
    items = select_items(workspace, model_name, where)
    columns = sorted({key for item in items for key in item.inputs})
    if by and items and by not in columns:
        raise Invalid(f"No input column named {by!r}; the inputs have {', '.join(columns)}.")
    segment = by or default_segment(items)
    overall = _agreement("all", items)
    days: dict[str, list[FeedbackItem]] = defaultdict(list)
    versions: dict[int, list[FeedbackItem]] = defaultdict(list)
    segments: dict[str, list[FeedbackItem]] = defaultdict(list)
    for item in items:
        days[_day(item.created_at)].append(item)
        versions[item.version].append(item)
        if segment:
            segments[segment_text(item.inputs.get(segment))].append(item)
    biggest = sorted(segments, key=lambda k: (-len(segments[k]), k))[:30]
    return FeedbackSummary(
        model_name=model_name,
        total=overall.total,
        with_verdict=overall.with_verdict,
        correct=overall.correct,
        wrong=overall.with_verdict - overall.correct,
        agreement=overall.agreement,
        reviewers=len({i.reviewer for i in items}),
        columns=columns,
        segment=segment,
        by_day=[_agreement(d, days[d]) for d in sorted(days)],
        by_segment=[_agreement(k, segments[k]) for k in sorted(biggest)],
        by_version=[_agreement(str(v), versions[v]) for v in sorted(versions)],
    )


def parse_day(text: str | None, what: str, end: bool = False) -> int | None:
    """A YYYY-MM-DD date (UTC) as epoch ms; with `end`, the start of the next day."""
    if not text:
        return None
    try:
        day = dt.date.fromisoformat(text.strip())
    except ValueError as exc:
        raise Invalid(f"{what} must be a date such as 2026-05-31, not {text!r}.") from exc
    start = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
    return int(start.timestamp() * 1000) + (DAY_MS if end else 0)


def parse_verdict(text: str | None) -> bool | None:
    """ "right" / "wrong" (also yes/no, true/false) as a verdict; empty or "any" as None."""
    value = (text or "").strip().lower()
    if value in ("", "any"):
        return None
    if value in ("right", "yes", "true", "correct"):
        return True
    if value in ("wrong", "no", "false", "incorrect"):
        return False
    raise Invalid(f"The verdict must be right or wrong (or empty for any), not {text!r}.")


def scored(model: LoadedModel, values: Mapping[str, Any]) -> tuple[dict[str, Any], Prediction]:
    """Score a form's row again and type its values, so what is stored is what the model
    says (not what a browser sent back) and numbers export as numbers."""
    result = predict(model, [values])[0]
    typed: dict[str, Any] = {}
    for column in model.inputs:
        value = values.get(column.name)
        text = "" if value is None else str(value).strip()
        if column.type in ("double", "long") and isinstance(value, str):
            typed[column.name] = None if text == "" else float(text)
            if column.type == "long" and typed[column.name] is not None:
                typed[column.name] = int(typed[column.name])
        elif column.type == "boolean" and isinstance(value, str):
            typed[column.name] = text.lower() in ("true", "1", "yes", "on")
        else:
            typed[column.name] = value
    return typed, result
