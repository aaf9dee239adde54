"""Failed sign-ins counted per address, per client IP and per known device (`limits`, moving windows).

Attempts from devices that never signed in to the address are limited per address and per IP.
Attempts from a known device (`web.known_devices`) are limited by that device's own counter only:
whoever hammers an address from elsewhere locks it for unknown devices, never for its owner.
"""

from __future__ import annotations

from limits import RateLimitItemPerMinute
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

WINDOW_MINUTES = 15


class LoginLimiter:
    """Refuses sign-in attempts for an address, IP or device that failed too often in the last 15 minutes."""

    def __init__(
        self,
        storage_uri: str,
        per_address: int,
        *,
        per_ip: int | None = None,
        per_known_device: int | None = None,
    ) -> None:
        self._limiter = MovingWindowRateLimiter(storage_from_string(storage_uri))
        self._per_address = RateLimitItemPerMinute(per_address, WINDOW_MINUTES)
        # One office shares an IP; by default allow a few people's worth of typos from it.
        self._per_ip = RateLimitItemPerMinute(per_ip or per_address * 5, WINDOW_MINUTES)
        self._per_device = RateLimitItemPerMinute(per_known_device or per_address, WINDOW_MINUTES)

    def allowed(self, address: str, ip: str, device: str | None = None) -> bool:
        """Whether another attempt may be checked now (`device`: the known device's id, if any)."""
        if device is not None:
            return self._limiter.test(self._per_device, "login-device", device)
        return self._limiter.test(self._per_address, "login", address) and self._limiter.test(
            self._per_ip, "login-ip", ip
        )

    def failed(self, address: str, ip: str, device: str | None = None) -> None:
        """Count a failed attempt where `allowed` looked."""
        if device is not None:
            self._limiter.hit(self._per_device, "login-device", device)
            return
        self._limiter.hit(self._per_address, "login", address)
        self._limiter.hit(self._per_ip, "login-ip", ip)

    def throttle(self, key: str, who: str, per_window: int) -> bool:
        """Count a request of `who` (an IP, an address) for another abuse-prone form; False when over."""
        return self._limiter.hit(RateLimitItemPerMinute(per_window, WINDOW_MINUTES), key, who)
