"""Fetch one http(s) URL into memory, refusing internal addresses, with a size cap and a deadline.

    check_url(url)            scheme http/https, a host, no user:password@
    resolve -> check_address  every address the host resolves to must be public
    connect to that address   (pinned: no second DNS look-up), Host header and TLS SNI = the name
    3xx -> same checks again  at most ``max_redirects`` hops
    stream the body           refused past ``max_bytes`` (Content-Length first), all within the deadline

Nothing is written to disk and nothing fetched is ever unpickled. ``check_url`` and
``check_address`` are the only guards: each raises :class:`FetchError` on refusal and returns None.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from executor.echo import shown

__all__ = ["FetchError", "Fetched", "address_class", "check_address", "check_url", "fetch"]

DEFAULT_MAX_REDIRECTS = 5
"""Redirect hops followed before giving up (presigned storage URLs need at most one or two)."""

_CHUNK = 64 * 1024
_REDIRECTS = (301, 302, 303, 307, 308)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class FetchError(Exception):
    """A URL was refused or could not be fetched; ``kind`` says which and ``url`` which hop."""

    def __init__(self, message: str, *, kind: str, url: str) -> None:
        super().__init__(message)
        self.kind = kind
        """``refused``, ``too_large``, ``timeout``, ``http`` or ``network``."""
        self.url = url


@dataclass(frozen=True)
class Fetched:
    """A fetched body and what the server said about it."""

    data: bytes
    url: str
    """The final URL, after redirects."""
    content_type: str | None


def _host_allowed(host: str, allowed_hosts: Sequence[str]) -> bool:
    wanted = host.lower().strip("[]")
    return any(wanted == h.lower().strip("[]") for h in allowed_hosts)


def check_url(url: str, allowed_hosts: Sequence[str] = ()) -> None:
    """Refuse anything but an absolute http(s) URL with a host and no embedded credentials."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise FetchError(f"not a valid URL ({exc})", kind="refused", url=url) from None
    if parts.scheme not in ("http", "https"):
        raise FetchError(f"scheme {shown(parts.scheme or 'none')} is not allowed; only http and https",
                         kind="refused", url=url)
    if not parts.hostname:
        raise FetchError("the URL has no host", kind="refused", url=url)
    if parts.username is not None or parts.password is not None:
        raise FetchError("credentials in the URL (user:password@) are not allowed", kind="refused", url=url)
    if port == 0:
        raise FetchError("port 0 is not allowed", kind="refused", url=url)


def address_class(ip: str) -> str | None:
    """The reason an address may not be fetched (``loopback``, ``private``, ...), or None if public."""
    addr = ipaddress.ip_address(ip.split("%", 1)[0])
    if isinstance(addr, ipaddress.IPv6Address):
        embedded = addr.ipv4_mapped or addr.sixtofour or (addr.teredo[1] if addr.teredo else None)
        if embedded is None and addr in _NAT64:
            embedded = ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)
        if embedded is not None:
            inner = address_class(str(embedded))
            return f"{inner} (embedded in {addr})" if inner else None
    for name, flag in (
        ("unspecified", addr.is_unspecified),
        ("loopback", addr.is_loopback),
        ("link-local", addr.is_link_local),
        ("multicast", addr.is_multicast),
        ("reserved", addr.is_reserved),
        ("private", addr.is_private),
    ):
        if flag:
            return name
    if not addr.is_global:
        return "not globally routable"
    return None


def check_address(host: str, ip: str, allowed_hosts: Sequence[str] = ()) -> None:
    """Refuse an address that is not public unless the operator allowed ``host`` by name."""
    if _host_allowed(host, allowed_hosts):
        return
    reason = address_class(ip)
    if reason:
        raise FetchError(
            f"host {shown(host)} resolves to {ip} ({reason}); only public addresses may be fetched "
            "(operators may allow a host in limits.toml [download] allowed_hosts)",
            kind="refused",
            url=host,
        )


def _resolve(host: str, port: int, url: str) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError) as exc:
        raise FetchError(f"host {shown(host)} does not resolve ({exc})", kind="network", url=url) from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise FetchError(f"host {shown(host)} does not resolve", kind="network", url=url)
    return addresses


class _PinnedHTTP(http.client.HTTPConnection):
    """Connects to a checked address while the Host header keeps the URL's name."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    """TLS to a checked address; SNI and certificate checks use the URL's name."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        raw = socket.create_connection((self._address, self.port), self.timeout)
        try:
            self.sock = self._context.wrap_socket(raw, server_hostname=self.host)  # type: ignore[attr-defined]
        except BaseException:
            raw.close()
            raise


