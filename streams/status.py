"""Per-camera stream state machine (connecting -> live -> stalled -> reconnecting -> offline), counters, backoff."""
from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from vigil.redact import redact_text
from vigil.types import utcnow

STATES = ("connecting", "live", "stalled", "reconnecting", "offline")
_ALLOWED = {
    "connecting": {"live", "reconnecting", "offline"},
    "live": {"stalled", "reconnecting", "offline", "connecting"},
    "stalled": {"reconnecting", "offline", "connecting"},
    "reconnecting": {"connecting", "offline"},
    "offline": {"connecting", "reconnecting"},
}


@dataclass(frozen=True)
class CameraStatus:
    """A snapshot of one camera's stream, safe to hand to any thread."""

    camera_id: str
    state: str  # connecting | live | stalled | reconnecting | offline
    last_error: str  # redacted
    packets: int
    bytes: int
    decoded: int
    dropped: int  # frames dropped at the hand-off to vision (slow consumer)
    reconnects: int
    fps: float  # frames handed to vision per second, recent
    since: datetime  # UTC time of the last state change
    emitted: int = 0  # frames handed to vision
    buffer_bytes: int = 0  # packet ring buffer size now
    buffer_s: float = 0.0  # seconds of footage in the ring buffer now


@dataclass(frozen=True)
class CameraStats:
    """One camera's stream and analysis counters at one moment (what the service's metrics read)."""

    status: CameraStatus
    site_id: str
    profile: str
    analysed: int = 0  # frames the camera's analyzer took (rules ran)
    detected: int = 0  # of those, frames the detector saw (the rest the motion gate skipped)
    lag_s: float = 0.0  # age of the latest analysed frame when its analysis ended (decode to rules done)
    queued: int = 0  # frames decoded and waiting for analysis now
    restarts: int = 0  # reader or analyzer threads the watchdog restarted


@dataclass(frozen=True)
class DetectorStats:
    """One profile's batcher: inferences run, frames they held, failed inferences, frames waiting now."""

    profile: str
    batches: int
    frames: int
    failures: int
    pending: int


@dataclass(frozen=True)
class SupervisorStats:
    """Everything a supervisor counts, copied at once: cameras, detectors, and the recorder's events."""

    cameras: tuple[CameraStats, ...]
    detectors: tuple[DetectorStats, ...]
    alerts: tuple[tuple[str, str, int], ...] = ()  # (rule, site, events opened) since start
    open_events: int = 0
    recorder_errors: int = 0


class StateTracker:
    """Owns one camera's state and counters; every transition is checked and reported."""

    def __init__(self, camera_id: str, *, secrets: tuple[str, ...] = (),
                 on_state: Callable[[CameraStatus], None] | None = None):
        self.camera_id = camera_id
        self._secrets = secrets
        self._on_state = on_state
        self._lock = threading.Lock()
        self.state = "connecting"
        self.since = utcnow()
        self.last_error = ""
        self.packets = self.bytes = self.decoded = self.emitted = self.dropped = self.reconnects = 0
        self._emit_times: list[float] = []
        self.buffer_bytes = 0
        self.buffer_s = 0.0

    def to(self, state: str, error: str | None = None) -> None:
        if state not in STATES:
            raise ValueError(f"expected a state in {STATES}, found {state!r}")
        with self._lock:
            if error is not None:
                self.last_error = redact_text(error, self._secrets)
            if state == self.state:
                return
            if state not in _ALLOWED[self.state]:
                raise ValueError(f"camera {self.camera_id}: no transition {self.state} -> {state}")
            if state == "reconnecting":
                self.reconnects += 1
            self.state, self.since = state, utcnow()
        if self._on_state is not None:
            self._on_state(self.snapshot())

    def count_packet(self, size: int) -> None:
        with self._lock:
            self.packets += 1
            self.bytes += size

    def count_frames(self, decoded: int, emitted: int) -> None:
        now = time.monotonic()
        with self._lock:
            self.decoded += decoded
            if emitted:
                self.emitted += emitted
                self._emit_times.append(now)
                if len(self._emit_times) > 64:
                    del self._emit_times[:32]

    def count_dropped(self, n: int = 1) -> None:
        with self._lock:
            self.dropped += n

    def set_buffer(self, nbytes: int, seconds: float) -> None:
        self.buffer_bytes, self.buffer_s = nbytes, seconds

    def _fps(self) -> float:
        times = [t for t in self._emit_times if t > time.monotonic() - 10.0]
        if len(times) < 2:
            return 0.0
        return (len(times) - 1) / max(times[-1] - times[0], 1e-6)

    def snapshot(self) -> CameraStatus:
        with self._lock:
            return CameraStatus(
                camera_id=self.camera_id, state=self.state, last_error=self.last_error, packets=self.packets,
                bytes=self.bytes, decoded=self.decoded, dropped=self.dropped, reconnects=self.reconnects,
                fps=round(self._fps(), 3), since=self.since, emitted=self.emitted,
                buffer_bytes=self.buffer_bytes, buffer_s=round(self.buffer_s, 3))


class Backoff:
    """Exponential backoff with jitter, capped: 0.5 s, 1 s, 2 s ... up to `cap_s`, each scaled by 0.5-1.0."""

    def __init__(self, base_s: float = 0.5, cap_s: float = 30.0, rng: random.Random | None = None):
        if not 0 < base_s <= cap_s:
            raise ValueError(f"expected 0 < base_s <= cap_s, found base_s={base_s} cap_s={cap_s}")
        self.base_s, self.cap_s = base_s, cap_s
        self.attempt = 0
        self._rng = rng or random.Random()

    def next_delay(self) -> float:
        ceiling = min(self.cap_s, self.base_s * (2 ** min(self.attempt, 30)))
        self.attempt += 1
        return ceiling * self._rng.uniform(0.5, 1.0)

    def reset(self) -> None:
        self.attempt = 0
