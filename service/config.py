"""Load and validate limits.toml into one frozen :class:`Settings` object.

The file is ``$WORKER_LIMITS_FILE`` when that variable is set, else ``limits.toml`` at the repo root.
Any problem (missing file, TOML syntax, unknown key, wrong type, impossible value) raises
:class:`ConfigError` whose message names the file, the key and the value, so start-up stops with a
sentence an operator can act on.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from executor.limits import DataLimits, DownloadLimits, EngineLimits, ModelLimits, OutputLimits, SearchLimits
from sandbox.limits import FROZEN, GuardLimits, JobLimits

__all__ = [
    "ClusterSettings",
    "ConfigError",
    "LIMITS_ENV_VAR",
    "QueueLimits",
    "RequestLimits",
    "ServerLimits",
    "Settings",
    "TestingLimits",
    "default_limits_path",
    "load_settings",
]

LIMITS_ENV_VAR = "WORKER_LIMITS_FILE"
REPO_ROOT = Path(__file__).resolve().parent.parent



class QueueLimits(BaseModel):
    """Admission control in the parent."""

    model_config = FROZEN

    max_concurrent_jobs: int = Field(2, ge=1, le=64)
    max_waiting: int = Field(8, ge=0, le=10_000)
    request_deadline_seconds: float = Field(240, gt=0)
    max_ui_sessions: int = Field(64, ge=1, le=100_000)
    """Sessions whose UI state Gradio keeps in the parent (every API call opens one)."""
    warm_up: bool = True
    """Whether the template runs the engine's warm-up once at start-up (every job child starts warm)."""
    max_ui_value_kb: int = Field(64, ge=1, le=1_000_000)
    """Largest value (input or output) Gradio may keep in a session's UI state; larger are not kept."""


class RequestLimits(BaseModel):
    """Caps on the request body itself."""

    model_config = FROZEN

    max_request_kb: int = Field(4096, gt=0)
    max_nodes: int = Field(64, gt=0)
    max_depth: int = Field(32, gt=0)
    max_json_values: int = Field(500_000, gt=0)
    """JSON values (objects, arrays, strings, numbers, literals), counted before the text is decoded."""
    max_string_kb: int = Field(4096, gt=0)
    """The longest string in the request, measured before it is decoded."""
    max_problems: int = Field(20, ge=1, le=1000)
    """Problems one error lists; the rest are counted ("... and N more")."""
    max_echo_chars: int = Field(200, ge=16, le=100_000)
    """Characters of any value, id or name an error echoes back; longer ones are cut with "...". """
    max_param_chars: int = Field(256, ge=16, le=100_000)
    """Characters of a hyperparameter or config string the engine parses (layer sizes, lists)."""
    max_error_kb: int = Field(64, ge=4, le=100_000)
    """KB of a failure answer; past it the details are dropped and the message is cut."""


class ServerLimits(BaseModel):
    """The HTTP server in the parent: connections, bodies, uploads."""

    model_config = FROZEN

    max_connections: int = Field(256, ge=8, le=100_000)
    """Client connections open at once; one more is answered 503 and closed at once."""
    idle_timeout_seconds: float = Field(10, gt=0, le=600)
    """Seconds a connection may stay open without sending a complete request head."""
    max_body_kb: int = Field(4608, gt=0)
    """KB of any request body except uploads (the workflow plus Gradio's envelope)."""
    max_upload_mb: int = Field(100, gt=0)
    """MB of one uploaded file (Gradio's /upload route)."""
    max_buffered_mb: int = Field(48, gt=0)
    """MB of request bodies held in memory at once, all connections together; past it 503."""
    unread_result_seconds: float = Field(60, gt=0, le=3600)
    """Seconds a finished answer nobody has streamed stays in the parent before it is dropped."""
    parse_threads: int = Field(1, ge=1, le=16)
    """Threads that decode request bodies off the event loop (one parse at a time bounds its memory)."""


class TestingLimits(BaseModel):
    """Switches for fault-injection tests."""

    __test__ = False  # not a pytest class
    model_config = FROZEN

    fault_injection: bool = False


