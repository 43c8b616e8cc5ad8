"""The Features pages (filled in with the catalog page)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
