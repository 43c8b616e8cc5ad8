"""Loading registered model versions from the artifact store, with a small cache."""

from __future__ import annotations

import tempfile
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seedbed.registry import model_format, models
from seedbed.registry.models import ModelVersion
from seedbed.workspace import Workspace


@dataclass(frozen=True)
class LoadedModel:
    version: ModelVersion
    estimator: Any
    inputs: list[model_format.InputColumn]
    input_example: dict[str, Any]
    class_labels: dict[str, str] = field(default_factory=dict)


class ModelLoader:
    """Keeps the most recently used models in memory; versions never change, so no staleness."""

    def __init__(self, workspace: Workspace, capacity: int = 8) -> None:
        self.workspace = workspace
        self.capacity = capacity
        self._cache: OrderedDict[tuple[str, int, int], LoadedModel] = OrderedDict()
        self._lock = threading.Lock()

    def load(self, version: ModelVersion) -> LoadedModel:
        # with when it was made: a deleted version's number may come back
        key = (version.name, version.version, version.created_at)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        loaded = self._read(version)
        with self._lock:
            self._cache[key] = loaded
            while len(self._cache) > self.capacity:
                self._cache.popitem(last=False)
        return loaded

    def cached(self, name: str, reference: str) -> LoadedModel | None:
        """The model that "3", "latest" or an alias names if it is in memory (one query);
        None when it must be read first (`load_reference`)."""
        number, created_at = models.version_key(self.workspace, name, reference)
        key = (name, number, created_at)
        with self._lock:
            found = self._cache.get(key)
            if found is not None:
                self._cache.move_to_end(key)
            return found

    def load_reference(self, name: str, reference: str) -> LoadedModel:
        """The model that "3", "latest" or an alias names, read and cached if need be."""
        return self.cached(name, reference) or self.load(
            models.resolve(self.workspace, name, reference)
        )

    def _read(self, version: ModelVersion) -> LoadedModel:
        with tempfile.TemporaryDirectory(prefix="seedbed-model-") as folder:
            local = self.workspace.artifacts.download_dir(version.source, Path(folder))
            estimator = model_format.load_model(local, f"{version.name} version {version.version}")
            inputs = model_format.model_inputs(local)
            example = model_format.read_input_example(local)
            labels = model_format.class_labels(local)
        return LoadedModel(version, estimator, inputs, example, labels)
