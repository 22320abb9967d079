"""Continuous recording: each camera's own packets cut into MP4 segments at keyframes, written off the reader thread.

The camera's reader only enqueues (a packet listener, bounded in bytes); one writer thread cuts a segment at the
first keyframe after `segment_s`, remuxes it with the clip writer (no re-encode), writes it atomically (a `.tmp`
file, fsync, rename) and adds it to the index. A full queue, a full or slow disk, or a write error drops that
segment and says so in the camera's stats: recording never holds up analysis.
"""
from __future__ import annotations

import logging
import os
import threading
from collections import deque
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Callable

from streams.clip import write_mp4_file
from streams.packets import MediaPacket
from streams.segment_index import NewSegment, SegmentIndex

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SegmentPolicy:
    segment_s: float = 10.0
    queue_bytes: int = 64 << 20


@dataclass(frozen=True)
class CameraRecording:
    """What one camera's recording did since the start (the health report and the API show it)."""

    segments: int = 0
    bytes: int = 0
    dropped_segments: int = 0
    dropped_packets: int = 0
    last_error: str = ""
    last_segment_at: datetime | None = None


# A hook the service gives: None when a segment of about this many bytes may be written, else why not (disk low).
MayWrite = Callable[[str, int], "str | None"]


@dataclass
class _Cut:
    packets: list[MediaPacket]
    bytes: int = 0
    next_seq: int = 0
    broken: bool = False  # packets were lost: wait for the next keyframe


def segment_path(camera_id: str, start_at: datetime) -> str:
    """Where a segment lives under the recordings folder: CAMERA/YYYY-MM-DD/HHMMSS.mmm.mp4 (UTC)."""
    return f"{camera_id}/{start_at:%Y-%m-%d}/{start_at:%H%M%S}.{start_at.microsecond // 1000:03d}.mp4"


class SegmentRecorder:
    """Continuous recording of many cameras into one folder and index; `listener(camera)` taps a pipeline."""

    def __init__(self, index: SegmentIndex, policy: SegmentPolicy = SegmentPolicy(), may_write: MayWrite | None = None):
        self.index = index
        self.root = index.root
        self.policy = policy
        self.may_write = may_write or (lambda camera_id, size: None)
        self._cond = threading.Condition()
        self._queue: deque[tuple[str, int, MediaPacket]] = deque()
        self._queued = 0
        self._seq: dict[str, int] = {}
        self._cuts: dict[str, _Cut] = {}
        self._stats: dict[str, CameraRecording] = {}
        self._stopping = False
        self._thread: threading.Thread | None = None

    # -- the reader side: enqueue only ---------------------------------------------------------------------------
    def listener(self, camera_id: str) -> Callable[[MediaPacket], None]:
        def offer(pkt: MediaPacket) -> None:
            size = len(pkt.data)
            with self._cond:
                seq = self._seq.get(camera_id, 0)
                self._seq[camera_id] = seq + 1
                if self._stopping or self._queued + size > self.policy.queue_bytes:
                    st = self._stats.get(camera_id, CameraRecording())
                    self._stats[camera_id] = replace(st, dropped_packets=st.dropped_packets + 1)
                    return  # the writer sees the gap in the sequence and drops the segment it was cutting
                self._queue.append((camera_id, seq, pkt))
                self._queued += size
                self._cond.notify()
        return offer

    # -- lifecycle ---------------------------------------------------------------------------------------------
    def start(self) -> "SegmentRecorder":
        self._thread = threading.Thread(target=self._run, name="vigil-recording", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Write what is queued and every camera's partial segment, then stop."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)

    def stats(self) -> dict[str, CameraRecording]:
        with self._cond:
            return dict(self._stats)

    def pending_bytes(self) -> int:
        with self._cond:
            return self._queued

    # -- the writer thread -------------------------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._stopping:
                    self._cond.wait(1.0)
                if not self._queue and self._stopping:
                    break
                camera_id, seq, pkt = self._queue.popleft()
                self._queued -= len(pkt.data)
            try:
                self._take(camera_id, seq, pkt)
            except Exception:  # noqa: BLE001 - the writer's boundary: one bad packet never stops recording
                log.exception("recording %s: could not take a packet", camera_id)
        for camera_id, cut in list(self._cuts.items()):
            if cut.packets and not cut.broken:
                self._flush(camera_id, cut.packets)

    def _take(self, camera_id: str, seq: int, pkt: MediaPacket) -> None:
        cut = self._cuts.setdefault(camera_id, _Cut([], next_seq=seq))
        if seq != cut.next_seq and cut.packets:  # packets were dropped on the way: this segment has a hole
            self._drop(camera_id, f"{seq - cut.next_seq} packet(s) dropped (the writer fell behind)")
            cut.packets, cut.bytes = [], 0
        cut.next_seq = seq + 1
        if not cut.packets:
            if pkt.keyframe:
                cut.packets, cut.bytes = [pkt], len(pkt.data)
            return
        first, last = cut.packets[0], cut.packets[-1]
        if pkt.keyframe and (pkt.t_s - first.t_s >= self.policy.segment_s or pkt.t_s < last.t_s
                             or pkt.info.compat_key != first.info.compat_key):
            self._flush(camera_id, cut.packets)
            cut.packets, cut.bytes = [pkt], len(pkt.data)
            return
        cut.packets.append(pkt)
        cut.bytes += len(pkt.data)

    def _drop(self, camera_id: str, why: str) -> None:
        st = self._stats.get(camera_id, CameraRecording())
        if st.last_error != why:
            log.warning("recording %s: a segment was dropped: %s", camera_id, why)
        with self._cond:
            st = self._stats.get(camera_id, CameraRecording())
            self._stats[camera_id] = replace(st, dropped_segments=st.dropped_segments + 1, last_error=why)

    def _flush(self, camera_id: str, packets: list[MediaPacket]) -> None:
        size = sum(len(p.data) for p in packets)
        refused = self.may_write(camera_id, size)
        if refused:
            self._drop(camera_id, refused)
            return
        first, last = packets[0], packets[-1]
        frame_s = (last.t_s - first.t_s) / (len(packets) - 1) if len(packets) > 1 else 0.0
        rel = segment_path(camera_id, first.captured_at)
        path = self.root / rel
        tmp = path.with_name(path.name + ".tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_mp4_file(packets, tmp)
            with open(tmp, "rb+") as f:
                os.fsync(f.fileno())
            os.replace(tmp, path)
            written = path.stat().st_size
            end_at = last.captured_at + timedelta(seconds=frame_s)
            self.index.add(NewSegment(camera_id, first.captured_at, end_at, first.t_s, last.t_s + frame_s, rel,
                                      written, len(packets)))
        except Exception as e:  # noqa: BLE001 - disk full, slow or gone: drop, report
            tmp.unlink(missing_ok=True)
            if self.index.get_path(rel) is None:
                path.unlink(missing_ok=True)  # renamed but not indexed: a file nothing would find
            self._drop(camera_id, f"could not write {rel}: {str(e).splitlines()[0] if str(e) else type(e).__name__}")
            return
        with self._cond:
            st = self._stats.get(camera_id, CameraRecording())
            self._stats[camera_id] = replace(st, segments=st.segments + 1, bytes=st.bytes + written, last_error="",
                                             last_segment_at=end_at)
