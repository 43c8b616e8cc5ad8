"""Jinja2 rendering: one base layout in web/templates, each domain's pages in its own folder."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape

from seedbed.web.csrf import csrf_token

PACKAGE = Path(__file__).resolve().parent.parent
TEMPLATE_DIRS = [PACKAGE / "web" / "templates"] + [
    PACKAGE / domain / "templates"
    for domain in (
        "data",
        "tracking",
        "registry",
        "apps",
        "auth",
        "privacy",
        "compute",
        "notebooks",
        "features",
        "evaluation",
    )
]

NAV = [
    ("Data", "/ui/data"),
    ("Features", "/ui/features"),
    ("Experiments", "/ui/experiments"),
    ("Models", "/ui/models"),
    ("Evaluations", "/ui/evaluations"),
    ("Jobs", "/ui/jobs"),
    ("Notebooks", "/ui/notebooks"),
    ("Environment", "/ui/environment"),
    ("Admin", "/ui/admin"),
]


def format_ms(value: int | None) -> str:
    """Epoch milliseconds as a UTC date and time a person reads."""
    if value is None:
        return "—"
    moment = dt.datetime.fromtimestamp(value / 1000, tz=dt.UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def format_duration(start: int | None, end: int | None) -> str:
    if start is None or end is None:
        return "—"
    seconds = max(0, (end - start) / 1000)
    return f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def format_number(value: Any) -> str:
    if isinstance(value, float):
        if math.isfinite(value) and abs(value) >= 1000:
            return f"{value:,.1f}"  # 150,000.5 rather than 1.5e+05
        return f"{value:.4g}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return "—" if value is None else str(value)


def make_templates() -> Jinja2Templates:
    environment = Environment(
        loader=ChoiceLoader([FileSystemLoader(str(d)) for d in TEMPLATE_DIRS if d.is_dir()]),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["ms"] = format_ms
    environment.filters["num"] = format_number
    environment.globals["duration"] = format_duration
    environment.globals["nav"] = NAV
    return Jinja2Templates(env=environment)


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render a page with what every page needs: the user, the nav and a CSRF token."""
    templates: Jinja2Templates = request.app.state.templates
    context.setdefault("user", getattr(request.state, "user", None))
    context["csrf_token"] = csrf_token(request)
    context["path"] = request.url.path
    return templates.TemplateResponse(request, name, context, status_code=status_code)
