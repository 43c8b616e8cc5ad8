"""`ws.jobs`: run functions, scripts and notebooks on the server's executor, sized per job.

    job = ws.jobs.submit(train, X, y, profile="large")
    model = job.result()          # waits; raises what the function raised

A job acts as you (it gets a token of yours, valid while it runs), so the runs it logs
are yours and link back to it.
"""

from __future__ import annotations

import base64
import builtins
import sys
import sysconfig
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from seedbed import errors

if TYPE_CHECKING:
    from seedbed.client import Client

FINAL = frozenset({"succeeded", "failed", "cancelled", "timed_out", "killed_memory", "lost"})


class JobFailed(errors.SeedbedError):
    """A job ended without success (failed, killed for memory, timed out, cancelled, lost)."""


class Job:
    """A submitted job; its fields come from the server on each `refresh()`."""

    def __init__(self, client: Client, data: dict[str, Any]) -> None:
        self._client = client
        self.data = data

    def __repr__(self) -> str:
        return f"<seedbed job {self.id} {self.name!r} {self.status}>"

    @property
    def id(self) -> str:
        return str(self.data["id"])

    @property
    def name(self) -> str:
        return str(self.data["name"])

    @property
    def status(self) -> str:
        return str(self.data["status"])

    @property
    def done(self) -> bool:
        return self.status in FINAL

    def refresh(self) -> Job:
        self.data = self._client.request("GET", f"/api/v1/jobs/{self.id}").json()["job"]
        return self

    def wait(self, timeout: float | None = None, poll: float = 0.2) -> Job:
        """Block until the job ends (TimeoutError after `timeout` seconds)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.refresh().done:
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"Job {self.id} is still {self.status} after {timeout:g} s.")
            time.sleep(poll)
        return self

    def result(self, timeout: float | None = None) -> Any:
        """A function job's return value, once it ends; re-raises what the function raised."""
        import cloudpickle

        self.wait(timeout)
        if self.data["kind"] != "function":
            raise errors.Invalid(f"Job {self.id} is a {self.data['kind']} job: it has no result.")
        try:
            payload = self._client.request("GET", f"/api/v1/jobs/{self.id}/result").content
        except errors.NotFound:
            raise JobFailed(f"Job {self.id} {self.status}: {self.data['message']}") from None
        outcome = cloudpickle.loads(payload)
        if outcome[0] == "error":
            raise outcome[1]
        return outcome[1]

    def logs(self, follow: bool = False, poll: float = 0.5) -> Iterator[str]:
        """The log as text chunks; with `follow`, until the job ends."""
        offset = 0
        while True:
            response = self._client.request(
                "GET", f"/api/v1/jobs/{self.id}/logs", params={"offset": offset}
            )
            offset = int(response.headers.get("x-seedbed-offset", offset))
            if response.content:
                yield response.content.decode("utf-8", errors="replace")
            if not follow:
                return
            if response.headers.get("x-seedbed-status") in FINAL and not response.content:
                return
            if not response.content:
                time.sleep(poll)

    def cancel(self) -> Job:
        self.data = self._client.request("POST", f"/api/v1/jobs/{self.id}/cancel").json()["job"]
        return self

    def runs(self) -> builtins.list[dict[str, Any]]:
        """The runs this job logged."""
        found: builtins.list[dict[str, Any]] = self._client.request(
            "GET", f"/api/v1/jobs/{self.id}"
        ).json()["runs"]
        return found


def _pickle(function: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> bytes:
    """cloudpickle, with the function's own module sent by value when it is the user's code
    (a script or notebook folder, not an installed package): the job could not import it."""
    import cloudpickle

    module = sys.modules.get(getattr(function, "__module__", "") or "")
    by_value = module is not None and module.__name__ != "__main__" and _users_code(module)
    if by_value:
        cloudpickle.register_pickle_by_value(module)
    try:
        return bytes(cloudpickle.dumps((function, args, kwargs)))
    finally:
        if by_value:
            cloudpickle.unregister_pickle_by_value(module)


def _users_code(module: ModuleType) -> bool:
    file = getattr(module, "__file__", None)
    if not file:
        return False
    parts = Path(file).resolve().parts
    installed = {"site-packages", "dist-packages"} & set(parts)
    standard = Path(file).resolve().is_relative_to(Path(sysconfig.get_paths()["stdlib"]).resolve())
    return not installed and not standard


def _size(
    profile: str | None,
    cpus: float | None,
    memory: str | int | None,
    gpus: int | None,
    timeout_s: float | None,
    max_retries: int,
    name: str,
    environment: str = "default",
) -> dict[str, Any]:
    return {
        "environment": environment,
        "profile": profile,
        "cpus": cpus,
        "memory": memory,
        "gpus": gpus,
        "timeout_s": timeout_s,
        "max_retries": max_retries,
        "name": name,
    }


class JobsClient:
    """`ws.jobs`: submit and follow jobs; read capacity and profiles."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def _submit(self, body: dict[str, Any]) -> Job:
        answer = self._client.request("POST", "/api/v1/jobs", json=body).json()
        return Job(self._client, answer["job"])

    def submit(
        self,
        function: Callable[..., Any],
        *args: Any,
        profile: str | None = None,
        cpus: float | None = None,
        memory: str | int | None = None,
        gpus: int | None = None,
        timeout_s: float | None = None,
        max_retries: int = 0,
        name: str = "",
        environment: str = "default",
        **kwargs: Any,
    ) -> Job:
        """Run `function(*args, **kwargs)` as a job (cloudpickled: closures and lambdas
        work; modules it imports must exist in the server's environment or lib/)."""
        payload = base64.b64encode(_pickle(function, args, kwargs)).decode("ascii")
        size = _size(profile, cpus, memory, gpus, timeout_s, max_retries, name, environment)
        default = getattr(function, "__name__", "function")
        return self._submit(
            {**size, "kind": "function", "content": payload, "name": name or default}
        )

    def submit_script(
        self,
        path: str | Path,
        args: builtins.list[str] | None = None,
        profile: str | None = None,
        cpus: float | None = None,
        memory: str | int | None = None,
        gpus: int | None = None,
        timeout_s: float | None = None,
        max_retries: int = 0,
        name: str = "",
        environment: str = "default",
    ) -> Job:
        """Run a Python script, or execute a notebook (.ipynb) headless, in a workspace
        environment."""
        source = Path(path)
        if not source.is_file():
            raise errors.Invalid(f"{source} is not a file.")
        kind = "notebook" if source.suffix == ".ipynb" else "script"
        size = _size(profile, cpus, memory, gpus, timeout_s, max_retries, name, environment)
        return self._submit(
            {
                **size,
                "kind": kind,
                "filename": source.name,
                "content": source.read_text(encoding="utf-8"),
                "args": [str(a) for a in args or []],
            }
        )

    def get(self, job_id: str) -> Job:
        return Job(self._client, {"id": job_id}).refresh()

    def list(self, status: str | None = None) -> builtins.list[Job]:
        params = {"status": status} if status else {}
        found = self._client.request("GET", "/api/v1/jobs", params=params).json()
        return [Job(self._client, data) for data in found]

    def capacity(self) -> dict[str, Any]:
        found: dict[str, Any] = self._client.request("GET", "/api/v1/compute/capacity").json()
        return found

    def profiles(self) -> builtins.list[dict[str, Any]]:
        found: builtins.list[dict[str, Any]] = self._client.request(
            "GET", "/api/v1/compute/profiles"
        ).json()
        return found
