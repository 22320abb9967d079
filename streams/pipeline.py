"""One camera's ingest: source -> packet ring buffer -> decoder -> drop-oldest hand-off, on its own reader thread."""
from __future__ import annotations

import dataclasses
import logging
import threading
import time
from dataclasses import dataclass
from typing import Callable

from vigil.config import CameraConfig
from vigil.errors import VigilError
from vigil.types import ClipRequest, VideoFrame
from streams.clip import ClipResult, cut_from_ring
from streams.decoder import FrameDecoder
from streams.handoff import DropOldestQueue
from streams.packets import MediaPacket, StreamInfo
from streams.ring import PacketRing
from streams.source import SourceSession, SourceSpec
from streams.status import Backoff, CameraStatus, StateTracker

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PipelineConfig:
    """What a camera pipeline needs from the camera's config, plus reconnect tuning."""

    detect_fps: float = 2.0
    detect_size: tuple[int, int] = (640, 360)  # (width, height)
    pre_roll_s: float = 5.0
    post_roll_s: float = 5.0
    max_buffer_bytes: int = 64 * 1024 * 1024
    decode_mode: str = "auto"  # auto | keyframes | all
    queue_size: int = 2
    offline_after_s: float = 60.0  # failing this long without a packet: offline (still retrying)
    backoff_base_s: float = 0.5
    backoff_cap_s: float = 30.0
    retain_extra_s: float = 10.0  # kept beyond pre-roll: an event is reported only after it persisted (min_s)

    @property
    def retain_s(self) -> float:
        return self.pre_roll_s + self.retain_extra_s

    @classmethod
    def from_camera(cls, cam: CameraConfig, **overrides) -> "PipelineConfig":
        return cls(detect_fps=cam.detect.fps, detect_size=(cam.detect.width, cam.detect.height),
                   pre_roll_s=cam.record.pre_roll_s, post_roll_s=cam.record.post_roll_s,
                   max_buffer_bytes=int(cam.record.max_buffer_mb * 1024 * 1024), **overrides)


class _Reader:
    """One stream's reading state: a camera has one reader (role "all"), or two with a sub-stream for detection
    (role "record": the main stream, into the ring and listeners, never decoded; role "detect": the sub-stream,
    decoded for analysis, never kept)."""

    def __init__(self, spec: SourceSpec, role: str, cfg: PipelineConfig):
        self.spec, self.role = spec, role
        self.backoff = Backoff(cfg.backoff_base_s, cfg.backoff_cap_s)
        self.thread: threading.Thread | None = None
        self.segment = 0
        self.last_t_s = -1.0
        self.last_packet_mono = time.monotonic()
        self.live = False


