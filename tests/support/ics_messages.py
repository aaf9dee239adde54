"""What an ICS warning or error shown to a calendar's owner must never contain."""

from __future__ import annotations

import re
import sys
from pathlib import Path

# Library exception texts, Python type names and tracebacks; file paths of this server.
_TECHNICAL = re.compile(
    r"Errno|Traceback|object has no attribute|NoneType|<class |\b\w+(?:Error|Exception)\b"
    r"|'(?:list|dict|str|int|tuple|bytes)' object|Calendar library"
)
_SERVER_PATHS = tuple(
    {str(Path(sys.prefix)), str(Path(__file__).resolve().parents[2]), "site-packages", "/usr/share/zoneinfo"}
)


def technical_parts(message: str) -> list[str]:
    """The parts of `message` that are not for a calendar's owner (empty when it is plain)."""
    found = [match.group(0) for match in _TECHNICAL.finditer(message)]
    return found + [path for path in _SERVER_PATHS if path in message]
