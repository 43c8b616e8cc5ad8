"""Online feature lookups over /api/v1 (filled in with the online store)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["features"])
