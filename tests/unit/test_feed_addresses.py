"""Which addresses a tenant's feed may make this server connect to: one rule, at save and at fetch."""

from __future__ import annotations

import ipaddress

import pytest

from connectors.calendars.feed_http import AddressRefused, checked_addresses, may_connect
from reminders.calendars.ics_link import feed_url_problem

PRIVATE = "This address points into a private network, which this server may not read."

REFUSED = [
    "127.0.0.1",  # loopback
    "127.8.9.10",
    "10.1.2.3",  # private
    "172.16.0.1",
    "192.168.1.1",
    "169.254.169.254",  # link-local: the cloud metadata service
    "100.64.0.1",  # carrier-grade NAT
    "0.0.0.0",  # unspecified
    "224.0.0.1",  # multicast
    "239.255.255.250",
    "255.255.255.255",  # broadcast
    "240.0.0.1",  # reserved
    "192.0.0.8",  # IETF protocol assignments
    "198.18.0.1",  # benchmarking
    "::1",  # loopback
    "::",  # unspecified
    "::ffff:127.0.0.1",  # IPv4-mapped loopback
    "::ffff:169.254.169.254",
    "::ffff:10.0.0.1",
    "::127.0.0.1",  # IPv4-compatible (deprecated)
    "::8.8.8.8",
    "fe80::1",  # link-local
    "fe80::1%1",  # with a zone
    "fc00::1",  # unique local
    "fd12:3456::1",
    "fec0::1",  # site-local (deprecated)
    "ff02::1",  # multicast
    "ff0e::1",
    "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    "64:ff9b:1::1",  # local-use NAT64
    "2002:7f00:1::1",  # 6to4 of 127.0.0.1
    "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254
    "2001::1",  # Teredo
    "2001:db8::1",  # documentation
    "100::1",  # discard-only
]

ALLOWED = [
    "8.8.8.8",
    "1.1.1.1",
    "93.184.215.14",
    "2606:4700:4700::1111",
    "2a00:1450:4001:82a::200e",
    "::ffff:8.8.8.8",  # IPv4-mapped public
    "64:ff9b::808:808",  # NAT64 of a public address (IPv6-only hosts reach IPv4 feeds this way)
    "2002:808:808::1",  # 6to4 of a public address
]


@pytest.mark.parametrize("address", REFUSED)
def test_non_global_addresses_are_refused(address: str) -> None:
    assert not may_connect(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ALLOWED)
def test_global_unicast_addresses_are_allowed(address: str) -> None:
    assert may_connect(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost/calendar.ics",
        "https://127.0.0.1/calendar.ics",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::1]:8443/feed.ics",
        "https://[::ffff:127.0.0.1]/feed.ics",
        "https://[64:ff9b::7f00:1]/feed.ics",
        "https://[2002:7f00:1::1]/feed.ics",
        "https://[fec0::1]/feed.ics",
        "https://[fe80::1]/feed.ics",
    ],
)
def test_saving_a_feed_url_uses_the_same_check(url: str) -> None:
    assert feed_url_problem(url, allow_private=False) == PRIVATE
    assert feed_url_problem(url, allow_private=True) is None


def test_a_public_address_may_be_saved() -> None:
    assert feed_url_problem("https://8.8.8.8/calendar.ics", allow_private=False) is None
    assert feed_url_problem("https://[2606:4700:4700::1111]/c.ics", allow_private=False) is None


@pytest.mark.parametrize(
    "url", ["https://calendar.example.org:99999/x.ics", "https://calendar.example.org:ics/"]
)
def test_a_url_with_a_broken_port_is_refused_not_a_crash(url: str) -> None:
    assert feed_url_problem(url, allow_private=False) == (
        "Enter the web address of the calendar feed, starting with https://."
    )


def test_a_name_with_any_private_address_is_refused_without_naming_it() -> None:
    with pytest.raises(AddressRefused) as caught:
        checked_addresses("localhost", 443)
    assert caught.value.host == "localhost"
    assert "127.0.0.1" not in str(caught.value)


def test_an_allowed_endpoint_lets_only_that_address_and_port_through() -> None:
    loopback = ipaddress.ip_address("127.0.0.1")
    assert checked_addresses("127.0.0.1", 8080, allowed={(loopback, 8080)}) == [loopback]
    with pytest.raises(AddressRefused):
        checked_addresses("127.0.0.1", 8081, allowed={(loopback, 8080)})
