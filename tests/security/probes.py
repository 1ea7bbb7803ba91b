"""Where the engine's guards live, for the sabotage switch, and attacker-side helpers.

The names below are looked up, not imported: a name missing from the engine makes the sabotage of
that guard patch nothing, and .ci/sabotage then reports the guard's deny tests as unable to fail.
"""

from __future__ import annotations

from typing import Any

SAMPLE_LOADERS: list[tuple[str, str]] = [("executor.datasets", "load_dataset")]
"""(module, function) that turn a dataset id into a frame."""

URL_CHECKERS: list[tuple[str, str]] = [
    ("executor.datasets.remote", "check_url"),
    ("executor.datasets.remote", "check_address"),
]
"""(module, function) that refuse a URL or an address (raise on refusal, return on success)."""


def dataset_id_of(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    for value in (*args, *kwargs.values()):
        if isinstance(value, str):
            return value
        for attr in ("url", "dataset_url", "dataset_id"):
            ident = getattr(value, attr, None)
            if isinstance(ident, str):
                return ident
    return None


# -- audit: what the process opened and where it connected ---------------------------------------

_RECORDERS: list[dict[str, list[Any]]] = []
_HOOKED = False


def _hook(event: str, args: tuple[Any, ...]) -> None:
    if not _RECORDERS:
        return
    if event == "open" and args and isinstance(args[0], (str, bytes)):
        for rec in _RECORDERS:
            rec["open"].append(str(args[0]))
    elif event == "socket.connect" and len(args) > 1:
        address = args[1]
        for rec in _RECORDERS:
            rec["connect"].append(address)
        host = address[0] if isinstance(address, tuple) and address else address
        if not any(host in rec["allow_connect"] for rec in _RECORDERS):
            raise PermissionError(f"test audit hook: connection to {address!r} blocked (never real network)")
    elif event == "socket.getaddrinfo" and args:
        for rec in _RECORDERS:
            rec["resolve"].append(args[0])


class Audit:
    """Records every file opened, name resolved and connection attempted while active.

    Connections to hosts not in ``allow_connect`` are also *blocked* (the hook raises), so a test
    never reaches a real external or metadata address even when a guard is sabotaged.
    """

    def __init__(self, allow_connect: tuple[str, ...] = ()) -> None:
        global _HOOKED
        if not _HOOKED:
            import sys

            sys.addaudithook(_hook)
            _HOOKED = True
        self.rec: dict[str, list[Any]] = {
            "open": [],
            "connect": [],
            "resolve": [],
            "allow_connect": list(allow_connect),
        }

    def __enter__(self) -> Audit:
        _RECORDERS.append(self.rec)
        return self

    def __exit__(self, *exc: object) -> None:
        _RECORDERS.remove(self.rec)

    @property
    def opened(self) -> list[str]:
        return self.rec["open"]

    @property
    def connected(self) -> list[Any]:
        return self.rec["connect"]


def wrap_frame(original: Any, args: Any, kwargs: Any, frame: Any) -> Any:
    return frame
