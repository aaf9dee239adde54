"""What a real `reminders serve` / `reminders web` process says about itself in its response headers."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from tests.support.processes import reminders_env, run_command, serving

# Header names and values that would tell an attacker which software (and version) to look up.
SOFTWARE = re.compile(r"uvicorn|starlette|fastapi|python|h11|httptools", re.I)
PATHS = ("/login", "/static/app.css", "/healthz", "/no-such-page")


@pytest.fixture(scope="module", params=["serve", "web"])
def running(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL of a `reminders serve` or `reminders web` process in production mode."""
    home = tmp_path_factory.mktemp(request.param)
    env = reminders_env(
        home,
        env="production",
        secret_key="a-test-secret-key-that-is-long-enough-0123456789",
        public_url="https://reminders.example",
    )
    upgraded = run_command(["db", "upgrade"], env)
    assert upgraded.returncode == 0, upgraded.stderr
    with serving(request.param, env, home / "process.log") as base:
        yield base


def test_no_response_names_the_server_software(running: str) -> None:
    with httpx.Client(base_url=running, timeout=10) as client:
        responses = [client.get(path) for path in PATHS]

    for response in responses:
        assert "server" not in response.headers, response.url
        named = [f"{k}: {v}" for k, v in response.headers.items() if SOFTWARE.search(f"{k}: {v}")]
        assert named == [], response.url


def test_production_responses_carry_hsts(running: str) -> None:
    with httpx.Client(base_url=running, timeout=10) as client:
        responses = [client.get(path) for path in PATHS]

    assert {r.headers.get("strict-transport-security") for r in responses} == {
        "max-age=31536000; includeSubDomains"
    }
