"""Test-only sabotage: turn one guard off so the deny tests of that guard must fail.

Nothing here is imported by product code. A guard is turned off in one of three places:

* in the test process (in-process engine runs, in-process Sandbox construction),
* in a sandbox child, through the target ``tests.security.targets:engine``,
* in a test server and its sandbox template, through ``tests/security/boot/sitecustomize.py``
  (``server_env`` puts the hook on the server's PYTHONPATH; the hook patches ``Sandbox.__init__``
  so the template and every job get it too).

See docs/security.md for what each guard is and what its sabotage does.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

GUARDS: dict[str, str] = {
    "env": "jobs see only allow-listed environment variables (Sandbox env_allow)",
    "eval": "no hyperparameter or config value is ever evaluated as code",
    "paths": "dataset ids never name local files (only known sample ids load)",
    "urls": "dataset URLs are http(s) only and never reach loopback/private/link-local addresses",
    "redos": "no user string is parsed by a backtracking pattern (hidden_layer_sizes is one linear pass)",
    "caps": "request size, node count and nesting depth are capped before any child runs",
    "stale": "a killed server's temp dirs (sandbox-jobs-*, worker-ui-*) are removed by the next start",
    "files": "a client-named file path is used only if Gradio wrote it as an upload of this app",
    "fds": "no fd ceiling (no select()) and no connection hoarding (idle timeout, connection cap)",
    "parse": "request bodies are JSON only, scanned before decoding, decoded off the event loop",
    "echo": "errors are bounded (problems, echoed strings, size) and Gradio keeps no large session values",
    "health": "the public /health carries counts, codes, timings and node types only",
    "confine": "a job reads/writes only its own dir, signals only its own domain, no ptrace/netlink (Landlock, seccomp)",
}

ROOT = Path(__file__).resolve().parents[2]
BOOT = Path(__file__).resolve().parent / "boot"
ENV_VAR = "WORKER_TEST_SABOTAGE"


def server_env(guard: str | None) -> dict[str, str]:
    """Environment for a test server so ``guard`` is off in it (empty when no sabotage)."""
    if not guard:
        return {}
    return {ENV_VAR: guard, "PYTHONPATH": os.pathsep.join([str(BOOT), str(ROOT)])}


# -- env ----------------------------------------------------------------------------------------


def env_allow(guard: str | None) -> tuple[str, ...]:
    """The env allow-list to build a Sandbox with: the product default, or every parent variable."""
    from sandbox import DEFAULT_ENV_ALLOW

    return tuple(os.environ) if guard == "env" else tuple(DEFAULT_ENV_ALLOW)


def patch_sandbox_init(guard: str) -> None:
    """Patch Sandbox.__init__ in this process: leak the environment (env) or pass the hook on."""
    from sandbox import supervisor

    original = supervisor.Sandbox.__init__

    @functools.wraps(original)
    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        if guard == "env":
            kwargs["env_allow"] = tuple(os.environ)
        else:  # child-side guards: the template and jobs import the hook too
            kwargs["extra_env"] = {**(kwargs.get("extra_env") or {}), **server_env(guard)}
        original(self, *args, **kwargs)

    supervisor.Sandbox.__init__ = init  # type: ignore[method-assign]


# -- engine-side guards -------------------------------------------------------------------------


def _evaluating(value: Any) -> Any:
    """What an unsafe engine does with a string: evaluate it (the original worker's bug)."""
    if isinstance(value, str):
        try:
            return eval(value)  # noqa: S307 - the point of the sabotage
        except Exception:
            return value
    return value


def _eval_strings(obj: Any, depth: int = 0) -> Any:
    if depth > 64:
        return obj
    if isinstance(obj, dict):
        return {
            k: _eval_strings(_evaluating(v) if isinstance(v, str) else v, depth + 1) for k, v in obj.items()
        }
    if isinstance(obj, list):
        return [_eval_strings(_evaluating(v) if isinstance(v, str) else v, depth + 1) for v in obj]
    return obj


def _replace_everywhere(module_name: str, attr: str, make: Callable[[Any], Any]) -> bool:
    """Replace ``module.attr`` and every ``from module import attr`` copy in loaded executor modules."""
    import importlib

    module = importlib.import_module(module_name)
    original = getattr(module, attr, None)
    if original is None:
        return False
    new = make(original)
    for mod in list(sys.modules.values()):
        if getattr(mod, "__name__", "").startswith("executor") and getattr(mod, attr, None) is original:
            setattr(mod, attr, new)
    return True


def _sabotage_eval() -> list[str]:
    patched = []

    def hls(original: Callable[..., Any]) -> Callable[..., Any]:
        def parse(value: Any) -> Any:
            return original(_evaluating(value))

        return parse

    def workflow(original: Callable[..., Any]) -> Callable[..., Any]:
        def parse(raw: Any, *a: Any, **kw: Any) -> Any:
            return original(_eval_strings(raw), *a, **kw)

        return parse

    for module, attr, make in (
        ("executor.params", "parse_hidden_layer_sizes", hls),
        ("executor.params", "parse_batch_size", hls),
        ("executor.schema", "parse_workflow", workflow),
    ):
        if _replace_everywhere(module, attr, make):
            patched.append(f"{module}.{attr}")
    from executor import params

    classes = [params.Param]
    while classes:
        cls = classes.pop()
        classes.extend(cls.__subclasses__())
        if "coerce" in cls.__dict__:
            original_coerce = cls.__dict__["coerce"]

            def coerce(self: Any, value: Any, name: str, _orig: Any = original_coerce) -> Any:
                return _orig(self, _evaluating(value), name)

            cls.coerce = coerce  # type: ignore[method-assign]
            patched.append(f"{cls.__module__}.{cls.__qualname__}.coerce")
    return patched


def _sabotage_paths() -> list[str]:
    """A naive loader: any dataset id that names a readable file or a URL is read with pandas."""
    import pandas as pd

    from tests.security import probes

    patched = []

    def loader(original: Callable[..., Any]) -> Callable[..., Any]:
        def load(*args: Any, **kwargs: Any) -> Any:
            ident = probes.dataset_id_of(args, kwargs)
            if isinstance(ident, str):
                ident = ident.removeprefix("sample-").removeprefix("file://")
                if os.path.exists(ident):
                    return probes.wrap_frame(original, args, kwargs, pd.read_csv(ident))
            return original(*args, **kwargs)

        return load

    for module, attr in probes.SAMPLE_LOADERS:
        try:
            if _replace_everywhere(module, attr, loader):
                patched.append(f"{module}.{attr}")
        except ImportError:
            continue
    return patched


def _sabotage_urls() -> list[str]:
    """The address check allows everything (and so does the scheme check)."""
    from tests.security import probes

    patched = []
    for module, attr in probes.URL_CHECKERS:
        try:
            if _replace_everywhere(module, attr, lambda original: lambda *a, **k: None):
                patched.append(f"{module}.{attr}")
        except ImportError:
            continue
    return patched


OLD_LAYER_SIZES = r"^\s*[\(\[]?\s*(\d+(?:\s*[,\s]\s*\d+)*)?\s*,?\s*[\)\]]?\s*$"
"""The engine's old ``hidden_layer_sizes`` pattern: ``"1  1  1 … 1x"`` makes it backtrack exponentially."""


def _sabotage_redos() -> list[str]:
    """``parse_hidden_layer_sizes`` matches strings with the old backtracking regex again (no length cap)."""
    import re

    from executor.params import ParamError

    pattern = re.compile(OLD_LAYER_SIZES)

    def old_parser(original: Callable[..., Any]) -> Callable[..., Any]:
        def parse(value: Any) -> Any:
            if not isinstance(value, str):
                return original(value)
            match = pattern.match(value)
            if match is None or match.group(1) is None:
                raise ParamError(f"must be layer sizes such as '(100,)' or '(100, 50)'. Got {value[:80]!r} instead.")
            return original([int(tok) for tok in re.split(r"[,\s]+", match.group(1).strip())])

        return parse

    patched = _replace_everywhere("executor.params", "parse_hidden_layer_sizes", old_parser)
    return ["executor.params.parse_hidden_layer_sizes"] if patched else []


_APPLIED: dict[str, list[str]] = {}


def apply_in_process(guard: str | None, marker_dir: Any = None) -> list[str]:
    """Turn ``guard`` off in this process's engine, once; returns what was patched (empty: nothing to do).

    The patches stay for the life of the process: a sabotaged pytest run is a run of that guard's
    deny tests only (``.ci/sabotage`` selects them with ``-k``).
    """
    key = guard or ""
    if key not in _APPLIED:
        _APPLIED[key] = _apply(guard)
    return _APPLIED[key]


SERVER_PATCHES: dict[str, Callable[[], list[str]]] = {}
"""Guards turned off in the server process itself (parent-side code), by name: ``guard -> patch``."""


def patch_server(guard: str) -> list[str]:
    """Turn ``guard`` off in a test server process (called by the sitecustomize hook at start-up)."""
    patch_sandbox_init(guard)
    done = ["sandbox.Sandbox.__init__"]
    if guard in SERVER_PATCHES:
        done += SERVER_PATCHES[guard]()
    return done


def _apply(guard: str | None) -> list[str]:
    if guard == "echo":
        import executor.runner  # noqa: F401

        return _sabotage_echo_engine()
    if guard == "eval":
        import executor.runner  # noqa: F401 - load every module so every copy of a name is patched

        return _sabotage_eval()
    if guard == "paths":
        import executor.runner  # noqa: F401

        return _sabotage_paths()
    if guard == "urls":
        import executor.runner  # noqa: F401

        return _sabotage_urls()
    if guard == "redos":
        import executor.runner  # noqa: F401

        return _sabotage_redos()
    if guard == "confine":
        return _sabotage_confine()
    return []


def _sabotage_confine() -> list[str]:
    """The job child skips its confinement (no Landlock, no seccomp): applied in the template, so
    every job child it forks inherits the no-op."""
    from sandbox import confine

    confine.apply = lambda guards, tmpdir, connect_ports=None, write_paths=(): []
    return ["sandbox.confine.apply"]


# -- parent-side: stale dirs, fd ceiling --------------------------------------------------------


def _replace_in_loaded(module_name: str, attr: str, new: Any, prefixes: tuple[str, ...]) -> list[str]:
    """Replace ``module.attr`` and every copy of it in loaded modules named with one of ``prefixes``
    (modules imported later take the replacement from ``module``)."""
    import importlib

    original = getattr(importlib.import_module(module_name), attr)
    patched = []
    for mod in list(sys.modules.values()):
        name = getattr(mod, "__name__", "") or ""
        if name.startswith(prefixes) and getattr(mod, attr, None) is original:
            setattr(mod, attr, new)
            patched.append(f"{name}.{attr}")
    return patched


def _sabotage_stale() -> list[str]:
    """The sweep of dead owners' dirs does nothing (Sandbox.start and ResultFiles still call it)."""

    def no_sweep(parent_dir: Any, prefix: str) -> list[Path]:
        return []

    return _replace_in_loaded("sandbox.stale", "sweep_stale", no_sweep, ("sandbox.", "service."))


SERVER_PATCHES["stale"] = _sabotage_stale


def _select_wait(fds: Any, timeout: float | None) -> list[Any]:
    """The sandbox's wait as it was: ``select.select``, which refuses fds numbered 1024 and above."""
    import select

    return select.select(list(fds), [], [], None if timeout is None else max(0.0, timeout))[0]


def select_wait_patch() -> list[str]:
    """Every loaded ``sandbox.*`` module waits with ``select.select`` again (for guard ``fds``)."""
    return _replace_in_loaded("sandbox.waiting", "wait_readable", _select_wait, ("sandbox.",))


# -- parent hardening: files, fds, parse, echo, health (server-side) ---------------------------


def _sabotage_files() -> list[str]:
    """Any client path counts as an upload, and Gradio's own check stays off (as mount_gradio_app leaves it)."""
    from service import gradio_compat, uploads

    def any_path(path: Any, root: Any, *, echo_chars: int = 200) -> Path:
        return Path(path)

    uploads.uploaded_file = any_path  # refused_paths and read_upload look it up here
    gradio_compat.activate_upload_check = lambda blocks: None
    return ["service.uploads.uploaded_file", "service.gradio_compat.activate_upload_check"]


def _sabotage_fds() -> list[str]:
    """Plain uvicorn connections (no idle timeout, no cap) and the sandbox's select()-based wait."""
    from uvicorn.protocols.http.h11_impl import H11Protocol

    from service import server

    server.guarded_protocol = lambda limits: H11Protocol
    return ["service.server.guarded_protocol", *select_wait_patch()]


def _sabotage_parse() -> list[str]:
    """The old decoder: stdlib json with no scan, then ast.literal_eval for anything else; the
    decoded workflow is kept while the request waits and runs."""
    import ast
    import dataclasses
    import json

    from service import request

    def naive(text: bytes, caps: Any) -> Any:
        if len(text) > caps.max_request_kb * 1024:
            raise request.RequestError("the request is over max_request_kb", {"name": "max_request_kb"})
        decoded = text.decode("utf-8", errors="replace")
        try:
            return json.loads(decoded)
        except ValueError:
            try:
                value = ast.literal_eval(decoded)
            except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                raise request.RequestError("the request is not valid JSON") from None
            if isinstance(value, dict):
                return value
            raise request.RequestError("the request is not valid JSON") from None

    @dataclasses.dataclass(frozen=True)
    class Held(request.ParsedRequest):
        workflow: Any = None  # the decoded objects, kept while the request waits and runs

    def holding(raw: Any, caps: Any) -> Any:
        workflow = request.decode_request(raw, caps)
        return Held(body=json.dumps(workflow).encode(), summary=request.summarize(workflow), workflow=workflow)

    from service import worker

    request._decode_text = naive
    worker.parse_request = holding
    return ["service.request._decode_text", "service.worker.parse_request"]


def _sabotage_echo_server() -> list[str]:
    """No bound on failures in the parent, and Gradio keeps every session's values."""
    from service import gradio_compat, worker

    worker.bound_failure = lambda envelope, caps: envelope
    gradio_compat.bound_session_values = lambda blocks, limit: None
    gradio_compat.drop_unread_results = lambda blocks, grace: None
    return ["service.worker.bound_failure", "service.gradio_compat.bound_session_values",
            "service.gradio_compat.drop_unread_results"]


def _sabotage_echo_engine() -> list[str]:
    """The engine lists every problem and echoes every string whole (in the template and its jobs)."""
    from executor import echo
    from executor.limits import TextLimits

    unbounded = TextLimits.model_construct(max_problems=10**7, max_echo_chars=10**8,
                                           max_param_chars=TextLimits().max_param_chars)
    return _replace_everywhere("executor.echo", "text_limits", lambda original: lambda: unbounded) and [
        f"{echo.__name__}.text_limits"
    ] or []


def _sabotage_health() -> list[str]:
    """The public /health shows each recent request's whole record."""
    from service import status

    status.public_outcome = lambda record: dict(record)
    return ["service.status.public_outcome"]


SERVER_PATCHES.update(
    files=_sabotage_files,
    fds=_sabotage_fds,
    parse=_sabotage_parse,
    echo=_sabotage_echo_server,
    health=_sabotage_health,
)