class ClusterSettings(BaseModel):
    """Where jobs run: this machine's sandbox (``local``) or a Ray cluster's (docs/scale-out.md)."""

    model_config = FROZEN

    engine: Literal["local", "ray"] = "local"
    """``local``: the warm sandbox in this process (a Space). ``ray``: one sandbox actor per Ray node."""
    address: str = Field("auto", min_length=1, max_length=512)
    """The cluster ``ray.init`` connects to: ``auto``, ``host:6379`` or ``ray://host:10001``."""
    namespace: str = Field("automl-worker", pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    """Ray namespace of the worker's actors (each worker also names them with its own id)."""
    connect_timeout_seconds: float = Field(60, gt=0, le=3600)
    """Seconds start-up waits to connect to the cluster before it stops with a message."""
    node_ready_seconds: float = Field(300, gt=0, le=3600)
    """Seconds a node's sandbox actor may take to start (template, self-check) before it counts as failed."""
    refresh_seconds: float = Field(5, gt=0, le=600)
    """Seconds between two looks at the cluster's nodes (new nodes get an actor, lost ones leave capacity)."""
    poll_ms: int = Field(50, ge=5, le=1000)
    """Milliseconds between two checks of a waiting job's cancel flag in the parent."""
    cancel_seconds: float = Field(10, gt=0, le=600)
    """Seconds a cancelled remote job has to report that its processes are gone before the parent answers."""
    answer_grace_seconds: float = Field(15, gt=0, le=600)
    """Seconds past a job's budget the parent waits for its node's answer before it counts the node lost."""
    sandbox_memory_mb: int = Field(512, ge=0, le=1_000_000)
    """MB of a node's Ray ``memory`` resource its sandbox actor reserves (the warm template, the actor)."""
    max_jobs: int = Field(64, ge=1, le=4096)
    """Most jobs running on the cluster at once, whatever its size (one waiting thread each in the parent)."""
    gcs_timeout_seconds: float = Field(10, gt=0, le=600)
    """Seconds a look at the cluster's nodes may wait on its GCS before the cluster counts as unreachable."""
    gcs_reconnect_timeout_seconds: int = Field(60, ge=5, le=86400)
    """Ray's ``gcs_rpc_server_reconnect_timeout_s`` for the worker's Ray driver process: past it without
    the GCS, Ray ends that process (never the app); the app then starts a new one."""
    restart_seconds: float = Field(10, gt=0, le=3600)
    """Seconds between the end of the worker's Ray driver process and the start of the next one."""


class Settings(BaseModel):
    """Every table of limits.toml, validated."""

    model_config = FROZEN

    job: JobLimits = JobLimits()
    queue: QueueLimits = QueueLimits()
    guards: GuardLimits = GuardLimits()
    data: DataLimits = DataLimits()
    output: OutputLimits = OutputLimits()
    request: RequestLimits = RequestLimits()
    server: ServerLimits = ServerLimits()
    download: DownloadLimits = DownloadLimits()
    search: SearchLimits = SearchLimits()
    model: ModelLimits = ModelLimits()
    testing: TestingLimits = TestingLimits()
    cluster: ClusterSettings = ClusterSettings()
    source: str = Field("<defaults>", exclude=True)
    """The file these settings were read from."""

    def engine_limits(self) -> dict[str, Any]:
        """The tables the engine needs (:class:`executor.limits.EngineLimits`), as JSON-able data for
        the child's payload: each engine table of the file as it is, and ``text`` from ``[request]``."""
        out: dict[str, Any] = {}
        for name, field in EngineLimits.model_fields.items():
            if name == "text":
                out[name] = {k: getattr(self.request, k) for k in field.annotation.model_fields}  # type: ignore[union-attr]
            else:
                out[name] = getattr(self, name).model_dump()
        out["download"]["cache_dir"] = str(self.download.cache_path().absolute())
        return out


class ConfigError(Exception):
    """limits.toml is missing, unreadable or invalid; the message names file, key and value."""

    def __init__(self, path: Path | str, problems: list[str]) -> None:
        self.path = str(path)
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"invalid limits file {self.path}:\n{lines}")


def default_limits_path() -> Path:
    """``$WORKER_LIMITS_FILE`` if set, else ``<repo>/limits.toml``."""
    env = os.environ.get(LIMITS_ENV_VAR)
    return Path(env) if env else REPO_ROOT / "limits.toml"


def _describe(error: dict[str, Any], raw: dict[str, Any]) -> str:
    key = ".".join(str(part) for part in error["loc"])
    if error["type"] == "extra_forbidden":
        return f"[{key}]: unknown key (value {error['input']!r}); check the spelling against the README"
    value: Any = raw
    for part in error["loc"]:
        value = value.get(part, "<missing>") if isinstance(value, dict) else "<missing>"
    return f"{key} = {value!r}: {error['msg']}"


def load_settings(path: Path | str | None = None) -> Settings:
    """Read and validate the limits file (see module docstring for where it is found)."""
    path = Path(path) if path is not None else default_limits_path()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(path, [f"file not found (set {LIMITS_ENV_VAR} or restore limits.toml)"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(path, [f"cannot read: {exc}"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, [f"not valid TOML: {exc}"]) from None
    try:
        settings = Settings.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(path, [_describe(err, raw) for err in exc.errors()]) from None
    return settings.model_copy(update={"source": str(path)})
