"""No fd ceiling: the parent keeps running jobs when its fds are numbered above 1024.

``select.select`` refuses such fds ("filedescriptor out of range in select()"); a parent serving
about a thousand client connections gets there. With the fds of this test process pushed past
1024, a fresh sandbox must start its template, answer a status ping and run jobs to their right
outcomes: every wait of the parent (template start, ping, job socket, runner pidfd) sees a high fd.
"""

from __future__ import annotations

import os
import resource
from collections.abc import Iterator

import pytest

from sandbox import Sandbox

from .conftest import assert_cleaned_up, make_sandbox

_SELECT_CEILING = 1024  # FD_SETSIZE on Linux
_WANTED_SOFT = 2048
_EXTRA_FDS = 1100


@pytest.fixture
def high_fds() -> Iterator[list[int]]:
    """Raise RLIMIT_NOFILE's soft limit and hold enough fds that every new one is above 1024."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < _WANTED_SOFT:
        pytest.skip(f"RLIMIT_NOFILE hard limit {hard} < {_WANTED_SOFT}: cannot open fds above {_SELECT_CEILING}")
    if soft != resource.RLIM_INFINITY and soft < _WANTED_SOFT:
        resource.setrlimit(resource.RLIMIT_NOFILE, (_WANTED_SOFT, hard))
    held: list[int] = []
    try:
        while len(held) < _EXTRA_FDS or held[-1] <= _SELECT_CEILING:
            held.append(os.open(os.devnull, os.O_RDONLY))
        probe = os.open(os.devnull, os.O_RDONLY)
        os.close(probe)
        assert probe > _SELECT_CEILING, f"a new fd is {probe}, not above {_SELECT_CEILING}"
        yield held
    finally:
        for fd in held:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_jobs_run_when_the_parents_fds_are_above_1024(high_fds: list[int]) -> None:
    sb: Sandbox = make_sandbox()
    with sb:  # the template's start waits on a socket numbered above 1024
        assert sb.status()["template"]["threads"] == 1  # the ping, too
        ok = sb.run("tests.sandbox.targets:echo", {"x": 1})
        assert ok.ok, ok.to_dict()
        assert ok.value["payload"] == {"x": 1}
        assert_cleaned_up(sb, ok)

        slow = sb.run("sandbox.faults:target", {"kind": "sleep", "seconds": 30}, wall_clock_seconds=1.0)
        assert slow.code == "timeout", slow.to_dict()
        assert_cleaned_up(sb, slow)

        again = sb.run("sandbox.faults:target", {"kind": "sleep", "seconds": 0})
        assert again.ok, again.to_dict()
