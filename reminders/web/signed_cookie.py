"""A signed, timed, HttpOnly cookie holding a small JSON object (the session and device cookies)."""

from __future__ import annotations

from typing import Any, Literal

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import HTTPConnection
from starlette.responses import Response


class SignedCookie:
    """One cookie, signed with the installation's secret under its own salt."""

    def __init__(
        self,
        name: str,
        secret: str,
        *,
        salt: str,
        max_age_seconds: int,
        secure: bool,
        path: str = "/",
        samesite: Literal["lax", "strict"] = "lax",
    ) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt=salt)
        self.name = name
        self.max_age_seconds = max_age_seconds
        self._secure = secure
        self._path = path
        self._samesite = samesite

    def load(self, connection: HTTPConnection) -> dict[str, Any] | None:
        """The cookie's object, or None when it is missing, forged, too old or not an object."""
        raw = connection.cookies.get(self.name)
        if not raw:
            return None
        try:
            data = self._serializer.loads(raw, max_age=self.max_age_seconds)
        except (BadSignature, TypeError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def store(self, response: Response, data: dict[str, Any]) -> None:
        """Set the cookie on the response."""
        response.set_cookie(
            self.name,
            self._serializer.dumps(data),
            max_age=self.max_age_seconds,
            httponly=True,
            samesite=self._samesite,
            secure=self._secure,
            path=self._path,
        )