class _Deadline:
    """Closes the connection's socket when the time is up, so no slow read outlives it."""

    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds
        self.expired = False
        self._timer: threading.Timer | None = None

    def remaining(self, url: str) -> float:
        left = self.end - time.monotonic()
        if left <= 0:
            self.expired = True
            raise FetchError("the download timed out", kind="timeout", url=url)
        return left

    def arm(self, conn: http.client.HTTPConnection, url: str) -> None:
        def expire() -> None:
            self.expired = True
            sock = conn.sock
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

        self._timer = threading.Timer(self.remaining(url), expire)
        self._timer.daemon = True
        self._timer.start()

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()


def _open(url: str, allowed_hosts: Sequence[str], deadline: _Deadline) -> http.client.HTTPConnection:
    check_url(url, allowed_hosts)
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    addresses = _resolve(host, port, url)
    for ip in addresses:  # every address must pass, not only the one we connect to
        check_address(host, ip, allowed_hosts)
    last: Exception | None = None
    for ip in addresses:
        cls = _PinnedHTTPS if parts.scheme == "https" else _PinnedHTTP
        conn = cls(host, port, ip, deadline.remaining(url))
        try:
            conn.connect()
            return conn
        except PermissionError:  # EACCES from Landlock: this job may not connect to that port
            conn.close()
            raise FetchError(
                f"the job may not connect to port {port} of {shown(host)}: a job connects only to the ports of "
                "its workflow's dataset URLs and [guards] connect_ports (a redirect to another port is refused)",
                kind="refused", url=url,
            ) from None
        except TimeoutError:  # the socket's timeout is the time the download had left
            conn.close()
            raise FetchError("the download timed out", kind="timeout", url=url) from None
        except (OSError, ssl.SSLError) as exc:
            conn.close()
            last = exc
    raise FetchError(f"cannot connect to {shown(host)} ({last})", kind="network", url=url)


def _read_body(resp: http.client.HTTPResponse, url: str, max_bytes: int, deadline: _Deadline) -> bytes:
    length = resp.getheader("Content-Length")
    if length and length.strip().isdigit() and int(length) > max_bytes:
        raise FetchError(
            f"the file is {int(length)} bytes, over the limit of {max_bytes} bytes", kind="too_large", url=url
        )
    body = bytearray()
    while True:
        chunk = resp.read1(_CHUNK) if hasattr(resp, "read1") else resp.read(_CHUNK)
        if deadline.expired:
            raise FetchError("the download timed out", kind="timeout", url=url)
        if not chunk:
            return bytes(body)
        body += chunk
        if len(body) > max_bytes:
            raise FetchError(f"the file is over the limit of {max_bytes} bytes", kind="too_large", url=url)


def fetch(
    url: str,
    *,
    max_bytes: int,
    timeout_seconds: float,
    allowed_hosts: Sequence[str] = (),
    max_redirects: int = DEFAULT_MAX_REDIRECTS,
) -> Fetched:
    """GET ``url`` (following checked redirects) into memory, or raise :class:`FetchError`."""
    deadline = _Deadline(timeout_seconds)
    current = url
    for _hop in range(max_redirects + 1):
        conn = _open(current, allowed_hosts, deadline)
        resp: http.client.HTTPResponse | None = None
        try:
            deadline.arm(conn, current)
            parts = urlsplit(current)
            target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            conn.request(
                "GET", target, headers={"Accept-Encoding": "identity", "User-Agent": "automl-worker"}
            )
            resp = conn.getresponse()
            if resp.status in _REDIRECTS and resp.getheader("Location"):
                current = urljoin(current, resp.getheader("Location", ""))
                continue
            if resp.status != 200:
                raise FetchError(
                    f"the server answered HTTP {resp.status} {resp.reason}", kind="http", url=current
                )
            data = _read_body(resp, current, max_bytes, deadline)
            return Fetched(data=data, url=current, content_type=resp.getheader("Content-Type"))
        except FetchError:
            raise
        except (OSError, http.client.HTTPException, ssl.SSLError) as exc:
            # A socket timeout is the deadline too: the socket's timeout is the time that was left,
            # so it can fire just before the deadline's timer thread has run.
            if deadline.expired or isinstance(exc, TimeoutError):
                raise FetchError("the download timed out", kind="timeout", url=current) from None
            raise FetchError(f"the download failed ({exc})", kind="network", url=current) from None
        finally:
            deadline.cancel()
            if resp is not None:
                resp.close()
            conn.close()
    raise FetchError(f"more than {max_redirects} redirects", kind="refused", url=current)
