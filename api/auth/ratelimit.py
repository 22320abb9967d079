"""Login rate limiting: sliding windows of failed sign-ins per (user name, address), per address and per user name."""
from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Limit:
    """At most `max_failures` failed sign-ins within `window_s` seconds."""

    max_failures: int
    window_s: float


# one person mistyping: a handful per name and address
PER_PAIR = Limit(5, 300.0)
# credential stuffing from one address: many names; generous enough for an office behind one NAT address
PER_ADDRESS = Limit(20, 300.0)
# one name tried from many addresses; an address the user signed in from lately is exempt (see `LoginLimiter`),
# from this window and from the address one
PER_USER = Limit(20, 900.0)
KNOWN_ADDRESS_S = 30 * 86400.0
KNOWN_ADDRESSES_PER_USER = 16
SWEEP_EVERY_S = 60.0


class LoginLimiter:
    """Refuses a sign-in while any of its windows is full: (name, address), address, name.

    Every failure counts in all three, whether the name exists or not, and the answer is the same whichever window
    is full, so the limiter tells nobody which names exist. A success clears only its own (name, address) window:
    an attacker's own account must not reset the address's count. Per name, an attacker spread over many addresses
    could lock its owner out; so an address the owner signed in from in the last 30 days is not held to that
    window (it still has its own (name, address) one). Likewise per address: everyone behind one proxy or NAT
    address, or on the server itself, shares it, and names sprayed from there must not lock out the people who
    sign in from there every day; so the address window spares a name that signed in from that address lately."""

    def __init__(self, per_pair: Limit = PER_PAIR, per_address: Limit = PER_ADDRESS, per_user: Limit = PER_USER,
                 clock: Callable[[], float] = time.monotonic):
        self.limits = {"pair": per_pair, "address": per_address, "user": per_user}
        self.clock = clock
        self._failures: dict[tuple[str, ...], deque[float]] = {}
        self._known: dict[str, dict[str, float]] = {}  # user -> address -> when it last signed in
        self._swept = clock()
        self._lock = threading.Lock()

    @staticmethod
    def _keys(username: str, ip: str) -> dict[str, tuple[str, ...]]:
        name = username.lower()
        return {"pair": ("pair", name, ip), "address": ("address", ip), "user": ("user", name)}

    def _recent(self, key: tuple[str, ...], window_s: float, now: float) -> deque[float]:
        q = self._failures.setdefault(key, deque())
        while q and q[0] <= now - window_s:
            q.popleft()
        return q

    def _known_address(self, username: str, ip: str, now: float) -> bool:
        seen = self._known.get(username.lower(), {}).get(ip)
        return seen is not None and now - seen < KNOWN_ADDRESS_S

    def retry_after(self, username: str, ip: str) -> float:
        """Seconds until another try is allowed; 0 when allowed now."""
        now = self.clock()
        wait = 0.0
        with self._lock:
            for kind, key in self._keys(username, ip).items():
                if kind in ("user", "address") and self._known_address(username, ip, now):
                    continue
                limit = self.limits[kind]
                q = self._recent(key, limit.window_s, now)
                if len(q) >= limit.max_failures:
                    wait = max(wait, q[-limit.max_failures] + limit.window_s - now)
        return max(1.0, wait) if wait else 0.0

    def failed(self, username: str, ip: str) -> None:
        now = self.clock()
        with self._lock:
            for kind, key in self._keys(username, ip).items():
                q = self._recent(key, self.limits[kind].window_s, now)
                q.append(now)
                if len(q) > self.limits[kind].max_failures:  # only the newest max_failures decide the wait
                    q.popleft()
            self._sweep(now)

    def succeeded(self, username: str, ip: str) -> None:
        now = self.clock()
        with self._lock:
            self._failures.pop(self._keys(username, ip)["pair"], None)
            known = self._known.setdefault(username.lower(), {})
            known.pop(ip, None)
            known[ip] = now
            while len(known) > KNOWN_ADDRESSES_PER_USER:
                known.pop(next(iter(known)))  # the least recently used address

    def _sweep(self, now: float) -> None:
        """Forget windows with no failure left in them: names sprayed by an attacker must not pile up forever."""
        if now - self._swept < SWEEP_EVERY_S:
            return
        self._swept = now
        longest = max(limit.window_s for limit in self.limits.values())
        for key in [k for k, q in self._failures.items() if not q or q[-1] <= now - longest]:
            del self._failures[key]