class CameraPipeline:
    """Reads one camera forever (reconnecting with backoff) until stopped; files analysed once end it.

    With `detect_spec` (the camera's sub-stream) frames for analysis are decoded from it while `spec`, the main
    stream, fills the ring buffer (evidence clips, live video) without being decoded. Both streams' times count
    from their arrival, so an event seen on the sub-stream is cut from the main stream's packets of that time.
    The camera is live while both are; either one failing is the camera's error and reconnects alone.
    """

    def __init__(self, camera_id: str, spec: SourceSpec, cfg: PipelineConfig, *, secrets: tuple[str, ...] = (),
                 on_state: Callable[[CameraStatus], None] | None = None, detect_spec: SourceSpec | None = None):
        self.camera_id = camera_id
        self.spec = spec
        self.detect_spec = detect_spec
        self.cfg = cfg
        self.tracker = StateTracker(camera_id, secrets=secrets, on_state=on_state)
        self.ring = PacketRing(cfg.retain_s, cfg.max_buffer_bytes)
        self.frames: DropOldestQueue[VideoFrame] = DropOldestQueue(cfg.queue_size)
        self.decoder = FrameDecoder(camera_id, cfg.detect_fps, cfg.detect_size, mode=cfg.decode_mode)
        self._readers = ([_Reader(spec, "record", cfg), _Reader(detect_spec, "detect", cfg)]
                         if detect_spec is not None else [_Reader(spec, "all", cfg)])
        self._stop = threading.Event()
        self._start_mono = time.monotonic()
        self.crashes = 0
        self._listeners: tuple[Callable[[MediaPacket], None], ...] = ()
        self.finished = threading.Event()  # set when the readers end (stopped, or a file analysed to its end)
        self._ended = 0
        self._end_lock = threading.Lock()

    # -- lifecycle ---------------------------------------------------------------------------------------------
    def start(self) -> None:
        if self.alive:
            return
        self._stop.clear()
        self.finished.clear()
        with self._end_lock:
            self._ended = 0  # every reader runs from here
        for r in self._readers:
            if r.thread is None or not r.thread.is_alive():
                name = f"vigil-reader-{self.camera_id}" + ("" if r.role == "all" else f"-{r.role}")
                r.thread = threading.Thread(target=self._run, args=(r,), name=name, daemon=True)
                r.thread.start()

    def stop(self, timeout: float = 10.0) -> bool:
        """Ask the readers to end and wait; True when they did (a blocked read ends within the 5 s read timeout)."""
        self._stop.set()
        deadline = time.monotonic() + timeout
        for r in self._readers:
            if r.thread is not None:
                r.thread.join(max(0.0, deadline - time.monotonic()))
        self.ring.end()
        return not any(r.thread is not None and r.thread.is_alive() for r in self._readers)

    @property
    def alive(self) -> bool:
        return all(r.thread is not None and r.thread.is_alive() for r in self._readers)

    def status(self) -> CameraStatus:
        return self.tracker.snapshot()

    # -- packet taps -------------------------------------------------------------------------------------------
    def add_packet_listener(self, fn: Callable[[MediaPacket], None]) -> Callable[[], None]:
        """Call `fn` with every packet the camera sends, on the reader thread, after the ring has it (live
        video, continuous recording). `fn` must be quick and never block; an exception it raises is logged and
        the listener removed, the camera goes on. Returns the function that removes it."""
        self._listeners = (*self._listeners, fn)

        def remove() -> None:
            self._listeners = tuple(f for f in self._listeners if f is not fn)
        return remove

    def _tell_listeners(self, pkt: MediaPacket) -> None:
        for fn in self._listeners:
            try:
                fn(pkt)
            except Exception:  # noqa: BLE001 - a viewer's or recorder's fault is not the camera's
                log.exception("camera %s: packet listener failed; removed", self.camera_id)
                self._listeners = tuple(f for f in self._listeners if f is not fn)

    # -- readers -----------------------------------------------------------------------------------------------
    def _run(self, r: _Reader) -> None:
        try:
            while not self._stop.is_set():
                try:
                    if self._session_once(r):
                        break
                except Exception as e:  # noqa: BLE001 - the boundary of one camera: log, restart, keep going
                    self.crashes += 1
                    log.exception("camera %s: pipeline crashed; restarting", self.camera_id)
                    self._fail(r, f"internal error ({type(e).__name__}: {e}); restarted")
        finally:
            r.live = False
            with self._end_lock:
                self._ended += 1
                last = self._ended >= len(self._readers) or self._stop.is_set()
            if r.role != "detect" or last:
                self.ring.end()
            if last or r.role != "detect":
                self.tracker.to("offline")
            if last:
                self.finished.set()

    def _session_once(self, r: _Reader) -> bool:
        """One connection attempt and its packets; True when the reader should end."""
        if self.tracker.state != "live":
            self.tracker.to("connecting")
        try:
            session = SourceSession(r.spec, segment=r.segment, base_s=self._next_base(r))
        except VigilError as e:
            self._fail(r, str(e))
            return False
        r.segment += 1
        error = None
        try:
            self._pump(r, session)
        except VigilError as e:
            error = str(e)
        finally:
            session.close()
        if self._stop.is_set():
            return True
        if error is None and r.spec.kind == "file":
            return not r.spec.paced  # a camera file loops on (staying live); an analysed file is done
        self._fail(r, error or f"{r.spec.shown}: the stream ended (server closed the connection)")
        return False

    def _next_base(self, r: _Reader) -> float:
        if r.spec.kind == "file" and not r.spec.paced:
            return max(r.last_t_s, 0.0)
        frame_s = 1.0 / max(self.cfg.detect_fps, 25.0)
        if r.spec.kind == "file":
            return r.last_t_s + frame_s if r.last_t_s >= 0 else 0.0
        return max(r.last_t_s + frame_s, time.monotonic() - self._start_mono)

    def _fail(self, r: _Reader, error: str) -> None:
        r.live = False
        state = self.tracker.state
        if state == "live":
            self.tracker.to("stalled", error)
        if time.monotonic() - r.last_packet_mono > self.cfg.offline_after_s:
            self.tracker.to("offline", error)
        else:
            self.tracker.to("reconnecting", error)
        self._stop.wait(r.backoff.next_delay())

    def _pump(self, r: _Reader, session: SourceSession) -> None:
        retag: StreamInfo | None = None
        for pkt in session.packets(self._stop):
            if not r.live:
                r.live = True
                r.backoff.reset()
                if self.tracker.state != "live" and all(x.live for x in self._readers):
                    self.tracker.to("live")
            r.last_t_s = max(r.last_t_s, pkt.t_s)
            r.last_packet_mono = time.monotonic()
            if r.role == "record":  # the main stream: kept and shown, never decoded
                self._keep(pkt)
                continue
            if retag is not None:
                pkt = dataclasses.replace(pkt, info=retag)
            result = self.decoder.feed(pkt)
            if result.new_size is not None:  # resolution changed mid-stream: a new segment from this keyframe
                retag = dataclasses.replace(pkt.info, segment=r.segment, width=result.new_size[0],
                                            height=result.new_size[1])
                r.segment += 1
                pkt = dataclasses.replace(pkt, info=retag)
            if r.role == "all":
                self._keep(pkt)
            for frame in result.frames:
                self.tracker.count_dropped(self.frames.put(frame))
            self.tracker.count_frames(result.decoded, len(result.frames))

    def _keep(self, pkt: MediaPacket) -> None:
        self.ring.push(pkt)
        if self._listeners:
            self._tell_listeners(pkt)
        self.tracker.count_packet(len(pkt.data))
        self.tracker.set_buffer(self.ring.nbytes, self.ring.duration_s())

    # -- clips -------------------------------------------------------------------------------------------------
    def pin(self, key: str, from_s: float) -> None:
        self.ring.pin(key, from_s)

    def release(self, key: str, after_s: float | None = None) -> None:
        self.ring.release(key, after_s)

    def cut_clip(self, request: ClipRequest, timeout: float) -> ClipResult:
        """The camera's own packets over the padded span; blocks until the post-roll is buffered or timeout."""
        return cut_from_ring(self.ring, self.camera_id, request, timeout)
