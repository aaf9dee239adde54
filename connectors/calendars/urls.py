"""Showing a provider's address in messages without leaking what a URL may carry."""

from __future__ import annotations

from urllib.parse import urlsplit


def origin(url: str) -> str:
    """Scheme, host and port only: enough to act on, nothing secret (paths and queries hold tokens)."""
    parts = urlsplit(url)
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    return f"{parts.scheme}://{parts.hostname}{port}" if parts.hostname else "the configured address"
