"""Failed sign-ins counted per address and per client IP (the `limits` library, moving windows)."""

from __future__ import annotations

from limits import RateLimitItemPerMinute
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

WINDOW_MINUTES = 15


class LoginLimiter:
    """Refuses sign-in attempts for an address or IP that failed too often in the last 15 minutes."""

    def __init__(self, storage_uri: str, per_address: int) -> None:
        self._limiter = MovingWindowRateLimiter(storage_from_string(storage_uri))
        self._per_address = RateLimitItemPerMinute(per_address, WINDOW_MINUTES)
        # One office shares an IP; allow a few people's worth of typos from it.
        self._per_ip = RateLimitItemPerMinute(per_address * 5, WINDOW_MINUTES)

    def allowed(self, address: str, ip: str) -> bool:
        """Whether another attempt may be checked now."""
        return self._limiter.test(self._per_address, "login", address) and self._limiter.test(
            self._per_ip, "login-ip", ip
        )

    def failed(self, address: str, ip: str) -> None:
        """Count a failed attempt."""
        self._limiter.hit(self._per_address, "login", address)
        self._limiter.hit(self._per_ip, "login-ip", ip)

    def throttle(self, key: str, ip: str, per_window: int) -> bool:
        """Count a request for another abuse-prone form (sign-up, reset); False when over the limit."""
        return self._limiter.hit(RateLimitItemPerMinute(per_window, WINDOW_MINUTES), key, ip)
