"""Failed sign-ins are counted per address and per IP, in memory or in Redis (several web processes)."""

from __future__ import annotations

import socket
import uuid

import pytest

from reminders.web.limits import LoginLimiter
from tests.support.databases import skip_or_fail

REDIS = "redis://127.0.0.1:6379/15"


def redis_available() -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", 6379)) == 0


@pytest.fixture(params=["memory", "redis"])
def storage(request: pytest.FixtureRequest) -> str:
    if request.param == "memory":
        return "memory://"
    if not redis_available():
        skip_or_fail("Redis is not running on 127.0.0.1:6379")
    return REDIS


def test_an_address_is_blocked_after_its_failures_and_others_are_not(storage: str) -> None:
    limiter = LoginLimiter(storage, per_address=3)
    address, other, ip = f"{uuid.uuid4()}@example.com", f"{uuid.uuid4()}@example.com", str(uuid.uuid4())

    allowed = []
    for _ in range(4):
        allowed.append(limiter.allowed(address, ip))
        limiter.failed(address, ip)

    assert allowed == [True, True, True, False]
    assert limiter.allowed(other, ip)


def test_one_ip_is_blocked_after_five_addresses_worth_of_failures(storage: str) -> None:
    limiter = LoginLimiter(storage, per_address=2)
    ip = str(uuid.uuid4())
    for _ in range(10):
        limiter.failed(f"{uuid.uuid4()}@example.com", ip)

    assert not limiter.allowed(f"{uuid.uuid4()}@example.com", ip)
    assert limiter.allowed(f"{uuid.uuid4()}@example.com", str(uuid.uuid4()))


def test_a_known_device_is_judged_by_its_own_counter_only(storage: str) -> None:
    limiter = LoginLimiter(storage, per_address=2, per_ip=100, per_known_device=3)
    address, ip = f"{uuid.uuid4()}@example.com", str(uuid.uuid4())
    device, other = str(uuid.uuid4()), str(uuid.uuid4())
    for _ in range(5):
        limiter.failed(address, ip)  # an attacker from an unknown device

    assert not limiter.allowed(address, ip)
    assert limiter.allowed(address, ip, device)  # the owner's device is not locked by them
    for _ in range(3):
        limiter.failed(address, ip, device)
    assert not limiter.allowed(address, ip, device)
    assert limiter.allowed(address, ip, other)  # another known device keeps its own count


def test_failures_of_a_known_device_do_not_count_against_the_address(storage: str) -> None:
    limiter = LoginLimiter(storage, per_address=2)
    address, ip = f"{uuid.uuid4()}@example.com", str(uuid.uuid4())
    for _ in range(2):
        limiter.failed(address, ip, str(uuid.uuid4()))

    assert limiter.allowed(address, ip)
