"""`ws.feedback`: reviewers' verdicts on a model's predictions, and their export as a dataset.

ws.feedback.record("flight-delay", 1, inputs={...}, prediction=1, correct=False, label="0")
ws.feedback.list("flight-delay", verdict="wrong")
ws.feedback.export("flight-delay", "flight-delay-feedback")   # a dataset version
"""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

if TYPE_CHECKING:
    from seedbed.client import Client


class FeedbackClient:
    """Feedback on registered models over the server's /api/v1/models/{name}/feedback."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def _path(self, model: str, tail: str = "") -> str:
        return f"/api/v1/models/{quote(model, safe='')}/feedback{tail}"

    def record(
        self,
        model: str,
        version: int,
        inputs: dict[str, Any],
        prediction: Any,
        correct: bool | None = None,
        label: str | None = None,
        comment: str = "",
        probabilities: dict[str, float] | None = None,
    ) -> dict[str, Any]:
        """Record your verdict on one prediction of a model version."""
        body = {
            "version": version,
            "inputs": inputs,
            "prediction": prediction,
            "probabilities": probabilities,
            "correct": correct,
            "label": label,
            "comment": comment,
        }
        found: dict[str, Any] = self._client.request("POST", self._path(model), json=body).json()
        return found

    def list(
        self, model: str, limit: int = 100, offset: int = 0, **filters: Any
    ) -> builtins.list[dict[str, Any]]:
        """Feedback items, newest first. Filters: version, reviewer, verdict ("right" or
        "wrong"), since and until (YYYY-MM-DD), segment and value (an input column and value)."""
        params = {k: v for k, v in filters.items() if v is not None}
        page = self._client.request(
            "GET", self._path(model), params={**params, "limit": limit, "offset": offset}
        ).json()
        items: builtins.list[dict[str, Any]] = page["items"]
        return items

    def summary(self, model: str, by: str | None = None, **filters: Any) -> dict[str, Any]:
        """Counts and agreement per day, per version and per value of input column `by`."""
        params = {k: v for k, v in {**filters, "by": by}.items() if v is not None}
        found: dict[str, Any] = self._client.request(
            "GET", self._path(model, "/summary"), params=params
        ).json()
        return found

    def export(self, model: str, dataset: str, version: int | None = None) -> dict[str, Any]:
        """Save the feedback as the next version of `dataset`; {"created": ..., "version": ...}
        (created is False when the content equals the latest version)."""
        found: dict[str, Any] = self._client.request(
            "POST", self._path(model, "/export"), json={"name": dataset, "version": version}
        ).json()
        return found
