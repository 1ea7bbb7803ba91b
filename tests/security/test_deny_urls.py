"""Dataset URLs never reach loopback, private or link-local addresses, by literal or by DNS name.

Guard: ``urls`` (the engine's download refuses such addresses after resolution; operators may
allow hosts in limits.toml ``[download] allowed_hosts``). Proof by side effect: a loopback server
holding a valid CSV counts its hits, and an audit hook records (and blocks, so a test never touches
a real network) every connection attempted while the engine runs. Name resolution is faked in
process: ``*.test`` names resolve to loopback / link-local / private addresses; nothing else resolves.
``--sabotage=urls`` lists every host of these tests in ``allowed_hosts`` and replaces the engine's
URL/address checkers (tests/security/probes.py, URL_CHECKERS) with ones that allow everything.
"""

from __future__ import annotations

import http.server
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fuzz.envelope import check_envelope
from tests.security.probes import Audit
from tests.security.sabotage import apply_in_process

CSV = "a,b,target\n" + "\n".join(f"{i % 7},{(i * 3) % 5},{i % 2}" for i in range(60)) + "\n"

FAKE_DNS = {
    "internal.test": "127.0.0.1",
    "metadata.test": "169.254.169.254",
    "intranet.test": "10.1.2.3",
    "v6loop.test": "::1",
    "localhost": "127.0.0.1",  # what /etc/hosts says; the test resolver does no real lookups
}


class _Handler(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:  # noqa: N802
        _Handler.hits.append(self.path)
        body = CSV.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/csv")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def loopback_server() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def fake_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        if name in FAKE_DNS:
            return real(FAKE_DNS[name], port, *args, **kwargs)
        try:  # literals (127.0.0.1, ::1, 2130706433) resolve without DNS; names do not
            return real(name, port, *args, flags=socket.AI_NUMERICHOST)
        except socket.gaierror:
            raise socket.gaierror(
                socket.EAI_NONAME, f"test resolver: {name!r} does not resolve (no real DNS)"
            ) from None

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def _urls(port: int) -> dict[str, str]:
    return {
        "loopback_v4": f"http://127.0.0.1:{port}/data.csv",
        "localhost": f"http://localhost:{port}/data.csv",
        "loopback_short": f"http://127.1:{port}/data.csv",
        "loopback_decimal": f"http://2130706433:{port}/data.csv",
        "unspecified": f"http://0.0.0.0:{port}/data.csv",
        "loopback_v6": f"http://[::1]:{port}/data.csv",
        "link_local_metadata": "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
        "private_10": "http://10.0.0.1/data.csv",
        "private_192": f"http://192.168.0.1:{port}/data.csv",
        "dns_to_loopback": f"http://internal.test:{port}/data.csv",
        "dns_to_link_local": "http://metadata.test/latest/meta-data/",
        "dns_to_private": "http://intranet.test/data.csv",
        "dns_to_v6_loopback": f"http://v6loop.test:{port}/data.csv",
        "https_loopback": f"https://127.0.0.1:{port}/data.csv",
        "ftp_scheme": f"ftp://127.0.0.1:{port}/data.csv",
        "gopher_scheme": f"gopher://127.0.0.1:{port}/_GET",
    }


CASES = sorted(_urls(0))
HOSTS = [
    "127.0.0.1",
    "localhost",
    "127.1",
    "2130706433",
    "0.0.0.0",
    "::1",
    "[::1]",
    "169.254.169.254",
    "10.0.0.1",
    "192.168.0.1",
    *FAKE_DNS,
]


def _wf(url: str) -> dict[str, Any]:
    cfg = {
        "dataset_id": "user-upload",
        "is_sample": False,
        "dataset_url": url,
        "target_column": "target",
        "problem_type": "classification",
    }
    return {
        "nodes": [
            {"id": "dataset-1", "type": "dataset", "config": cfg},
            {
                "id": "model-2",
                "type": "model",
                "config": {"algorithm": "decision_tree", "hyperparameters": {}},
            },
        ],
        "edges": [{"id": "e1", "source": "dataset-1", "target": "model-2"}],
    }


def run_engine(workflow: Any, sabotage: str | None, tmp_path: Path) -> dict[str, Any]:
    from executor.entry import run
    from sandbox import JobContext
    from service.config import Settings

    apply_in_process(sabotage)
    limits = Settings().engine_limits()
    limits["download"] = {**limits["download"], "timeout_seconds": 3}
    if sabotage == "urls":
        limits["download"]["allowed_hosts"] = HOSTS
    (tmp_path / "job").mkdir(exist_ok=True)
    ctx = JobContext.local(tmpdir=tmp_path / "job")
    return run({"workflow": workflow, "limits": limits, "fault_injection": False, "request_id": "deny"}, ctx)


@pytest.mark.parametrize("case", CASES)
def test_deny_urls_dataset_url_cannot_reach_internal_addresses(
    case: str, loopback_server: int, fake_dns: None, tmp_path: Path, sabotage: str | None
) -> None:
    url = _urls(loopback_server)[case]
    _Handler.hits.clear()
    with Audit(allow_connect=("127.0.0.1",)) as audit:
        answer = run_engine(_wf(url), sabotage, tmp_path)
    assert _Handler.hits == [], f"the engine fetched {url} from the loopback server"
    assert audit.connected == [], f"the engine tried to connect to {audit.connected} for {url}"
    check_envelope(answer)
    assert answer["status"] == "failed" and answer["errorCode"] in ("dataset_error", "invalid_workflow"), (
        answer
    )
    assert "a,b,target" not in json.dumps(answer)
