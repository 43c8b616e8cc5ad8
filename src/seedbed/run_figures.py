"""Figures as artifact files: matplotlib as an image, plotly as interactive HTML or JSON."""

from __future__ import annotations

import io
import posixpath
from typing import Any

from seedbed import errors

MATPLOTLIB_FORMATS = {".png", ".svg", ".pdf", ".jpg", ".jpeg"}
PLOTLY_FORMATS = {".html", ".json"}


def figure_bytes(figure: Any, artifact_file: str) -> bytes:
    """The file `artifact_file` names (its extension picks the format) holding `figure`."""
    extension = posixpath.splitext(artifact_file)[1].lower()
    module = type(figure).__module__
    if module.startswith("matplotlib"):
        if extension not in MATPLOTLIB_FORMATS:
            raise errors.Invalid(
                f"A matplotlib figure is saved as {', '.join(sorted(MATPLOTLIB_FORMATS))}; "
                f"{artifact_file!r} has none of those extensions."
            )
        buffer = io.BytesIO()
        figure.savefig(buffer, format=extension.lstrip("."))
        return buffer.getvalue()
    if module.startswith("plotly"):
        if extension == ".html":
            # plotly.js inline: the file opens offline, like everything seedbed serves.
            html: str = figure.to_html(include_plotlyjs=True, full_html=True)
            return html.encode("utf-8")
        if extension == ".json":
            text: str = figure.to_json()
            return text.encode("utf-8")
        raise errors.Invalid(
            f"A plotly figure is saved as .html or .json; {artifact_file!r} is neither."
        )
    raise errors.Invalid(
        f"log_figure takes a matplotlib or plotly figure, not {type(figure).__name__}."
    )
