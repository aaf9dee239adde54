"""The HTTP client for URLs that tenants type in (ICS feeds): never into a private network, and
never longer than a total deadline.

Checking a URL when it is saved is not enough: its name may resolve elsewhere at fetch time (DNS
rebinding) and its server may redirect anywhere. So the check sits where connections are made: a
network backend under httpx's connection pool resolves each host once, refuses the connection
unless this server may connect to every address the name resolved to (`may_connect`), and then
connects to the checked address itself, so no second lookup can answer differently. TLS still
verifies the certificate for the host name (httpcore sends the URL's host as SNI), the Host header
stays the name, and httpx follows a redirect by calling the transport again, so every hop passes
the same check before anything is sent to it.

`fetch_deadline` bounds a whole fetch (each hop's connection, TLS handshake, request, response
and body): every socket operation of the guarded client waits at most until the deadline. Only
the DNS lookup is bounded by the system resolver's own timeouts instead.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import httpcore
import httpx

__all__ = [
    "AddressRefused",
    "Deadline",
    "checked_addresses",
    "feed_client",
    "fetch_deadline",
    "may_connect",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # RFC 6052: an IPv4 address in the last 32 bits
# Not globally reachable (IANA), yet `is_global` in Pythons before 3.11.10 / 3.12.4 says it is.
_IETF_PROTOCOL_ASSIGNMENTS = ipaddress.IPv4Network("192.0.0.0/24")
_DEFAULT_TIMEOUT = httpx.Timeout(20.0, connect=5.0)
_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20)  # httpx's defaults


def may_connect(address: IPAddress) -> bool:
    """Whether this server may connect to `address` for a tenant: global unicast addresses only.

    IPv6 forms that carry an IPv4 address (IPv4-mapped, NAT64, 6to4) are judged by that address.
    """
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            return may_connect(embedded)
        if address.is_site_local:
            return False
    elif address in _IETF_PROTOCOL_ASSIGNMENTS:
        return False
    # `is_reserved` also covers IPv6 ::/8, where the deprecated IPv4-compatible forms live.
    return address.is_global and not address.is_multicast and not address.is_reserved


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFF_FFFF)
    return None


class AddressRefused(httpx.ConnectError):
    """A host resolves to an address this server may not connect to. Names the host, never an address."""

    def __init__(self, host: str) -> None:
        super().__init__(f"{host} points into a private network, which this server may not read")
        self.host = host


def _resolve(host: str, port: int) -> list[IPAddress]:
    """Every address `host` resolves to for TCP, in the resolver's order, each once.

    :raises socket.gaierror: the name does not resolve.
    """
    found: dict[IPAddress, None] = {}
    for *_, sockaddr in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        found.setdefault(ipaddress.ip_address(sockaddr[0]), None)
    return list(found)


def checked_addresses(
    host: str, port: int, *, allowed: Collection[tuple[IPAddress, int]] = ()
) -> list[IPAddress]:
    """Resolve `host` once; its addresses if this server may connect to every one of them.

    `allowed` lists (address, port) pairs let through anyway.

    :raises AddressRefused: one of the addresses is not global (a name with one private address
        among public ones is refused: the connection could use any of them).
    :raises socket.gaierror: the name does not resolve.
    """
    addresses = _resolve(host, port)
    if any(not may_connect(a) and (a, port) not in allowed for a in addresses):
        raise AddressRefused(host)
    return addresses


@dataclass(frozen=True, slots=True)
class Deadline:
    """When a fetch must be over, on the monotonic clock."""

    seconds: float
    at: float

    def remaining(self) -> float:
        """Seconds left; zero or less once it has passed."""
        return self.at - time.monotonic()

    @property
    def expired(self) -> bool:
        """Whether the deadline has passed."""
        return self.remaining() <= 0


# A context variable because the deadline belongs to the fetch, not to a pooled connection that
# the next fetch may reuse; the sync client does all its I/O in the calling thread.
_current_deadline: ContextVar[Deadline | None] = ContextVar("feed_fetch_deadline", default=None)


@contextmanager
def fetch_deadline(seconds: float) -> Iterator[Deadline]:
    """Bound everything the guarded client does in this block (this thread) to `seconds` in total."""
    deadline = Deadline(seconds, time.monotonic() + seconds)
    token = _current_deadline.set(deadline)
    try:
        yield deadline
    finally:
        _current_deadline.reset(token)


def _within_deadline(timeout: float | None, expired: Callable[[str], Exception]) -> float | None:
    """`timeout` shortened to what is left of the current fetch's deadline."""
    deadline = _current_deadline.get()
    if deadline is None:
        return timeout
    remaining = deadline.remaining()
    if remaining <= 0:
        raise expired(f"the fetch took longer than {deadline.seconds:g} s")
    return remaining if timeout is None else min(timeout, remaining)


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose every wait ends at the current fetch's deadline."""

    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _within_deadline(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _within_deadline(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        bounded = _within_deadline(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._stream.start_tls(ssl_context, server_hostname, bounded))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _GuardedNetwork(httpcore.NetworkBackend):
    """TCP connections only to checked addresses, pinned, and within the current fetch's deadline.

    With `allow_private` (an installation on a LAN) no address is refused; the host is still
    resolved once and the deadline still holds. `allowed` lets narrow (address, port) pairs
    through, e.g. a test server on loopback.
    """

    def __init__(self, *, allow_private: bool = False, allowed: Iterable[tuple[str, int]] = ()) -> None:
        self._allow_private = allow_private
        self._allowed = frozenset((ipaddress.ip_address(address), port) for address, port in allowed)
        self._tcp = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            if self._allow_private:
                addresses = _resolve(host, port)
            else:
                addresses = checked_addresses(host, port, allowed=self._allowed)
        except (OSError, UnicodeError) as exc:  # DNS failure, or a name the resolver cannot encode
            raise httpcore.ConnectError(str(exc)) from exc
        error: Exception | None = None
        for address in addresses:
            try:
                # A numeric host: the socket connects to exactly this address, with no second lookup.
                stream = self._tcp.connect_tcp(
                    str(address),
                    port,
                    timeout=_within_deadline(timeout, httpcore.ConnectTimeout),
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc  # try the name's next address, as socket.create_connection does
                continue
            return _DeadlineStream(stream)
        assert error is not None  # getaddrinfo never answers with an empty list
        raise error


class _GuardedTransport(httpx.HTTPTransport):
    """httpx's own transport (request conversion, error mapping) over connections the guard opens."""

    def __init__(
        self, network: _GuardedNetwork, *, verify: ssl.SSLContext | bool, limits: httpx.Limits
    ) -> None:
        context = httpx.create_ssl_context(verify=verify, trust_env=False)
        super().__init__(verify=context, trust_env=False, limits=limits)
        # httpx 0.28 cannot hand a network backend to its pool (encode/httpx#3749 would add it), so
        # the pool it built is replaced by the same pool over the guard.
        self._pool = httpcore.ConnectionPool(
            ssl_context=context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=network,
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        # httpcore would also open ws:// and wss:// URLs; a feed (or a redirect) is http(s) only.
        if request.url.scheme not in ("http", "https"):
            raise httpx.UnsupportedProtocol(
                f"{request.url.scheme}:// links cannot be fetched, only http:// and https://",
                request=request,
            )
        return super().handle_request(request)


def feed_client(
    *,
    allow_private: bool = False,
    timeout: httpx.Timeout = _DEFAULT_TIMEOUT,
    headers: Mapping[str, str] | None = None,
    max_redirects: int = 5,
    allowed: Iterable[tuple[str, int]] = (),
    verify: ssl.SSLContext | bool = True,
) -> httpx.Client:
    """An httpx client for tenant-supplied URLs: every connection of every redirect hop checked.

    Refused connections raise `AddressRefused`. Wrap each fetch in `fetch_deadline` to bound it
    as a whole; `timeout` still bounds each read. No proxies from the environment (a proxy would
    connect for us, unchecked) and no ~/.netrc passwords sent to a tenant's server.
    """
    network = _GuardedNetwork(allow_private=allow_private, allowed=allowed)
    return httpx.Client(
        transport=_GuardedTransport(network, verify=verify, limits=_LIMITS),
        timeout=timeout,
        headers=headers,
        follow_redirects=True,
        max_redirects=max_redirects,
        trust_env=False,
    )
