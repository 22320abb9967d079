"""Continuous recording in the service: taps the cameras with `record.continuous`, keeps their segments within the
retention (days, size per camera and in all) and the reliability disk watermark, and reports its troubles.

The watermark is shared with the evidence store (`reliability.min_free_mb`): when the recordings disk runs low,
the oldest segments go first (footage exported as evidence is a copy in the evidence store, so any segment may go);
when nothing is left to remove, new segments are dropped and the health report says so.
"""
from __future__ import annotations

import logging
import shutil
from datetime import datetime, timedelta
from pathlib import Path

from streams.segment_index import Segment, SegmentIndex
from streams.segments import SegmentPolicy, SegmentRecorder
from vigil.errors import NotFoundError
from vigil.types import utcnow

log = logging.getLogger(__name__)
GB = 1 << 30
RECENT_DROP_S = 300  # a dropped segment stays in the health report this long


def recordings_root(services) -> Path:
    path = Path(services.loaded.config.recording.path)
    return path if path.is_absolute() else services.data_dir / path


def open_index(services) -> SegmentIndex:
    return SegmentIndex(recordings_root(services))


class Recording:
    """The service's recorder: `attach()` follows the running cameras, `retain()` removes what the limits say."""

    def __init__(self, services, supervisor, index: SegmentIndex | None = None):
        self.services = services
        self.supervisor = supervisor
        self.index = index or open_index(services)
        dropped = self.index.reconcile()
        if dropped:
            log.warning("recording: %d indexed segment(s) had no file any more; removed from the index", dropped)
        adopted = self.index.reindex_orphans()
        if adopted:
            log.warning("recording: %d segment file(s) had no index row (a crash while writing); indexed", adopted)
        cfg = services.loaded.config.recording
        self.recorder = SegmentRecorder(self.index, SegmentPolicy(cfg.segment_s, cfg.queue_mb << 20), self._may_write)
        self._attached: dict[str, tuple[object, object]] = {}  # camera -> (pipeline, remove)
        self.removed = 0

    @property
    def config(self):
        return self.services.loaded.config

    def start(self) -> "Recording":
        self.recorder.start()
        return self

    def stop(self) -> None:
        for _, remove in self._attached.values():
            remove()  # type: ignore[operator]
        self._attached.clear()
        self.recorder.stop()

    # -- which cameras --------------------------------------------------------------------------------------------
    def wanted(self) -> set[str]:
        return {cid for cid, cam in self.config.cameras.items() if cam.enabled and cam.record.continuous}

    def attach(self) -> None:
        """Tap every running camera that records (again after a restart of its pipeline); untap the others."""
        wanted = self.wanted()
        for cid in list(self._attached):
            pipe, remove = self._attached[cid]
            try:
                current = self.supervisor.pipeline(cid)
            except NotFoundError:
                current = None
            if cid not in wanted or current is not pipe:
                remove()  # type: ignore[operator]
                del self._attached[cid]
        for cid in wanted - self._attached.keys():
            try:
                pipe = self.supervisor.pipeline(cid)
            except NotFoundError:
                continue  # not running (yet): the next check attaches it
            self._attached[cid] = (pipe, pipe.add_packet_listener(self.recorder.listener(cid)))

    def recording(self, camera_id: str) -> bool:
        return camera_id in self._attached

    # -- disk and retention ------------------------------------------------------------------------------------
    def free_bytes(self) -> int | None:
        try:
            return shutil.disk_usage(self.index.root).free
        except OSError:
            return None

    def _low(self, extra: int = 0) -> bool:
        free = self.free_bytes()
        return free is not None and free - extra < self.config.reliability.min_free_mb << 20

    def _may_write(self, camera_id: str, size: int) -> str | None:
        """Called by the writer before each segment: make room under the watermark, else refuse the segment."""
        while self._low(size):
            oldest = self.index.oldest(limit=1)
            if not oldest:
                free = (self.free_bytes() or 0) >> 20
                return (f"recordings disk: {free} MB free, under the {self.config.reliability.min_free_mb} MB "
                        "watermark, and no older segment left to remove")
            self._remove(oldest[0], "disk watermark")
        return None

    def _remove(self, seg: Segment, why: str) -> None:
        path = self.index.root / seg.path
        path.unlink(missing_ok=True)
        self.index.remove(seg.id)
        self.removed += 1
        try:
            path.parent.rmdir()  # the day's folder, once empty
        except OSError:
            pass
        log.debug("recording: removed %s (%s)", seg.path, why)

    def retain(self, now: datetime | None = None) -> int:
        """One retention pass: by days, by size per camera, by total size, then the watermark; returns removed."""
        return retain(self.index, self.config, now or utcnow(), self._remove, self._low)

    # -- what the health report says -----------------------------------------------------------------------------
    def problems(self, now: datetime | None = None) -> list:
        """Cameras whose recording drops segments now (health problems, code `recording_dropped`)."""
        from api.problems import problem

        now = now or utcnow()
        out = []
        for cid, st in sorted(self.recorder.stats().items()):
            if st.last_error and (st.last_segment_at is None or now - st.last_segment_at > timedelta(seconds=30)):
                out.append(problem("recording_dropped", camera=cid, dropped=st.dropped_segments,
                                   error=str(st.last_error)))
        return out


def retain(index: SegmentIndex, config, now: datetime, remove, low) -> int:
    rec = config.recording
    count = 0
    for cid in index.cameras():
        cam = config.cameras.get(cid)
        days = cam.record.retain_days if cam is not None and cam.record.retain_days is not None else rec.retain_days
        if days > 0:
            while batch := index.oldest(cid, before=now - timedelta(days=days)):
                for seg in batch:
                    remove(seg, f"older than {days} days")
                    count += 1
        gb = cam.record.max_gb if cam is not None and cam.record.max_gb is not None else rec.max_gb_per_camera
        if gb > 0:
            count += _shrink(index, cid, int(gb * GB), remove)
    if rec.max_total_gb > 0:
        count += _shrink(index, None, int(rec.max_total_gb * GB), remove)
    while low() and (oldest := index.oldest(limit=1)):
        remove(oldest[0], "disk watermark")
        count += 1
    if count:
        log.info("recording retention removed %d segment(s)", count)
    return count


def _shrink(index: SegmentIndex, camera_id: str | None, limit: int, remove) -> int:
    """Remove the oldest segments (one camera's, or all) until they hold at most `limit` bytes."""
    sizes = index.bytes_by_camera()
    total = sizes.get(camera_id, 0) if camera_id is not None else sum(sizes.values())
    count = 0
    while total > limit:
        batch = index.oldest(camera_id, limit=100)
        if not batch:
            break
        for seg in batch:
            if total <= limit:
                break
            remove(seg, f"over {limit} bytes")
            total -= seg.bytes
            count += 1
    return count
