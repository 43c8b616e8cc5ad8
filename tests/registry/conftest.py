from __future__ import annotations

import pytest

from registry_models import log_small_model
from seedbed.tracking.runs import Run
from seedbed.workspace import Workspace


@pytest.fixture
def logged_run(workspace: Workspace) -> Run:
    return log_small_model(workspace)
