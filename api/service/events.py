"""The live-update bus: thread-safe fan-out of (kind, payload) to SSE/WebSocket subscribers, drop-oldest."""
from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass

log = logging.getLogger(__name__)

KINDS = ("alert.new", "alert.updated", "camera.state", "lead.updated", "job.progress")


@dataclass(frozen=True)
class BusEvent:
    """One published event; `seq` grows by one per publish on its bus."""

    seq: int
    kind: str
    payload: dict


class Subscription:
    """One subscriber's bounded queue; the oldest event is dropped (and counted) when it is full."""

    def __init__(self, bus: "EventBus", maxsize: int):
        self._bus = bus
        self._queue: queue.Queue[BusEvent] = queue.Queue(maxsize)
        self.dropped = 0
        self.closed = False

    def _offer(self, event: BusEvent) -> None:
        while True:
            try:
                self._queue.put_nowait(event)
                return
            except queue.Full:
                try:
                    self._queue.get_nowait()
                    self.dropped += 1
                except queue.Empty:
                    pass

    def get(self, timeout: float | None = None) -> tuple[str, dict] | None:
        """The next (kind, payload), or None after `timeout` seconds without one."""
        event = self.get_event(timeout)
        return None if event is None else (event.kind, event.payload)

    def get_event(self, timeout: float | None = None) -> BusEvent | None:
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def close(self) -> None:
        self.closed = True
        self._bus._remove(self)

    def __enter__(self) -> "Subscription":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class EventBus:
    """Publishers never block: each subscriber has its own bounded queue."""

    def __init__(self):
        self._lock = threading.Lock()
        self._subs: list[Subscription] = []
        self._seq = 0

    def publish(self, kind: str, payload: dict) -> None:
        if kind not in KINDS:
            raise ValueError(f"expected an event kind in {KINDS}, found {kind!r}")
        with self._lock:
            self._seq += 1
            event = BusEvent(self._seq, kind, dict(payload))
            subs = list(self._subs)
        for sub in subs:
            sub._offer(event)

    def subscribe(self, maxsize: int = 100) -> Subscription:
        if maxsize < 1:
            raise ValueError(f"expected a queue size >= 1, found {maxsize}")
        sub = Subscription(self, maxsize)
        with self._lock:
            self._subs.append(sub)
        return sub

    def _remove(self, sub: Subscription) -> None:
        with self._lock:
            if sub in self._subs:
                self._subs.remove(sub)

    @property
    def subscribers(self) -> int:
        with self._lock:
            return len(self._subs)
