"""Test-only hook (tests/security): applies ``$WORKER_TEST_SABOTAGE`` in a server or sandbox process.

It is on PYTHONPATH only for servers started by the deny tests with ``--sabotage``. In the server
it patches ``Sandbox.__init__`` (leaking the environment for ``env``, or passing this hook on to
the template and jobs); in a template (``-m sandbox._template_main``) it turns the engine guard off.
"""

import os
import sys

_guard = os.environ.get("WORKER_TEST_SABOTAGE")
if _guard:
    try:
        from tests.security import sabotage

        if "sandbox._template_main" in " ".join(sys.orig_argv):
            done = sabotage.apply_in_process(_guard)
        else:
            done = sabotage.patch_server(_guard)
        print(f"SABOTAGE {_guard!r} in pid {os.getpid()}: {done}", file=sys.stderr, flush=True)
    except Exception as exc:  # a broken hook must be visible, not silently skipped
        print(f"SABOTAGE {_guard!r} FAILED in pid {os.getpid()}: {exc!r}", file=sys.stderr, flush=True)
        raise
