"""seedbed: a self-hosted environment in which data scientists create and test models.

import seedbed as sb
ws = sb.connect()          # finds the local server, or uses SEEDBED_URL / SEEDBED_TOKEN
ws.sql("select count(*) from flights")
with ws.start_run(experiment="churn", inputs=["flights@1"]) as run:
    run.log_params({"C": 1.0})
    run.log_metrics({"loss": 0.3}, step=1)
    run.log_model(model, input_example=X.head(), register_as="churn")
ws.autolog()               # scikit-learn fits log params, training metrics and the model
"""

from __future__ import annotations

__version__ = "0.1.0"

from seedbed.autolog import AutologWarning
from seedbed.client import Client, connect
from seedbed.client_jobs import Job, JobFailed
from seedbed.client_runs import ActiveRun
from seedbed.errors import (
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    SeedbedError,
    ServerNotFound,
    TooLarge,
    Unauthorized,
)
from seedbed.registry.model_requirements import ModelEnvironmentWarning

__all__ = [
    "ActiveRun",
    "AutologWarning",
    "Client",
    "Conflict",
    "Forbidden",
    "Invalid",
    "Job",
    "JobFailed",
    "ModelEnvironmentWarning",
    "NotFound",
    "SeedbedError",
    "ServerNotFound",
    "TooLarge",
    "Unauthorized",
    "__version__",
    "connect",
]
