"""The durable local outbox: alert writes, evidence uploads and notifications survive outages and restarts.

Work is a row in a SQLite file (WAL, `synchronous=FULL`: a committed job is on disk before `put` returns) with
its payload as JSON and its bytes as BLOBs. One worker thread per lane takes the oldest job of its lane, runs
the lane's handler and deletes the job in the same breath; a failure is recorded and the job retried with
capped exponential backoff. A lane is strictly first-in first-out, so an alert's insert always precedes its
updates. A crash between a handler's success and the delete re-runs the job on start-up: handlers are
idempotent (evidence is content-addressed and write-once, alert writes check what the row already has).

Bytes are bounded: a job that would take the outbox past `max_bytes` is refused with `OutboxFullError`,
unless it is small (`small_bytes`: alert rows and notifications always get in; evidence waits its turn).
Nothing here invents a protocol: SQLite's transactions are the queue's guarantee.
"""
from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

from vigil.errors import StoreError

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    lane TEXT NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    nbytes INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at REAL NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_lane ON jobs(lane, id);
CREATE TABLE IF NOT EXISTS blobs (
    job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (job_id, name)
);
"""


class OutboxFullError(StoreError):
    """The outbox holds `max_bytes` already; the job was not queued."""


@dataclass(frozen=True)
class Job:
    """One unit of work as a handler sees it."""

    id: int
    lane: str
    kind: str
    payload: dict[str, Any]
    blobs: Mapping[str, bytes]
    attempts: int


@dataclass(frozen=True)
class Backoff:
    base_s: float = 1.0
    cap_s: float = 60.0

    def delay(self, attempts: int) -> float:
        return min(self.cap_s, self.base_s * 2 ** max(0, attempts - 1))


@dataclass(frozen=True)
class LaneStats:
    lane: str
    jobs: int
    bytes: int
    oldest_age_s: float
    attempts: int  # of the job at the head of the lane
    last_error: str


Handler = Callable[[Job], None]
PARKED = "parked:"  # a lane's jobs that failed `park_after` times with an error its lane calls permanent


@dataclass(frozen=True)
class Lane:
    """A lane's handlers by job kind, and which errors are worth waiting out (a peer down, a disk full)."""

    handlers: Mapping[str, Handler]
    transient: Callable[[Exception], bool] = lambda e: True


