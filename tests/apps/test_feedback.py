"""The feedback service on SQLite and PostgreSQL: record, list with filters, summarise."""

from __future__ import annotations

import pytest

from registry_models import log_small_model
from seedbed.apps import feedback
from seedbed.apps.feedback import FeedbackFilter
from seedbed.apps.tables import feedback as feedback_table
from seedbed.errors import Invalid, NotFound
from seedbed.registry.models import register_version
from seedbed.workspace import Workspace

DAY = 86_400_000
PROBS = {"0": 0.7, "1": 0.3}


@pytest.fixture
def model(workspace: Workspace) -> str:
    register_version(workspace, "small", log_small_model(workspace).id)
    return "small"


def give(workspace: Workspace, *, x: float, site: str, predicted: int, **verdict: object) -> int:
    item = feedback.record(
        workspace,
        model_name="small",
        version=1,
        inputs={"x": x, "n": 2, "site": site},
        prediction={"prediction": predicted, "probabilities": PROBS},
        correct=verdict.get("correct"),  # type: ignore[arg-type]
        label=verdict.get("label"),  # type: ignore[arg-type]
        comment=str(verdict.get("comment", "")),
        reviewer=str(verdict.get("reviewer", "ana")),
    )
    return item.id


def age(workspace: Workspace, item_id: int, days: int) -> None:
    """Move an item `days` back in time (feedback collected over a week)."""
    with workspace.engine.begin() as connection:
        row = (
            connection.execute(feedback_table.select().where(feedback_table.c.id == item_id))
            .mappings()
            .one()
        )
        connection.execute(
            feedback_table.update()
            .where(feedback_table.c.id == item_id)
            .values(created_at=row["created_at"] - days * DAY)
        )


def test_record_list_and_summarise(workspace: Workspace, model: str) -> None:
    first = give(workspace, x=1.0, site="north", predicted=0, correct=True, reviewer="ana")
    second = give(workspace, x=2.0, site="north", predicted=0, correct=False, label="1")
    third = give(workspace, x=3.0, site="south", predicted=1, label="1", reviewer="bo")
    give(workspace, x=4.0, site="south", predicted=1, comment="odd input", reviewer="bo")
    age(workspace, first, 2)
    age(workspace, second, 1)

    page = feedback.list_feedback(workspace, model)
    assert page.total == 4 and [i.inputs["x"] for i in page.items] == [4.0, 3.0, 2.0, 1.0]
    stored = page.items[1]
    assert stored.id == third and stored.correct is True  # a label equal to the prediction
    assert stored.prediction == {"prediction": 1, "probabilities": PROBS}
    assert stored.reviewer == "bo" and stored.via == "user" and stored.version == 1
    assert page.items[0].correct is None and page.items[0].comment == "odd input"

    wrong = feedback.list_feedback(workspace, model, FeedbackFilter(correct=False))
    assert [i.id for i in wrong.items] == [second] and wrong.items[0].label == "1"
    assert feedback.list_feedback(workspace, model, FeedbackFilter(reviewer="bo")).total == 2
    south = feedback.list_feedback(workspace, model, FeedbackFilter(segment="site", value="south"))
    assert south.total == 2 and {i.inputs["site"] for i in south.items} == {"south"}
    paged = feedback.list_feedback(workspace, model, limit=2, offset=2)
    assert paged.total == 4 and [i.inputs["x"] for i in paged.items] == [2.0, 1.0]
    today = feedback.parse_day(feedback.summary(workspace, model).by_day[-1].key, "since")
    recent = feedback.list_feedback(workspace, model, FeedbackFilter(since=today))
    assert recent.total == 2

    summary = feedback.summary(workspace, model)
    assert (summary.total, summary.with_verdict, summary.correct, summary.wrong) == (4, 3, 2, 1)
    assert summary.agreement == pytest.approx(2 / 3) and summary.reviewers == 2
    assert summary.segment == "site" and summary.columns == ["n", "site", "x"]
    assert [(d.total, d.agreement) for d in summary.by_day] == [(1, 1.0), (1, 0.0), (2, 1.0)]
    by_site = {s.key: (s.total, s.with_verdict, s.agreement) for s in summary.by_segment}
    assert by_site == {"north": (2, 2, 0.5), "south": (2, 1, 1.0)}
    by_x = feedback.summary(workspace, model, by="x").by_segment
    assert [s.key for s in by_x] == ["1", "2", "3", "4"]


def test_bad_feedback_is_refused(workspace: Workspace, model: str) -> None:
    good = {
        "model_name": "small",
        "version": 1,
        "inputs": {"x": 1.0, "n": 2},
        "prediction": {"prediction": 0, "probabilities": PROBS},
        "correct": False,
        "label": "1",
        "comment": "",
        "reviewer": "ana",
    }
    cases = [
        ({"reviewer": "  "}, "reviewer's name"),
        ({"comment": "x" * 5001}, "comment is too long"),
        ({"correct": True, "label": "1"}, "marked right"),
        ({"correct": False, "label": "0"}, "marked wrong"),
        ({"correct": None, "label": None, "comment": ""}, "Nothing to record"),
        ({"prediction": {"probabilities": PROBS}}, "prediction must be an object"),
        ({"inputs": {}}, "inputs must be"),
        ({"via": "share"}, "share link"),
    ]
    for change, message in cases:
        with pytest.raises(Invalid, match=message):
            feedback.record(workspace, **{**good, **change})  # type: ignore[arg-type]
    with pytest.raises(NotFound, match="version 7"):
        feedback.record(workspace, **{**good, "version": 7})  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        feedback.list_feedback(workspace, "no-such-model")
    with pytest.raises(Invalid, match="segment column"):
        feedback.list_feedback(workspace, model, FeedbackFilter(value="north"))
    with pytest.raises(Invalid, match="No input column"):
        feedback.record(workspace, **good)  # type: ignore[arg-type]
        feedback.summary(workspace, model, by="colour")
    with pytest.raises(Invalid, match="date such as"):
        feedback.parse_day("27/11/2026", "since")
    assert feedback.list_feedback(workspace, model).total == 1  # only the good one landed
