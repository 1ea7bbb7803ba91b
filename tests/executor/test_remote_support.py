"""Loopback file server and fake resolver shared by the URL and download tests (no tests here)."""

from __future__ import annotations

import http.server
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from executor.limits import DataLimits, DownloadLimits, EngineLimits


@dataclass
class Route:
    """What the server answers for one path."""

    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    content_length: bool = True
    """False = no Content-Length (the body is sent and the connection closed)."""
    trickle_seconds: float = 0.0
    """Seconds to wait before each byte (a slow server)."""
    stall_seconds: float = 0.0
    """Seconds to wait before answering at all."""


class LocalServer:
    """A threaded HTTP server on 127.0.0.1 serving ``routes``; records each request's path and Host."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.hits: list[tuple[str, str | None]] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def do_GET(self) -> None:  # noqa: N802
                server.hits.append((self.path, self.headers.get("Host")))
                route = server.routes.get(self.path) or server.routes.get(self.path.split("?", 1)[0])
                if route is None:
                    self.send_error(404)
                    return
                time.sleep(route.stall_seconds)
                self.send_response(route.status)
                for key, value in route.headers.items():
                    self.send_header(key, value)
                if route.content_length:
                    self.send_header("Content-Length", str(len(route.body)))
                self.end_headers()
                try:
                    if route.trickle_seconds:
                        for i in range(len(route.body)):
                            time.sleep(route.trickle_seconds)
                            self.wfile.write(route.body[i : i + 1])
                            self.wfile.flush()
                    else:
                        self.wfile.write(route.body)
                except OSError:
                    pass  # the client gave up (timeout and size tests)

            def log_message(self, *args: Any) -> None:
                pass

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True
            block_on_close = False

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.port = int(self.httpd.server_address[1])
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def serve(self, path: str, body: bytes | str = b"", **kwargs: Any) -> str:
        data = body.encode() if isinstance(body, str) else body
        self.routes[path] = Route(body=data, **kwargs)
        return self.url(path)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(name="server")
def server_fixture() -> Iterator[LocalServer]:
    srv = LocalServer()
    try:
        yield srv
    finally:
        srv.close()


FAKE_DNS: dict[str, list[str]] = {
    "localhost": ["127.0.0.1"],
    "loopback.test": ["127.0.0.1"],
    "loopback6.test": ["::1"],
    "private10.test": ["10.1.2.3"],
    "private172.test": ["172.16.5.4"],
    "private192.test": ["192.168.1.1"],
    "metadata.test": ["169.254.169.254"],
    "linklocal6.test": ["fe80::1"],
    "multicast.test": ["224.0.0.251"],
    "reserved.test": ["240.0.0.1"],
    "unspecified.test": ["0.0.0.0"],
    "mapped.test": ["::ffff:127.0.0.1"],
    "ula6.test": ["fd00::1"],
    "mixed.test": ["93.184.215.14", "10.0.0.1"],
    "files.test": ["127.0.0.1"],
}
"""Names the fake resolver knows; every other name fails, so no test ever uses real DNS."""


@pytest.fixture(name="fake_dns")
def fake_dns_fixture(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Resolve ``*.test`` names from FAKE_DNS and literals as literals; returns the names looked up."""
    real = socket.getaddrinfo
    looked_up: list[str] = []

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name in FAKE_DNS:
            looked_up.append(name)
            out = []
            for address in FAKE_DNS[name]:
                out.extend(real(address, port, *args, **kwargs))
            return out
        try:
            return real(name, port, *args, flags=socket.AI_NUMERICHOST)
        except socket.gaierror:
            raise socket.gaierror(socket.EAI_NONAME, f"fake resolver: {name!r} is unknown") from None

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return looked_up


def limits(
    *,
    allowed: tuple[str, ...] = ("127.0.0.1", "files.test"),
    max_download_mb: int = 4,
    timeout: float = 5.0,
    cache_dir: str = "",
    **data: int,
) -> EngineLimits:
    """Engine limits for the tests: loopback allowed by name, small caps."""
    return EngineLimits(
        data=DataLimits(**data),
        download=DownloadLimits(
            max_download_mb=max_download_mb,
            timeout_seconds=timeout,
            allowed_hosts=list(allowed),
            cache_dir=cache_dir,
        ),
    )