class Outbox:
    """`put(lane, kind, payload, blobs)` then `start({lane: {kind: handler}})`; `stop()` leaves queued work on disk."""

    def __init__(self, path: str | Path, *, max_bytes: int = 2 << 30, small_bytes: int = 256 << 10,
                 backoff: Backoff = Backoff(), warn_fraction: float = 0.8, park_after: int = 8):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.max_bytes, self.small_bytes, self.backoff, self.warn_fraction = max_bytes, small_bytes, backoff, \
            warn_fraction
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.executescript(SCHEMA)
        self._lock = threading.Lock()  # one connection, used by every thread in turn
        self._wake = threading.Condition()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._busy: dict[str, int] = {}
        self.refused = 0  # jobs refused because the outbox was full
        self.park_after = park_after

    # -- producing ---------------------------------------------------------------------------------------------
    def put(self, lane: str, kind: str, payload: Mapping[str, Any], blobs: Mapping[str, bytes] | None = None) -> int:
        """Queue one job durably (committed and synced when this returns); its id."""
        blobs = dict(blobs or {})
        body = json.dumps(payload, sort_keys=True, default=str)
        nbytes = len(body) + sum(len(b) for b in blobs.values())
        with self._lock:
            if nbytes > self.small_bytes and self._bytes_locked() + nbytes > self.max_bytes:
                self.refused += 1
                raise OutboxFullError(f"outbox {self.path}: expected room for {nbytes} bytes of {kind}, found "
                                      f"{self._bytes_locked()} of {self.max_bytes} bytes in use")
            cur = self._db.cursor()
            try:
                cur.execute("BEGIN IMMEDIATE")
                cur.execute("INSERT INTO jobs(lane, kind, payload, nbytes, created_at) VALUES (?, ?, ?, ?, ?)",
                            (lane, kind, body, nbytes, time.time()))
                job_id = cur.lastrowid
                cur.executemany("INSERT INTO blobs(job_id, name, data) VALUES (?, ?, ?)",
                                [(job_id, n, sqlite3.Binary(d)) for n, d in blobs.items()])
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise
        with self._wake:
            self._wake.notify_all()
        assert job_id is not None  # sqlite3 sets lastrowid after an INSERT
        return int(job_id)

    # -- consuming ---------------------------------------------------------------------------------------------
    def start(self, lanes: Mapping[str, Lane | Mapping[str, Handler]]) -> "Outbox":
        """One worker per lane; jobs already on disk (left by a crash or stop) run first, in order.

        A job that keeps failing with an error its lane does not call transient (a bug, bad data) is parked after
        `park_after` attempts, so that it cannot hold up every job behind it; parked jobs stay on disk, show in
        `summary()`, and `kick()` puts them back at the head of their lane."""
        self._stop.clear()
        for lane, spec in lanes.items():
            spec = spec if isinstance(spec, Lane) else Lane(dict(spec))
            t = threading.Thread(target=self._run, args=(lane, spec), name=f"vigil-outbox-{lane}",
                                 daemon=True)
            self._threads.append(t)
            t.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        with self._wake:
            self._wake.notify_all()
        for t in self._threads:
            t.join(timeout)
        self._threads.clear()

    def close(self) -> None:
        self.stop()
        with self._lock:
            self._db.close()

    def kick(self) -> None:
        """Retry every waiting job now, parked ones included (an operator knows the peer is back, or fixed it)."""
        with self._lock:
            self._db.execute("UPDATE jobs SET next_at = 0, attempts = CASE WHEN lane LIKE ? THEN 0 ELSE attempts "
                             "END, lane = CASE WHEN lane LIKE ? THEN substr(lane, ?) ELSE lane END",
                             (PARKED + "%", PARKED + "%", len(PARKED) + 1))
        with self._wake:
            self._wake.notify_all()

    def _head(self, lane: str) -> tuple[Job | None, float]:
        with self._lock:
            row = self._db.execute("SELECT id, kind, payload, attempts, next_at FROM jobs WHERE lane = ? "
                                   "ORDER BY id LIMIT 1", (lane,)).fetchone()
            if row is None:
                return None, 1.0
            job_id, kind, payload, attempts, next_at = row
            wait = next_at - time.time()
            if wait > 0:
                return None, wait
            blobs = {n: bytes(d) for n, d in
                     self._db.execute("SELECT name, data FROM blobs WHERE job_id = ?", (job_id,))}
        return Job(job_id, lane, kind, json.loads(payload), blobs, attempts), 0.0

    def _run(self, lane: str, spec: Lane) -> None:
        while not self._stop.is_set():
            job, wait = self._head(lane)
            if job is None:
                with self._wake:
                    self._wake.wait(min(wait, 1.0))
                continue
            self._busy[lane] = job.id
            try:
                handler = spec.handlers.get(job.kind)
                if handler is None:
                    raise LookupError(f"outbox lane {lane}: no handler for job kind {job.kind!r}")
                handler(job)
            except Exception as e:  # noqa: BLE001 - the outbox's boundary: record, back off, retry
                self._failed(job, e, spec.transient(e))
            else:
                with self._lock:
                    self._db.execute("DELETE FROM jobs WHERE id = ?", (job.id,))
            finally:
                self._busy.pop(lane, None)

    def _failed(self, job: Job, error: Exception, transient: bool = True) -> None:
        attempts = job.attempts + 1
        delay = self.backoff.delay(attempts)
        text = f"{type(error).__name__}: {error}".splitlines()[0][:500]
        if not transient and attempts >= self.park_after:
            log.error("outbox %s job %d (%s) parked after %d attempts; the jobs behind it go on (kick() retries "
                      "it): %s", job.lane, job.id, job.kind, attempts, text)
            with self._lock:
                self._db.execute("UPDATE jobs SET lane = ?, attempts = ?, last_error = ? WHERE id = ?",
                                 (PARKED + job.lane, attempts, text, job.id))
            return
        (log.warning if attempts in (1, 10) or attempts % 100 == 0 else log.debug)(
            "outbox %s job %d (%s) failed (attempt %d, next in %.1f s): %s", job.lane, job.id, job.kind, attempts,
            delay, text)
        with self._lock:
            self._db.execute("UPDATE jobs SET attempts = ?, next_at = ?, last_error = ? WHERE id = ?",
                             (attempts, time.time() + delay, text, job.id))

    # -- looking -----------------------------------------------------------------------------------------------
    def _bytes_locked(self) -> int:
        return int(self._db.execute("SELECT COALESCE(SUM(nbytes), 0) FROM jobs").fetchone()[0])

    def stats(self) -> list[LaneStats]:
        now = time.time()
        out = []
        with self._lock:
            rows = self._db.execute("SELECT lane, COUNT(*), SUM(nbytes), MIN(created_at) FROM jobs GROUP BY lane "
                                    "ORDER BY lane").fetchall()
            for lane, count, nbytes, oldest in rows:
                head = self._db.execute("SELECT attempts, last_error FROM jobs WHERE lane = ? ORDER BY id LIMIT 1",
                                        (lane,)).fetchone()
                out.append(LaneStats(lane, int(count), int(nbytes or 0), round(now - oldest, 1), head[0], head[1]))
        return out

    def pending(self, lane: str | None = None) -> int:
        with self._lock:
            if lane is None:
                return int(self._db.execute("SELECT COUNT(*) FROM jobs").fetchone()[0])
            return int(self._db.execute("SELECT COUNT(*) FROM jobs WHERE lane = ?", (lane,)).fetchone()[0])

    def summary(self) -> dict[str, Any]:
        """What /healthz shows: per-lane depth, bytes used against the bound, and whether it is filling."""
        lanes = self.stats()
        used = sum(s.bytes for s in lanes)
        filling = used >= self.warn_fraction * self.max_bytes
        return {"jobs": sum(s.jobs for s in lanes if not s.lane.startswith(PARKED)),
                "parked": sum(s.jobs for s in lanes if s.lane.startswith(PARKED)), "bytes": used,
                "max_bytes": self.max_bytes,
                "filling": filling, "refused": self.refused,
                "lanes": {s.lane: {"jobs": s.jobs, "bytes": s.bytes, "oldest_age_s": s.oldest_age_s,
                                   "attempts": s.attempts, "last_error": s.last_error} for s in lanes}}

    def wait_idle(self, timeout: float, lane: str | None = None) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.pending(lane) == 0:
                return True
            time.sleep(0.05)
        return self.pending(lane) == 0
