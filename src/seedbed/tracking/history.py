"""Metric histories for charts: long series thinned on the server, keeping their shape.

A chart cannot show 100k points on a few hundred pixels; sending them all costs the
network and the browser. `downsample` splits the series into equal step buckets and keeps
the first, lowest, highest and last point of each, so spikes and dips survive.
"""

from __future__ import annotations

import itertools

import numpy as np

from seedbed.errors import Invalid
from seedbed.tracking.metric_points import MetricPoint
from seedbed.tracking.runs import metric_history
from seedbed.workspace import Workspace

MIN_POINTS = 10
MAX_POINTS = 100_000


def downsample(points: list[MetricPoint], max_points: int) -> list[MetricPoint]:
    """At most about `max_points` points of a series in step order, extremes kept."""
    if max_points < MIN_POINTS:
        raise Invalid(f"max_points must be at least {MIN_POINTS}, not {max_points}.")
    if len(points) <= max_points:
        return points
    buckets = max(1, max_points // 4)
    values = np.array([p.value for p in points], dtype=float)
    # Extremes are chosen among finite values; a stretch of only NaN keeps its two ends.
    finite = np.where(np.isfinite(values), values, np.nan)
    edges = np.linspace(0, len(points), buckets + 1).astype(int)
    keep: set[int] = set()
    for start, end in itertools.pairwise(edges):
        if end <= start:
            continue
        keep.update((start, end - 1))
        window = finite[start:end]
        if not np.all(np.isnan(window)):
            keep.add(start + int(np.nanargmin(window)))
            keep.add(start + int(np.nanargmax(window)))
    return [points[i] for i in sorted(keep)]


def chart_history(
    workspace: Workspace, run_id: str, key: str, max_points: int | None = None
) -> list[MetricPoint]:
    """One metric of a run for a chart: every point, or a shape-keeping sample of them."""
    points = metric_history(workspace, run_id, key)
    if max_points is None:
        return points
    return downsample(points, min(max_points, MAX_POINTS))
