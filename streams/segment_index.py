"""The index of recorded segments: a small SQLite file beside them (camera, wall-clock and media span, path, bytes).

It lives in the recordings folder rather than the service database so the footage and its index move, fill and
are cleaned together, and a restart finds both (SQLite WAL; a segment is renamed into place before its row is
added; when the service starts, rows whose file is gone are dropped and a segment whose row never made it (a crash
between the rename and the insert) is indexed from the file itself).
"""
from __future__ import annotations

import logging
import re
import sqlite3
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

log = logging.getLogger(__name__)
# streams.segments.segment_path: CAMERA/YYYY-MM-DD/HHMMSS.mmm.mp4 (UTC)
_SEGMENT_NAME = re.compile(r"^(\d{4}-\d{2}-\d{2})/(\d{6})\.(\d{3})\.mp4$")

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

    def reindex_orphans(self) -> int:
        """Index segment files that have no row (renamed into place, then the process died before the insert);
        returns how many. Their media seconds start at 0 (a previous run's clock); a file that does not parse as
        a segment is left alone and logged."""
        with self._lock:
            known = {r[0] for r in self._db.execute("SELECT path FROM segments")}
        added = 0
        for path in sorted(self.root.rglob("*.mp4")):
            rel = path.relative_to(self.root).as_posix()
            if rel in known:
                continue
            seg = _probe_segment(self.root, rel)
            if seg is None:
                log.warning("recordings: %s is not a readable segment; left as it is, not indexed", rel)
                continue
            self.add(seg)
            added += 1
        return added


def _probe_segment(root: Path, rel: str) -> NewSegment | None:
    """A segment's row from its path (camera, start) and its packets (count, span), or None."""
    import av

    camera, _, name = rel.partition("/")
    m = _SEGMENT_NAME.match(name)
    if not camera or m is None:
        return None
    start_at = datetime.strptime(f"{m[1]} {m[2]}", "%Y-%m-%d %H%M%S").replace(
        microsecond=int(m[3]) * 1000, tzinfo=timezone.utc)
    try:
        with av.open(str(root / rel), timeout=(5, 5)) as c:
            stream = c.streams.video[0]
            base = float(stream.time_base or 0)
            times = [p.pts * base for p in c.demux(stream) if p.pts is not None and p.size]
    except (av.FFmpegError, IndexError, OSError):
        return None
    if not times:
        return None
    frame_s = (times[-1] - times[0]) / (len(times) - 1) if len(times) > 1 else 0.0
    span = times[-1] - times[0] + frame_s
    return NewSegment(camera, start_at, start_at + timedelta(seconds=span), 0.0, span, rel,
                      (root / rel).stat().st_size, len(times))
