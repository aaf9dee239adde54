"""Keeping secrets and phone numbers out of the logs, whoever writes the line.

Libraries log whole URLs: httpx writes every request line at INFO, so each sync of an ICS feed
logged the feed's secret path, and each Graph page its delta or skip token. Exception texts carry
URLs too. Every log record is therefore redacted when it is made, before any handler (ours,
uvicorn's, a test's) sees it: URLs are cut to their origin, long digit runs (phone numbers) keep
only their last two digits, and request paths in access logs lose their query and token-like
segments. Installed once per process by `bootstrap.build_services`.
"""

from __future__ import annotations

import logging
import re
import threading
import traceback
from typing import Any

from reminders.reports.masking import mask_phone_numbers

_URL = re.compile(r"\b(?:https?|wss?|webcals?)://[^\s\"'<>`]+", re.IGNORECASE)
# A path segment that is a random token (confirmation links, OAuth state, channel ids).
_TOKEN_SEGMENT = re.compile(r"/[A-Za-z0-9_.~%-]{16,}")
_ACCESS_LOGGER = "uvicorn.access"

_installed = False
_install_lock = threading.Lock()


def redact(text: str) -> str:
    """`text` with every URL cut to its origin and every phone-like digit run masked."""
    return mask_phone_numbers(_URL.sub(_origin_only, text))


def redact_path(path: str) -> str:
    """A request path without its query and with token-like segments replaced by "/…"."""
    return _TOKEN_SEGMENT.sub("/…", path.split("?", 1)[0])


def install_log_redaction() -> None:
    """Redact every log record of this process from now on (idempotent)."""
    global _installed
    with _install_lock:
        if _installed:
            return
        make_record = logging.getLogRecordFactory()

        def redacted_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = make_record(*args, **kwargs)
            redact_record(record)
            return record

        logging.setLogRecordFactory(redacted_record)
        _installed = True


def redact_record(record: logging.LogRecord) -> None:
    """Redact the record's message and its exception text in place."""
    if record.name == _ACCESS_LOGGER and isinstance(record.args, tuple) and len(record.args) >= 3:
        # uvicorn: (client address, method, path with query, HTTP version, status)
        args = list(record.args)
        args[2] = redact_path(str(args[2]))
        record.args = tuple(args)
    try:
        message = record.getMessage()
    except Exception:  # a broken format string is logging's own problem to report
        return
    cleaned = redact(message)
    if cleaned != message:
        record.msg, record.args = cleaned, None
    if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
        # Formatters reuse `exc_text` when it is set, so the traceback is redacted once, here.
        record.exc_text = redact("".join(traceback.format_exception(*record.exc_info)).rstrip("\n"))


def _origin_only(match: re.Match[str]) -> str:
    scheme, _, rest = match.group().partition("://")
    cut = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    host = rest[:cut].rsplit("@", 1)[-1]  # never user:password@
    return f"{scheme}://{host}" + ("/…" if rest[cut:].strip("/") else "")
