"""executor.datasets.remote: schemes, refused address classes, pinned connects, redirects, size, time."""

from __future__ import annotations

import socket
import time
from typing import Any

import pytest

from executor.datasets import remote
from executor.datasets.remote import FetchError, address_class, check_url, fetch
from tests.executor.test_remote_support import LocalServer, fake_dns_fixture, server_fixture  # noqa: F401

MB = 1 << 20


def _fetch(url: str, allowed: tuple[str, ...] = ("127.0.0.1",), **kwargs: Any) -> remote.Fetched:
    options: dict[str, Any] = {"max_bytes": MB, "timeout_seconds": 5.0, "allowed_hosts": allowed, **kwargs}
    return fetch(url, **options)


@pytest.mark.parametrize(
    "ip, reason",
    [
        ("127.0.0.1", "loopback"),
        ("127.255.255.254", "loopback"),
        ("::1", "loopback"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("10.0.0.1", "private"),
        ("172.31.255.1", "private"),
        ("192.168.0.1", "private"),
        ("fd12:3456::1", "private"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("100.64.0.1", "not globally routable"),
        ("::ffff:127.0.0.1", "loopback (embedded in ::ffff:7f00:1)"),
        ("::ffff:169.254.169.254", "link-local (embedded in ::ffff:a9fe:a9fe)"),
        ("2002:7f00:1::", "loopback (embedded in 2002:7f00:1::)"),
        ("64:ff9b::a00:1", "private (embedded in 64:ff9b::a00:1)"),
        ("8.8.8.8", None),
        ("93.184.215.14", None),
        ("2606:4700:4700::1111", None),
        ("::ffff:8.8.8.8", None),
    ],
)
def test_address_class_names_why_an_address_is_refused(ip: str, reason: str | None) -> None:
    assert address_class(ip) == reason


@pytest.mark.parametrize(
    "url, match",
    [
        ("file:///etc/passwd", "scheme 'file' is not allowed"),
        ("ftp://example.com/data.csv", "scheme 'ftp' is not allowed"),
        ("gopher://example.com/_GET", "scheme 'gopher' is not allowed"),
        ("data:text/csv,a,b", "scheme 'data' is not allowed"),
        ("jar:http://example.com/x!/y", "scheme 'jar' is not allowed"),
        ("/etc/passwd", "scheme 'none' is not allowed"),
        ("http:///data.csv", "has no host"),
        ("http://user:secret@example.com/data.csv", "credentials in the URL"),
        ("http://example.com:0/data.csv", "port 0"),
        ("http://example.com:99999/data.csv", "not a valid URL"),
    ],
)
def test_check_url_refuses_non_http_and_odd_urls(url: str, match: str) -> None:
    with pytest.raises(FetchError, match=match) as info:
        check_url(url)
    assert info.value.kind == "refused"


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "127.1",
        "2130706433",
        "0x7f000001",
        "0.0.0.0",
        "[::1]",
        "[::ffff:127.0.0.1]",
        "169.254.169.254",
        "10.0.0.1",
        "192.168.0.1",
        "loopback.test",
        "loopback6.test",
        "private10.test",
        "private172.test",
        "private192.test",
        "metadata.test",
        "linklocal6.test",
        "multicast.test",
        "reserved.test",
        "unspecified.test",
        "mapped.test",
        "ula6.test",
        "mixed.test",
    ],
)
def test_fetch_refuses_every_internal_address_before_connecting(
    host: str, fake_dns: list[str], server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    connects: list[Any] = []
    monkeypatch.setattr(
        socket, "create_connection", lambda *a, **k: connects.append(a) or (_ for _ in ()).throw(OSError)
    )
    url = server.serve("/data.csv", "a,b\n1,2\n").replace("127.0.0.1", host)
    with pytest.raises(FetchError, match="only public addresses") as info:
        _fetch(url, allowed=())
    assert info.value.kind == "refused"
    assert connects == [] and server.hits == []


def test_allowed_hosts_let_an_operator_fetch_a_named_internal_host(
    fake_dns: list[str], server: LocalServer
) -> None:
    url = server.serve("/data.csv", "a,b\n1,2\n").replace("127.0.0.1", "files.test")
    got = _fetch(url, allowed=("files.test",))
    assert got.data == b"a,b\n1,2\n"
    assert server.hits == [("/data.csv", f"files.test:{server.port}")]  # Host header keeps the name


def test_fetch_connects_to_the_address_it_checked_without_resolving_again(
    fake_dns: list[str], server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.executor import test_remote_support as support

    monkeypatch.setitem(support.FAKE_DNS, "files.test", ["127.0.0.1"])
    seen: list[Any] = []
    real = socket.create_connection

    def create_connection(address: Any, *args: Any, **kwargs: Any) -> socket.socket:
        seen.append(address)
        support.FAKE_DNS["files.test"] = ["10.9.9.9"]  # a rebinding attacker changes the answer now
        return real(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", create_connection)
    url = server.serve("/d.csv", "x\n1\n").replace("127.0.0.1", "files.test")
    assert _fetch(url, allowed=("files.test",)).data == b"x\n1\n"
    assert fake_dns == ["files.test"] and seen == [("127.0.0.1", server.port)]


@pytest.mark.parametrize(
    "location, match",
    [
        ("http://localhost:{port}/data.csv", "resolves to 127.0.0.1"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://metadata.test/latest/", "link-local"),
        ("http://[::1]:{port}/data.csv", "loopback"),
        ("file:///etc/passwd", "scheme 'file'"),
        ("ftp://127.0.0.1/data.csv", "scheme 'ftp'"),
    ],
)
def test_each_redirect_is_checked_again(
    location: str, match: str, fake_dns: list[str], server: LocalServer
) -> None:
    server.serve("/data.csv", "secret\n1\n")
    url = server.serve("/go", status=302, headers={"Location": location.format(port=server.port)})
    with pytest.raises(FetchError, match=match):
        _fetch(url)
    assert [path for path, _ in server.hits] == ["/go"]


def test_redirects_are_followed_within_the_bound(server: LocalServer) -> None:
    server.serve("/data.csv", "a\n1\n", headers={"Content-Type": "text/csv"})
    server.serve("/two", status=307, headers={"Location": "/data.csv"})
    url = server.serve("/one", status=301, headers={"Location": server.url("/two")})
    got = _fetch(url)
    assert got.data == b"a\n1\n" and got.url.endswith("/data.csv") and got.content_type == "text/csv"
    server.serve("/loop", status=302, headers={"Location": "/loop"})
    with pytest.raises(FetchError, match="more than 2 redirects"):
        _fetch(server.url("/loop"), max_redirects=2)
    assert len([p for p, _ in server.hits if p == "/loop"]) == 3


@pytest.mark.parametrize("content_length", [True, False])
def test_a_body_over_the_cap_is_refused(content_length: bool, server: LocalServer) -> None:
    url = server.serve("/big.csv", b"x" * (MB + 10), content_length=content_length)
    with pytest.raises(FetchError, match="over the limit") as info:
        _fetch(url, max_bytes=MB)
    assert info.value.kind == "too_large"
    assert len(_fetch(url, max_bytes=2 * MB).data) == MB + 10  # a higher cap lets it through


SLOW_ROUTES = [
    pytest.param({"trickle_seconds": 0.1}, 30.0, id="trickle"),  # 300 bytes, one per 0.1 s: 30 s in all
    pytest.param({"stall_seconds": 30.0}, 30.0, id="stall"),  # 30 s before the first byte
]


@pytest.mark.parametrize(("route", "server_seconds"), SLOW_ROUTES)
def test_a_slow_server_hits_the_whole_download_timeout(
    route: dict[str, float], server_seconds: float, server: LocalServer
) -> None:
    """0.5 s for the whole download: the fetch gives up long before the server would be done.

    Whichever stops the read first (the download's deadline or the socket's own timeout of the same
    length) is a matter of scheduling; either way the answer is a timeout (it once was "network"
    when the socket's timeout fired first, on a busy machine).
    """
    url = server.serve("/slow.csv", b"a,b\n" * 75, **route)
    start = time.monotonic()
    with pytest.raises(FetchError, match="timed out") as info:
        _fetch(url, timeout_seconds=0.5)
    assert time.monotonic() - start < server_seconds / 2  # it did not wait for the server
    assert info.value.kind == "timeout"


@pytest.mark.parametrize(
    "status, kind, match",
    [(404, "http", "HTTP 404"), (500, "http", "HTTP 500"), (302, "http", "HTTP 302")],
)
def test_http_errors_are_reported_with_their_status(
    status: int, kind: str, match: str, server: LocalServer
) -> None:
    url = server.serve("/x", b"nope", status=status)
    with pytest.raises(FetchError, match=match) as info:
        _fetch(url)
    assert info.value.kind == kind


def test_an_unknown_host_is_a_network_error(fake_dns: list[str]) -> None:
    with pytest.raises(FetchError, match="does not resolve") as info:
        _fetch("https://nowhere.invalid/data.csv")
    assert info.value.kind == "network"
