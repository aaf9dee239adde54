"""The `reminders` command in a process of its own, as a user or a service manager runs it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.support.reading import wait_for
from tests.support.server import free_port

REMINDERS = [sys.executable, "-m", "reminders.cli"]


def reminders_env(tmp_path: Path, **settings: str) -> dict[str, str]:
    """This environment without our variables, plus an SQLite file in `tmp_path` and `settings`.

    `settings` are given by field name (`sync_batch_size="100"`) and become `REMINDERS_*`.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("REMINDERS_")}
    env.update(
        REMINDERS_DATABASE_URL=f"sqlite:///{tmp_path / 'reminders.db'}",
        REMINDERS_DATA_DIR=str(tmp_path / "var"),
        REMINDERS_LOG_LEVEL="WARNING",
    )
    env.update({f"REMINDERS_{name.upper()}": value for name, value in settings.items()})
    return env


def run_command(args: list[str], env: Mapping[str, str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    """Run `reminders ARGS` to its end."""
    return subprocess.run(
        REMINDERS + args, env=dict(env), input=stdin, capture_output=True, text=True, timeout=120, check=False
    )


@contextmanager
def serving(command: str, env: Mapping[str, str], log: Path) -> Iterator[str]:
    """`reminders COMMAND` (serve or web) on a free loopback port until the block ends; its base URL.

    Its output goes to `log`. It is stopped with SIGINT, as a terminal would, and must exit.
    """
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with log.open("w") as output:
        process = subprocess.Popen(
            [*REMINDERS, command, "--host", "127.0.0.1", "--port", str(port)],
            env=dict(env),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            if not wait_for(lambda: _healthy(base) or process.poll() is not None, seconds=60, interval=0.1):
                pytest.fail(f"reminders {command} did not answer:\n{log.read_text()}")
            if process.poll() is not None:
                pytest.fail(f"reminders {command} exited:\n{log.read_text()}")
            yield base
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                pytest.fail(f"reminders {command} did not stop on SIGINT:\n{log.read_text()}")


def _healthy(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz", timeout=1).status_code == 200
    except httpx.TransportError:
        return False
