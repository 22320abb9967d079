"""One camera's live video for its viewers: a packet listener remuxes the camera's own packets to fMP4 once, and
fans the segments out to bounded per-viewer queues that drop whole GOPs, never blocking the reader thread."""
from __future__ import annotations

import logging
import threading
from collections import deque
from dataclasses import dataclass
from typing import Callable

from vigil.errors import StreamError
from streams.live_mux import FragmentMuxer, Segment
from streams.packets import MediaPacket

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class QueueLimits:
    """How far a viewer may fall behind before its queued video is dropped (to the next keyframe)."""

    max_bytes: int = 8 << 20
    max_s: float = 3.0


class ViewerQueue:
    """Segments waiting for one viewer. `put` (reader thread) never blocks: past a limit it drops everything queued
    and then every fragment up to the next keyframe, so the viewer resumes at a keyframe; `take` (the viewer's
    sender) empties it. `wake` is called when the queue stops being empty."""

    def __init__(self, wake: Callable[[], None], limits: QueueLimits = QueueLimits()):
        self._wake = wake
        self.limits = limits
        self._lock = threading.Lock()
        self._items: deque[Segment] = deque()
        self._bytes = 0
        self._skipping = True  # a viewer starts at a keyframe
        self.dropped = 0  # media fragments dropped because the viewer fell behind
        self.drops = 0  # times it fell behind

    def put(self, seg: Segment) -> None:
        with self._lock:
            was_empty = not self._items
            if seg.kind == "init":
                self._skipping = True  # a new setup: media resumes at its first keyframe
                self._append(seg)
            elif self._skipping and not seg.keyframe:
                self.dropped += 1
                return
            else:
                self._skipping = False
                if self._over(seg):
                    self._drop_queued()
                    self.drops += 1
                    if not seg.keyframe:
                        self._skipping = True
                        self.dropped += 1
                        return
                self._append(seg)
        if was_empty:
            self._wake()

    def _append(self, seg: Segment) -> None:
        self._items.append(seg)
        self._bytes += len(seg.data)

    def _over(self, seg: Segment) -> bool:
        if self._bytes + len(seg.data) > self.limits.max_bytes:
            return True
        first = next((s for s in self._items if s.kind == "media"), None)
        return first is not None and seg.t_s - first.t_s > self.limits.max_s

    def _drop_queued(self) -> None:
        inits = [s for s in self._items if s.kind == "init"]
        self.dropped += len(self._items) - len(inits)
        self._items = deque(inits[-1:])  # the newest init still applies to what follows
        self._bytes = sum(len(s.data) for s in self._items)

    def take(self) -> list[Segment]:
        with self._lock:
            out, self._items, self._bytes = list(self._items), deque(), 0
            return out


class LiveFeed:
    """Live fMP4 of one running camera pipeline, shared by its viewers.

    The first viewer starts it: a packet listener on the pipeline, primed with the ring buffer's packets from the
    newest keyframe, so video shows at once. A viewer that joins later gets the init segment and the current GOP.
    The last viewer to leave stops it (the listener is removed).
    """

    def __init__(self, pipeline, limits: QueueLimits = QueueLimits()):
        self.pipeline = pipeline
        self.limits = limits
        self._lock = threading.Lock()
        self._viewers: list[ViewerQueue] = []
        self._remove: Callable[[], None] | None = None
        self._muxer: FragmentMuxer | None = None
        self._init: Segment | None = None
        self._gop: list[Segment] = []  # fragments since the newest keyframe (what a joining viewer starts with)
        self._primed: set[MediaPacket] = set()  # ring packets muxed at start; the listener may see them again
        self.errors = 0

    @property
    def viewers(self) -> int:
        return len(self._viewers)

    @property
    def running(self) -> bool:
        return self._remove is not None

    def join(self, wake: Callable[[], None]) -> ViewerQueue:
        viewer = ViewerQueue(wake, self.limits)
        with self._lock:
            if self._remove is None:
                self._start()
            if self._init is not None:
                viewer.put(self._init)
                for seg in self._gop:
                    viewer.put(seg)
            self._viewers.append(viewer)
        return viewer

    def leave(self, viewer: ViewerQueue) -> bool:
        """Remove a viewer; True when it was the last one and the feed stopped."""
        with self._lock:
            self._viewers = [v for v in self._viewers if v is not viewer]
            if self._viewers or self._remove is None:
                return False
            self._remove()
            self._remove = None
            if self._muxer is not None:
                self._muxer.close()
            self._muxer, self._init, self._gop, self._primed = None, None, [], set()
            return True

    def _start(self) -> None:
        self._remove = self.pipeline.add_packet_listener(self._on_packet)
        ring = self.pipeline.ring
        newest = ring.newest_s
        if newest is None:
            return
        span = ring.span(newest, float("inf"))  # from the newest keyframe to the newest packet
        self._primed = set(span.packets)
        for pkt in span.packets:
            self._mux(pkt)

    def _on_packet(self, pkt: MediaPacket) -> None:
        """The pipeline's packet listener (its reader thread)."""
        with self._lock:
            if self._remove is None:
                return
            if self._primed:
                if pkt in self._primed:
                    return
                self._primed = set()
            self._mux(pkt)

    def _mux(self, pkt: MediaPacket) -> None:
        segments: list[Segment] = []
        try:
            if self._muxer is not None and not self._muxer.accepts(pkt):
                if not pkt.keyframe:
                    return  # a new setup starts at a keyframe
                segments += self._muxer.close()  # resolution or codec changed: a new init segment follows
                self._muxer = None
            if self._muxer is None:
                if not pkt.keyframe:
                    return
                self._muxer = FragmentMuxer(pkt.info)
            segments += self._muxer.add(pkt)
        except StreamError as e:
            self.errors += 1
            log.warning("camera %s: live video: %s; restarting at the next keyframe", self.pipeline.camera_id, e)
            self._muxer = None
            return
        for seg in segments:
            self._send(seg)

    def _send(self, seg: Segment) -> None:
        if seg.kind == "init":
            self._init, self._gop = seg, []
        elif seg.keyframe:
            self._gop = [seg]
        elif self._gop:
            self._gop.append(seg)
        for viewer in self._viewers:
            viewer.put(seg)
