"""`N_`: marks English texts kept in Python (form errors, notices) for the gettext catalogs.

The domain returns these msgids; the web layer translates them into the viewer's language.
"""

from __future__ import annotations


def N_(message: str) -> str:  # noqa: N802 - the name gettext's extraction looks for
    """Return `message` unchanged; extraction picks it up."""
    return message
