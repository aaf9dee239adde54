"""The guarded client for tenants' feed URLs, over real HTTP on loopback.

Loopback is exactly what the guard refuses, so the first hop of a redirect test is let through
with the guard's narrow `allowed` parameter (the test server's own address and port); every other
address is judged as in production.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest
import trustme

from connectors.calendars.feed_http import AddressRefused, feed_client, fetch_deadline
from tests.support.http_feed import FeedState, feed_server

FEED = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n"


def endpoint(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    assert parts.hostname is not None
    assert parts.port is not None
    return parts.hostname, parts.port


@pytest.fixture
def target() -> Iterator[tuple[FeedState, str]]:
    """A server on loopback that redirects and drips may point at: it must never be reached."""
    state = FeedState(body=b"internal secrets")
    with feed_server(state) as url:
        yield state, url


def test_a_name_that_resolves_to_loopback_is_refused_before_connecting() -> None:
    state = FeedState(body=FEED)
    with feed_server(state) as url, feed_client() as client, pytest.raises(AddressRefused) as caught:
        client.get(url.replace("127.0.0.1", "localhost"))
    assert caught.value.host == "localhost"
    assert "127.0.0.1" not in str(caught.value)
    assert (state.connections, state.requests) == (0, [])


def test_an_allowed_endpoint_is_fetched() -> None:
    state = FeedState(body=FEED)
    with feed_server(state) as url, feed_client(allowed=[endpoint(url)]) as client:
        assert client.get(url).content == FEED


@pytest.mark.parametrize("allow_private", [False, True])
def test_a_redirect_to_another_loopback_port_is_checked_at_the_hop(
    target: tuple[FeedState, str], allow_private: bool
) -> None:
    inner, inner_url = target
    state = FeedState(redirect_to=inner_url)
    with (
        feed_server(state) as url,
        feed_client(allow_private=allow_private, allowed=[endpoint(url)]) as client,
    ):
        if allow_private:
            assert client.get(url).content == b"internal secrets"
            return
        with pytest.raises(AddressRefused) as caught:
            client.get(url)
    assert caught.value.host == "127.0.0.1"
    assert caught.value.request.url == inner_url
    assert state.requests == ["/calendar.ics"]
    assert (inner.connections, inner.requests) == (0, [])


@pytest.mark.parametrize(
    ("location", "host"),
    [
        ("http://169.254.169.254/latest/meta-data/iam/", "169.254.169.254"),
        ("http://[::ffff:169.254.169.254]/latest/meta-data/", "::ffff:169.254.169.254"),
        ("http://[64:ff9b::a9fe:a9fe]/latest/meta-data/", "64:ff9b::a9fe:a9fe"),
        ("http://[::1]:8080/admin", "::1"),
        ("https://localhost/admin", "localhost"),
        ("http://10.0.0.1/", "10.0.0.1"),
    ],
)
def test_a_redirect_into_a_private_network_is_refused_at_the_hop(location: str, host: str) -> None:
    state = FeedState(redirect_to=location)
    with (
        feed_server(state) as url,
        feed_client(allowed=[endpoint(url)]) as client,
        pytest.raises(AddressRefused) as caught,
    ):
        client.get(url)
    assert caught.value.host == host
    assert state.requests == ["/calendar.ics"]


@pytest.mark.parametrize("location", ["ftp://calendar.example.org/feed.ics", "ws://calendar.example.org/"])
def test_redirects_lead_only_to_http_and_https(location: str) -> None:
    state = FeedState(redirect_to=location)
    with (
        feed_server(state) as url,
        feed_client(allowed=[endpoint(url)]) as client,
        pytest.raises(httpx.UnsupportedProtocol, match="only http:// and https://"),
    ):
        client.get(url)


def test_redirects_are_bounded() -> None:
    state = FeedState()
    with feed_server(state) as url, feed_client(allowed=[endpoint(url)], max_redirects=3) as client:
        state.redirect_to = url
        with pytest.raises(httpx.TooManyRedirects):
            client.get(url)
    assert len(state.requests) == 4  # the link and three redirects


def test_proxies_from_the_environment_are_not_used(monkeypatch: pytest.MonkeyPatch) -> None:
    proxy = FeedState(body=b"from the proxy")
    state = FeedState(body=FEED)
    with feed_server(proxy) as proxy_url, feed_server(state) as url:
        for name in ("NO_PROXY", "no_proxy"):
            monkeypatch.delenv(name, raising=False)
        for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "all_proxy"):
            monkeypatch.setenv(name, proxy_url.removesuffix("/calendar.ics"))
        with feed_client(allow_private=True) as client:
            assert client.get(url).content == FEED
    assert proxy.connections == 0


@pytest.fixture
def ca() -> trustme.CA:
    return trustme.CA()


def tls_server_context(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(context)  # for the name only, not for 127.0.0.1
    return context


def trusting(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


def test_tls_verifies_the_certificate_for_the_host_name_not_the_pinned_address(ca: trustme.CA) -> None:
    state = FeedState(body=FEED)
    with feed_server(state, tls=tls_server_context(ca)) as url:
        named = url.replace("127.0.0.1", "localhost")
        with feed_client(allow_private=True, verify=trusting(ca)) as client:
            response = client.get(named)
            assert response.content == FEED
            with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                client.get(url)  # the certificate names localhost, not the address
    assert state.server_names[0] == "localhost"
    assert state.requests == ["/calendar.ics"]


def test_the_host_header_stays_the_name() -> None:
    state = FeedState(body=FEED)
    with feed_server(state) as url, feed_client(allow_private=True) as client:
        named = url.replace("127.0.0.1", "localhost")
        assert client.get(named).content == FEED
    assert state.hosts == [urlsplit(named).netloc]


def test_the_deadline_cuts_off_a_slow_drip() -> None:
    state = FeedState(body=FEED * 20, drip_seconds=0.05)  # about 50 s for the whole body
    with feed_server(state) as url, feed_client(allow_private=True) as client:
        with (
            fetch_deadline(1.0) as deadline,
            pytest.raises(httpx.ReadTimeout),
            client.stream("GET", url) as response,
        ):
            response.read()
        assert deadline.expired
