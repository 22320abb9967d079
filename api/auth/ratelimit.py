"""Login rate limiting per (user name, client address): a sliding window of failures."""
from __future__ import annotations

import threading
import time
from collections import deque


class LoginLimiter:
    """At most `max_failures` failed logins per key within `window_s`; success clears the key."""

    def __init__(self, max_failures: int = 5, window_s: float = 300.0):
        self.max_failures, self.window_s = max_failures, window_s
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        q = self._failures.setdefault(key, deque())
        while q and q[0] <= now - self.window_s:
            q.popleft()
        return q

    def retry_after(self, username: str, ip: str) -> float:
        """Seconds until another try is allowed; 0 when allowed now."""
        now = time.monotonic()
        with self._lock:
            q = self._recent((username.lower(), ip), now)
            if len(q) < self.max_failures:
                return 0.0
            return max(1.0, q[0] + self.window_s - now)

    def failed(self, username: str, ip: str) -> None:
        with self._lock:
            self._recent((username.lower(), ip), time.monotonic()).append(time.monotonic())

    def succeeded(self, username: str, ip: str) -> None:
        with self._lock:
            self._failures.pop((username.lower(), ip), None)
