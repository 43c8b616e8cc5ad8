"""The job script's answers to bad arguments, before it talks to any server (a real run of
it is in test_engine_e2e)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from seedbed.evaluation import job


def test_usage_and_unreadable_specs_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert job.main(["spec.json", "x", "parent"]) == 2
    assert "usage: python -P job.py SPEC_JSON_FILE INDEX PARENT_RUN_ID" in capsys.readouterr().err
    assert job.main([str(tmp_path / "missing.json"), "0", "parent"]) == 2
    assert "cannot read the spec" in capsys.readouterr().err
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"dataset": "d", "feature_sets": {}, "algorithms": []}))
    assert job.main([str(broken), "0", "parent"]) == 2
    err = capsys.readouterr().err
    assert "The evaluation spec has problems" in err and "feature_sets" in err
