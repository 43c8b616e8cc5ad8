"""(being written)"""

from __future__ import annotations


def package(reference: str) -> None:
    """Write a container build context for a registered model (being written)."""
