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
    "caps": "request size, node count and nesting depth are capped before any child runs",
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
    if guard == "eval":
        import executor.runner  # noqa: F401 - load every module so every copy of a name is patched

        return _sabotage_eval()
    if guard == "paths":
        import executor.runner  # noqa: F401

        return _sabotage_paths()
    if guard == "urls":
        import executor.runner  # noqa: F401

        return _sabotage_urls()
    return []
