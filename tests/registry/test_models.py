from __future__ import annotations

import pytest

from seedbed.errors import Invalid, NotFound
from seedbed.registry import models
from seedbed.tracking.runs import Run
from seedbed.workspace import Workspace


def test_register_versions_and_aliases(workspace: Workspace, logged_run: Run) -> None:
    first = models.register_version(workspace, "tiny", logged_run.id, user="ada")
    second = models.register_version(workspace, "tiny", logged_run.id)
    assert (first.version, second.version) == (1, 2)
    assert first.source == f"runs/{logged_run.id}/artifacts/model"
    models.set_alias(workspace, "tiny", "champion", 1)
    models.set_alias(workspace, "tiny", "champion", 2)  # moves
    assert models.resolve(workspace, "tiny", "champion").version == 2
    assert models.resolve(workspace, "tiny", "latest").version == 2
    assert models.resolve(workspace, "tiny", "1").aliases == []
    model = models.get_model(workspace, "tiny")
    assert model.latest_version == 2 and model.aliases == {"champion": 2}
    assert [v.version for v in models.list_versions(workspace, "tiny")] == [2, 1]
    assert [m.name for m in models.list_models(workspace)] == ["tiny"]
    assert [v.version for v in models.versions_of_run(workspace, logged_run.id)] == [1, 2]


def test_register_needs_a_logged_model(workspace: Workspace, logged_run: Run) -> None:
    with pytest.raises(Invalid, match="no model at 'elsewhere'"):
        models.register_version(workspace, "tiny", logged_run.id, artifact_path="elsewhere")
    with pytest.raises(Invalid, match="not allowed"):
        models.register_version(workspace, "bad name", logged_run.id)
    with pytest.raises(NotFound):
        models.register_version(workspace, "tiny", "0" * 32)
    with pytest.raises(NotFound):
        models.get_model(workspace, "tiny")  # nothing half-registered


def test_alias_rules(workspace: Workspace, logged_run: Run) -> None:
    models.register_version(workspace, "tiny", logged_run.id)
    with pytest.raises(Invalid):
        models.set_alias(workspace, "tiny", "latest", 1)
    with pytest.raises(Invalid):
        models.set_alias(workspace, "tiny", "Has Space", 1)
    with pytest.raises(NotFound):
        models.set_alias(workspace, "tiny", "champion", 9)
    with pytest.raises(NotFound, match="aliases: none"):
        models.resolve(workspace, "tiny", "champion")
