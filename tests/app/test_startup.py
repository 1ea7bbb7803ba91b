"""Start-up: an invalid limits file stops the app with the ConfigError message; address rules.

``service.http`` imports Gradio (~5 s): it is imported inside the tests that need it, which are
``slow``, so the fast loop (``-m "not slow"``) never pays for it, not even at collection.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.app.conftest import ROOT, Server


@pytest.mark.slow
def test_an_invalid_limits_file_stops_start_up_with_the_config_error(tmp_path: pytest.TempPathFactory) -> None:
    limits = tmp_path / "limits.toml"  # type: ignore[operator]
    limits.write_text("[queue]\nmax_concurrent_jobs = 0\nmax_waitting = 3\n")
    env = {**os.environ, "WORKER_LIMITS_FILE": str(limits), "GRADIO_SERVER_PORT": "1"}
    proc = subprocess.run([sys.executable, "app.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert f"invalid limits file {limits}" in proc.stderr
    assert "queue.max_concurrent_jobs = 0" in proc.stderr
    assert "max_waitting" in proc.stderr


@pytest.mark.slow
def test_a_space_binds_all_interfaces_on_7860(monkeypatch: pytest.MonkeyPatch) -> None:
    from service.http import server_address

    monkeypatch.setenv("SPACE_ID", "someone/automl-worker")
    monkeypatch.delenv("GRADIO_SERVER_NAME", raising=False)
    monkeypatch.delenv("GRADIO_SERVER_PORT", raising=False)
    assert server_address() == ("0.0.0.0", 7860)


@pytest.mark.slow
def test_off_a_space_the_gradio_variables_are_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    from service.http import server_address

    monkeypatch.delenv("SPACE_ID", raising=False)
    monkeypatch.delenv("GRADIO_SERVER_NAME", raising=False)
    monkeypatch.delenv("GRADIO_SERVER_PORT", raising=False)
    assert server_address() == ("127.0.0.1", 7860)
    monkeypatch.setenv("GRADIO_SERVER_NAME", "0.0.0.0")
    monkeypatch.setenv("GRADIO_SERVER_PORT", "8123")
    assert server_address() == ("0.0.0.0", 8123)


@pytest.mark.slow
@pytest.mark.network_server
def test_sigterm_stops_the_server_and_removes_its_temp_dirs(sigterm_server: Server) -> None:
    """A Space restarting sends SIGTERM: the sandbox is closed, and nothing of it stays in TMPDIR."""
    from bench.loopback import call_predict, stop_server
    from tests.servers import SIGTERM

    server = sigterm_server  # the repo's limits.toml; TMPDIR is a dir of its own
    assert SIGTERM.spec is not None and SIGTERM.spec.tmpdir is not None
    tmp = SIGTERM.spec.tmpdir
    try:
        answer = call_predict(server.url, (ROOT / "examples" / "iris_random_forest.json").read_text())
        assert answer is not None and answer["status"] == "completed"
        made = {p.name.split("-")[0] + "-" + p.name.split("-")[1] for p in tmp.iterdir() if "-" in p.name}
        assert made == {"sandbox-jobs", "worker-ui"}  # TMPDIR is where it writes
    finally:
        stop_server(server)  # SIGTERM
    assert server.proc.returncode == 128 + 15  # exited through Python, not killed by the signal
    assert [p.name for p in tmp.iterdir()] == ["gradio"]  # Gradio's own cache; the sandbox's and the UI's dirs are gone
