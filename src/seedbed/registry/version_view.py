"""What a model version page shows: signature, input example, the run's metrics, lineage
(run -> dataset versions -> feature definitions) and requirements, read without unpickling
the model (the page works even when the model's dependencies are missing here)."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from markdown_it import MarkdownIt
from markupsafe import Markup

from seedbed.errors import NotFound
from seedbed.registry import model_format, model_requirements
from seedbed.registry.model_format import InputColumn
from seedbed.registry.models import ModelVersion
from seedbed.tracking.inputs import DatasetInput, dataset_inputs
from seedbed.tracking.runs import Run, get_run
from seedbed.workspace import Workspace

# Raw HTML in a description is shown as text: descriptions are written by any editor.
_MARKDOWN = MarkdownIt("commonmark", {"html": False}).enable("table")


def description_html(text: str) -> Markup:
    """A Markdown description as safe HTML."""
    return Markup(_MARKDOWN.render(text or ""))  # html is disabled above


@dataclass(frozen=True)
class DatasetLineage:
    name: str
    version: int
    rows: int | None
    features: list[str] = field(default_factory=list)  # feature definitions it was built from
    definitions_version: Any = None


@dataclass(frozen=True)
class VersionView:
    version: ModelVersion
    inputs: list[InputColumn]
    input_example: dict[str, Any]
    requirements: list[str]
    run: Run | None
    datasets: list[DatasetLineage]
    declared: list[DatasetInput]  # datasets an MLflow client said the run read
    description_html: Markup


def version_view(workspace: Workspace, version: ModelVersion) -> VersionView:
    """Everything the version page shows, gathered from the registry, tracking and data."""
    with tempfile.TemporaryDirectory(prefix="seedbed-model-") as folder:
        local = Path(folder)
        for name in ("MLmodel", "input_example.json", model_requirements.REQUIREMENTS_FILE):
            key = f"{version.source}/{name}"
            if workspace.artifacts.exists(key):
                (local / name).write_bytes(workspace.artifacts.get_bytes(key))
        inputs = model_format.model_inputs(local) if (local / "MLmodel").exists() else []
        example = model_format.read_input_example(local)
        requirements_file = local / model_requirements.REQUIREMENTS_FILE
        requirements = (
            [line for line in requirements_file.read_text().splitlines() if line.strip()]
            if requirements_file.exists()
            else []
        )
    run = None
    if version.run_id:
        try:
            run = get_run(workspace, version.run_id)
        except NotFound:
            run = None
    datasets = _datasets(workspace, run.id) if run else []
    declared = dataset_inputs(workspace, [run.id])[run.id] if run else []
    return VersionView(
        version,
        inputs,
        example,
        requirements,
        run,
        datasets,
        declared,
        description_html(version.description),
    )


def _datasets(workspace: Workspace, run_id: str) -> list[DatasetLineage]:
    from seedbed.data import datasets  # data builds on tracking and the registry

    found = []
    for name, number in datasets.inputs_of_runs(workspace, [run_id])[run_id]:
        try:
            version = datasets.get_version(workspace, name, number)
        except NotFound:  # deleted since: the link stays, the details are gone
            found.append(DatasetLineage(name, number, None))
            continue
        detail = version.source_detail or {}
        features = (
            [str(f) for f in detail.get("features") or []] if version.source == "features" else []
        )
        found.append(
            DatasetLineage(name, number, version.rows, features, detail.get("definitions_version"))
        )
    return found
