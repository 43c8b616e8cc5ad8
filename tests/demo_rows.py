"""One flight as the demo model's form sends it (text values, as browsers post them)."""

from __future__ import annotations

DEMO_FORM = {
    "carrier": "UA",
    "origin": "EWR",
    "month": "12",
    "weekday": "5",
    "sched_hour": "18",
    "distance": "1000",
    "temp": "30",
    "wind_speed": "20",
    "precip": "0.1",
    "visib": "2",
}
