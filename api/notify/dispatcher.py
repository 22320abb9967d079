"""The notifier: a worker thread that delivers to every interested channel, retrying with backoff, recording each."""
from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from dataclasses import dataclass
from typing import Sequence

from sqlalchemy.orm import Session, sessionmaker

from api.notify.channels import Channel
from vigil.db.models import NotificationDelivery
from vigil.db.session import session_scope
from vigil.redact import redact_text

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    base_s: float = 2.0  # first retry after this, then doubling
    cap_s: float = 300.0

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based)."""
        return min(self.cap_s, self.base_s * 2 ** (attempt - 1))


@dataclass(frozen=True)
class _Job:
    delivery_id: int
    channel: Channel
    payload: dict
    attempt: int  # the attempt about to be made, 1-based


class Notifier:
    """`notify(payload)` never blocks: it queues; the worker thread creates a delivery row per channel and sends."""

    def __init__(self, sessions: sessionmaker[Session], channels: Sequence[Channel], *,
                 retry: RetryPolicy = RetryPolicy(), secrets: tuple[str, ...] = ()):
        self.sessions = sessions
        self.channels = tuple(channels)
        self.retry = retry
        self._secrets = secrets
        self._heap: list[tuple[float, int, object]] = []
        self._seq = itertools.count()
        self._cv = threading.Condition()
        self._stop = False
        self._busy = 0
        self._thread: threading.Thread | None = None
        self._queued: set[int] = set()  # delivery ids waiting or being sent: a resume never doubles one

    def start(self) -> "Notifier":
        if self._thread is None and self.channels:
            self._thread = threading.Thread(target=self._run, name="vigil-notifier", daemon=True)
            self._thread.start()
        return self

    def notify(self, payload: dict) -> None:
        """Queue one alert notification ({"event": ..., "alert": {...}, ...}) for every channel that wants it."""
        if not self.channels:
            return
        with self._cv:
            heapq.heappush(self._heap, (time.monotonic(), next(self._seq), dict(payload)))
            self._cv.notify()

    def record(self, payload: dict) -> list[int]:
        """Durably: one `pending` delivery row per interested channel (one transaction), then send them.

        Raises when the database cannot take the rows (the caller, the outbox, retries); a re-run for the same
        alert and event adds no second row for a channel that has one.
        """
        alert_id = payload.get("alert", {}).get("id")
        wanted = [ch for ch in self.channels if ch.wants(payload)]
        jobs = []
        with session_scope(self.sessions) as s:
            have = set()
            if alert_id is not None:
                have = {(r.channel, (r.payload or {}).get("event")) for r in
                        s.query(NotificationDelivery).filter(NotificationDelivery.alert_id == alert_id)}
            rows = [NotificationDelivery(alert_id=alert_id, channel=ch.name, status="pending", payload=payload)
                    for ch in wanted if (ch.name, payload.get("event")) not in have]
            s.add_all(rows)
            s.flush()
            by_name = {ch.name: ch for ch in wanted}
            jobs = [_Job(r.id, by_name[r.channel], payload, 1) for r in rows]
        for job in jobs:
            self._schedule(job, 0.0)
        return [j.delivery_id for j in jobs]

    def resume(self, *, dead: bool = False, ids: Sequence[int] | None = None) -> int:
        """Queue again the deliveries the database holds as pending (left by a stop or crash), or, with `dead`,
        the dead ones (an operator's retry); `ids` narrows it. Returns how many were queued."""
        by_name = {ch.name: ch for ch in self.channels}
        status = "dead" if dead else "pending"
        with session_scope(self.sessions) as s:
            q = s.query(NotificationDelivery).filter(NotificationDelivery.status == status)
            if ids is not None:
                q = q.filter(NotificationDelivery.id.in_(list(ids)))
            with self._cv:
                queued = set(self._queued)
            rows = [r for r in q.order_by(NotificationDelivery.id) if r.channel in by_name and r.id not in queued]
            for r in rows:
                r.status = "pending"
            jobs = [_Job(r.id, by_name[r.channel], dict(r.payload), r.attempts + 1 if not dead else 1) for r in rows]
        for job in jobs:
            self._schedule(job, 0.0)
        return len(jobs)

    def stop(self, timeout: float = 5.0) -> None:
        with self._cv:
            self._stop = True
            self._cv.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
        for ch in self.channels:
            try:
                ch.close()
            except Exception:  # noqa: BLE001 - closing is best effort
                log.exception("closing notification channel %s", ch.name)

    def idle(self) -> bool:
        """True when nothing is queued, waiting for a retry, or being sent."""
        with self._cv:
            return not self._heap and not self._busy

    def wait_idle(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.idle():
                return True
            time.sleep(0.02)
        return self.idle()

    # -- worker ----------------------------------------------------------------------------------------------
    def _next(self) -> object | None:
        with self._cv:
            while not self._stop:
                if self._heap and self._heap[0][0] <= time.monotonic():
                    self._busy += 1
                    return heapq.heappop(self._heap)[2]
                wait = self._heap[0][0] - time.monotonic() if self._heap else None
                self._cv.wait(wait)
            return None

    def _run(self) -> None:
        while (item := self._next()) is not None:
            try:
                if isinstance(item, _Job):
                    self._attempt(item)
                else:
                    self._fan_out(item)
            except Exception:  # noqa: BLE001 - the notifier's boundary: keep delivering the rest
                log.exception("notification worker error")
            finally:
                with self._cv:
                    self._busy -= 1

    def _schedule(self, job: _Job, delay: float) -> None:
        with self._cv:
            self._queued.add(job.delivery_id)
            heapq.heappush(self._heap, (time.monotonic() + delay, next(self._seq), job))
            self._cv.notify()

    def _fan_out(self, payload: dict) -> None:
        alert_id = payload.get("alert", {}).get("id")
        for ch in self.channels:
            if not ch.wants(payload):
                continue
            with session_scope(self.sessions) as s:
                row = NotificationDelivery(alert_id=alert_id, channel=ch.name, status="pending", payload=payload)
                s.add(row)
                s.flush()
                delivery_id = row.id
            self._attempt(_Job(delivery_id, ch, payload, 1))

    def _attempt(self, job: _Job) -> None:
        error = ""
        try:
            job.channel.send(job.payload, job.delivery_id)
        except Exception as e:  # noqa: BLE001 - any failure of one attempt is recorded and retried
            error = redact_text(f"{type(e).__name__}: {e}", self._secrets)
        last = bool(error) and job.attempt >= job.channel.max_attempts
        status = "sent" if not error else ("dead" if last else "pending")
        try:
            with session_scope(self.sessions) as s:
                row = s.get(NotificationDelivery, job.delivery_id)
                row.attempts, row.status = job.attempt, status
                if error:
                    row.last_error = error
                elif hasattr(job.channel, "kept_after_send"):  # a channel may drop what is not to be kept (a link)
                    s.query(NotificationDelivery).filter(NotificationDelivery.id == job.delivery_id).update(
                        {"payload": job.channel.kept_after_send(job.payload)})
        except Exception:  # noqa: BLE001 - the database is down: the row stays pending; a resume sends it
            with self._cv:
                self._queued.discard(job.delivery_id)
            raise
        if not error or last:
            with self._cv:
                self._queued.discard(job.delivery_id)
        if error and not last:
            self._schedule(_Job(job.delivery_id, job.channel, job.payload, job.attempt + 1),
                           self.retry.delay(job.attempt))
        elif last:
            log.warning("notification %d to %s is dead after %d attempts: %s", job.delivery_id, job.channel.name,
                        job.attempt, error)
