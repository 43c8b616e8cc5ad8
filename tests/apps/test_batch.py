"""Batch scoring of a CSV on the demo page: a preview, a download, and wrong columns named."""

from __future__ import annotations

import io
import re

import pandas as pd
from fastapi.testclient import TestClient

from auth_sessions import page_csrf
from conftest import api_client
from seedbed.auth.tokens import ensure_admin_token
from seedbed.workspace import Workspace

BATCH = "/ui/models/flight-delay/versions/champion/batch"
ROWS = pd.DataFrame(
    {
        "carrier": ["UA", "AA", "B6"] * 10,
        "origin": ["EWR", "JFK", "LGA"] * 10,
        "month": [1, 6, 12] * 10,
        "weekday": [1, 3, 5] * 10,
        "sched_hour": [6, 12, 19] * 10,
        "distance": [200.0, 1000.0, 2500.0] * 10,
        "temp": [20.0, 60.0, 85.0] * 10,
        "wind_speed": [0.0, 10.0, 30.0] * 10,
        "precip": [0.0, 0.0, 0.4] * 10,
        "visib": [10.0, 10.0, 1.0] * 10,
    }
)


def logged_in(workspace: Workspace, browser: TestClient) -> str:
    """Log the browser in through the login link; returns the session's CSRF token."""
    browser.get("/login", params={"token": ensure_admin_token(workspace)})
    return page_csrf(browser, "/ui/")


def test_a_csv_is_scored_previewed_and_downloaded(demo_workspace: Workspace) -> None:
    with api_client(demo_workspace, authenticated=False) as browser:
        csrf = logged_in(demo_workspace, browser)
        upload = ROWS.to_csv(index=False).encode()
        answer = browser.post(
            BATCH, data={"csrf_token": csrf}, files={"file": ("flights.csv", upload, "text/csv")}
        )
        assert answer.status_code == 200, answer.text
        assert "Scored 30 rows" in answer.text
        assert answer.text.count("<tr>") == 1 + 20  # header and the first 20 rows
        link = re.search(r'href="(' + BATCH + r'/[0-9a-f]{32}\.csv)"', answer.text)
        assert link
        download = browser.get(link.group(1))
        assert download.status_code == 200
        assert download.headers["content-type"].startswith("text/csv")
        scored = pd.read_csv(io.BytesIO(download.content))
        assert len(scored) == 30
        assert list(scored.columns[: len(ROWS.columns)]) == list(ROWS.columns)
        assert set(scored["prediction"]) <= {0, 1}
        probabilities = [c for c in scored.columns if c.startswith("probability_")]
        assert len(probabilities) == 2
        assert (scored[probabilities].sum(axis=1) - 1).abs().max() < 1e-9
        assert browser.get(BATCH + "/" + "0" * 32 + ".csv").status_code == 404
    # the scored file is its uploader's: another user with the link gets nothing
    from auth_sessions import token_for

    other = {"Authorization": f"Bearer {token_for(demo_workspace, 'batch-peer', 'viewer')}"}
    with api_client(demo_workspace, authenticated=False) as stranger:
        assert stranger.get(link.group(1), headers=other).status_code == 404


def test_a_csv_with_the_wrong_columns_gets_a_400_naming_them(demo_workspace: Workspace) -> None:
    with api_client(demo_workspace, authenticated=False) as browser:
        csrf = logged_in(demo_workspace, browser)
        wrong = ROWS.drop(columns=["visib", "temp"]).assign(tail_number="N123")
        answer = browser.post(
            BATCH,
            data={"csrf_token": csrf},
            files={"file": ("wrong.csv", wrong.to_csv(index=False).encode(), "text/csv")},
        )
        assert answer.status_code == 400
        assert "missing columns: temp, visib" in answer.text
        assert "unexpected columns: tail_number" in answer.text
        bad_value = ROWS.astype(object).copy()
        bad_value.loc[3, "sched_hour"] = "evening"
        answer = browser.post(
            BATCH,
            data={"csrf_token": csrf},
            files={"file": ("bad.csv", bad_value.to_csv(index=False).encode(), "text/csv")},
        )
        assert answer.status_code == 400 and "sched_hour" in answer.text
        empty = browser.post(
            BATCH, data={"csrf_token": csrf}, files={"file": ("e.csv", b"", "text/csv")}
        )
        assert empty.status_code == 400 and "CSV" in empty.text
