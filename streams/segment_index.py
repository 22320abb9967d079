"""The index of recorded segments: a small SQLite file beside them (camera, wall-clock and media span, path, bytes).

It lives in the recordings folder rather than the service database so the footage and its index move, fill and
are cleaned together, and a restart finds both (SQLite WAL; a segment is renamed into place before its row is
added, and rows whose file is gone are dropped when the index opens).
"""
from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS segments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    camera_id TEXT NOT NULL,
    start_at REAL NOT NULL,   -- UTC seconds since the epoch of the first packet
    end_at REAL NOT NULL,     -- ... of the last packet plus one frame
    start_s REAL NOT NULL,    -- the camera's media seconds of the first packet
    end_s REAL NOT NULL,
    path TEXT NOT NULL UNIQUE,  -- relative to the recordings folder
    bytes INTEGER NOT NULL,
    packets INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS segments_camera_start ON segments (camera_id, start_at);
"""


def _ts(at: datetime) -> float:
    return at.timestamp()


def _at(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, timezone.utc)


@dataclass(frozen=True)
class Segment:
    """One recorded MP4 segment: the camera's own packets from `start_at` to `end_at` (UTC)."""

    id: int
    camera_id: str
    start_at: datetime
    end_at: datetime
    start_s: float
    end_s: float
    path: str  # relative to the recordings folder
    bytes: int
    packets: int

    @property
    def duration_s(self) -> float:
        return (self.end_at - self.start_at).total_seconds()


@dataclass(frozen=True)
class NewSegment:
    camera_id: str
    start_at: datetime
    end_at: datetime
    start_s: float
    end_s: float
    path: str
    bytes: int
    packets: int


_COLUMNS = "id, camera_id, start_at, end_at, start_s, end_s, path, bytes, packets"


def _row(r) -> Segment:
    return Segment(r[0], r[1], _at(r[2]), _at(r[3]), r[4], r[5], r[6], r[7], r[8])


class SegmentIndex:
    """Segments by camera and time; thread-safe (one connection behind a lock)."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(self.root / "index.sqlite"), check_same_thread=False, timeout=30,
                                   isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def add(self, seg: NewSegment) -> int:
        with self._lock:
            cur = self._db.execute(
                "INSERT INTO segments (camera_id, start_at, end_at, start_s, end_s, path, bytes, packets) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (seg.camera_id, _ts(seg.start_at), _ts(seg.end_at), seg.start_s,
                                                    seg.end_s, seg.path, seg.bytes, seg.packets))
            return int(cur.lastrowid or 0)

    def get(self, segment_id: int) -> Segment | None:
        with self._lock:
            r = self._db.execute(f"SELECT {_COLUMNS} FROM segments WHERE id = ?", (segment_id,)).fetchone()
        return _row(r) if r else None

    def get_path(self, path: str) -> Segment | None:
        with self._lock:
            r = self._db.execute(f"SELECT {_COLUMNS} FROM segments WHERE path = ?", (path,)).fetchone()
        return _row(r) if r else None

    def between(self, camera_id: str, start: datetime, end: datetime, limit: int = 100_000) -> list[Segment]:
        """The camera's segments that overlap [start, end], oldest first."""
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_COLUMNS} FROM segments WHERE camera_id = ? AND end_at > ? AND start_at < ? "
                "ORDER BY start_at LIMIT ?", (camera_id, _ts(start), _ts(end), limit)).fetchall()
        return [_row(r) for r in rows]

    def oldest(self, camera_id: str | None = None, before: datetime | None = None, limit: int = 100) -> list[Segment]:
        """Oldest segments first (one camera's, or every camera's), optionally only those that ended before."""
        where: list[str] = []
        args: list[object] = []
        if camera_id is not None:
            where.append("camera_id = ?")
            args.append(camera_id)
        if before is not None:
            where.append("end_at < ?")
            args.append(_ts(before))
        sql = f"SELECT {_COLUMNS} FROM segments {'WHERE ' + ' AND '.join(where) if where else ''} " \
              "ORDER BY start_at LIMIT ?"
        with self._lock:
            rows = self._db.execute(sql, (*args, limit)).fetchall()
        return [_row(r) for r in rows]

    def bytes_by_camera(self) -> dict[str, int]:
        with self._lock:
            rows = self._db.execute("SELECT camera_id, SUM(bytes) FROM segments GROUP BY camera_id").fetchall()
        return {cam: int(total or 0) for cam, total in rows}

    def cameras(self) -> list[str]:
        with self._lock:
            return [r[0] for r in self._db.execute("SELECT DISTINCT camera_id FROM segments ORDER BY camera_id")]

    def remove(self, segment_id: int) -> None:
        with self._lock:
            self._db.execute("DELETE FROM segments WHERE id = ?", (segment_id,))

    def reconcile(self) -> int:
        """Drop rows whose file is gone and half-written files (`*.tmp`); returns the rows dropped."""
        for tmp in self.root.rglob("*.mp4.tmp"):
            tmp.unlink(missing_ok=True)
        with self._lock:
            rows = self._db.execute("SELECT id, path FROM segments").fetchall()
        gone = [sid for sid, path in rows if not (self.root / path).is_file()]
        for sid in gone:
            self.remove(sid)
        return len(gone)
