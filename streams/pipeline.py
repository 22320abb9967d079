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


class CameraPipeline:
    """Reads one camera forever (reconnecting with backoff) until stopped; files analysed once end it."""

    def __init__(self, camera_id: str, spec: SourceSpec, cfg: PipelineConfig, *, secrets: tuple[str, ...] = (),
                 on_state: Callable[[CameraStatus], None] | None = None):
        self.camera_id = camera_id
        self.spec = spec
        self.cfg = cfg
        self.tracker = StateTracker(camera_id, secrets=secrets, on_state=on_state)
        self.ring = PacketRing(cfg.retain_s, cfg.max_buffer_bytes)
        self.frames: DropOldestQueue[VideoFrame] = DropOldestQueue(cfg.queue_size)
        self.decoder = FrameDecoder(camera_id, cfg.detect_fps, cfg.detect_size, mode=cfg.decode_mode)
        self._backoff = Backoff(cfg.backoff_base_s, cfg.backoff_cap_s)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._start_mono = time.monotonic()
        self._segment = 0
        self._last_t_s = -1.0
        self._last_packet_mono = time.monotonic()
        self.crashes = 0
        self._listeners: tuple[Callable[[MediaPacket], None], ...] = ()
        self.finished = threading.Event()  # set when the reader ends (stopped, or a file analysed to its end)

    # -- lifecycle ---------------------------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self.finished.clear()
        self._thread = threading.Thread(target=self._run, name=f"vigil-reader-{self.camera_id}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> bool:
        """Ask the reader to end and wait; True when it did (a blocked read ends within the 5 s read timeout)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self.ring.end()
        return self._thread is None or not self._thread.is_alive()

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

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

    # -- reader ------------------------------------------------------------------------------------------------
    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                try:
                    if self._session_once():
                        break
                except Exception as e:  # noqa: BLE001 - the boundary of one camera: log, restart, keep going
                    self.crashes += 1
                    log.exception("camera %s: pipeline crashed; restarting", self.camera_id)
                    self._fail(f"internal error ({type(e).__name__}: {e}); restarted")
        finally:
            self.ring.end()
            self.tracker.to("offline")
            self.finished.set()

    def _session_once(self) -> bool:
        """One connection attempt and its packets; True when the reader should end."""
        if self.tracker.state != "live":
            self.tracker.to("connecting")
        try:
            session = SourceSession(self.spec, segment=self._segment, base_s=self._next_base())
        except VigilError as e:
            self._fail(str(e))
            return False
        self._segment += 1
        error = None
        try:
            self._pump(session)
        except VigilError as e:
            error = str(e)
        finally:
            session.close()
        if self._stop.is_set():
            return True
        if error is None and self.spec.kind == "file":
            return not self.spec.paced  # a camera file loops on (staying live); an analysed file is done
        self._fail(error or f"{self.spec.shown}: the stream ended (server closed the connection)")
        return False

    def _next_base(self) -> float:
        if self.spec.kind == "file" and not self.spec.paced:
            return max(self._last_t_s, 0.0)
        frame_s = 1.0 / max(self.cfg.detect_fps, 25.0)
        if self.spec.kind == "file":
            return self._last_t_s + frame_s if self._last_t_s >= 0 else 0.0
        return max(self._last_t_s + frame_s, time.monotonic() - self._start_mono)

    def _fail(self, error: str) -> None:
        state = self.tracker.state
        if state == "live":
            self.tracker.to("stalled", error)
        if time.monotonic() - self._last_packet_mono > self.cfg.offline_after_s:
            self.tracker.to("offline", error)
        else:
            self.tracker.to("reconnecting", error)
        self._stop.wait(self._backoff.next_delay())

    def _pump(self, session: SourceSession) -> None:
        retag: StreamInfo | None = None
        for pkt in session.packets(self._stop):
            if self.tracker.state != "live":
                self.tracker.to("live")
                self._backoff.reset()
            if retag is not None:
                pkt = dataclasses.replace(pkt, info=retag)
            result = self.decoder.feed(pkt)
            if result.new_size is not None:  # resolution changed mid-stream: a new segment from this keyframe
                retag = dataclasses.replace(pkt.info, segment=self._segment, width=result.new_size[0],
                                            height=result.new_size[1])
                self._segment += 1
                pkt = dataclasses.replace(pkt, info=retag)
            self._accept(pkt, result.frames, result.decoded)

    def _accept(self, pkt: MediaPacket, frames: tuple[VideoFrame, ...], decoded: int) -> None:
        self.ring.push(pkt)
        if self._listeners:
            self._tell_listeners(pkt)
        self._last_t_s = max(self._last_t_s, pkt.t_s)
        self._last_packet_mono = time.monotonic()
        self.tracker.count_packet(len(pkt.data))
        for frame in frames:
            self.tracker.count_dropped(self.frames.put(frame))
        self.tracker.count_frames(decoded, len(frames))
        self.tracker.set_buffer(self.ring.nbytes, self.ring.duration_s())

    # -- clips -------------------------------------------------------------------------------------------------
    def pin(self, key: str, from_s: float) -> None:
        self.ring.pin(key, from_s)

    def release(self, key: str, after_s: float | None = None) -> None:
        self.ring.release(key, after_s)

    def cut_clip(self, request: ClipRequest, timeout: float) -> ClipResult:
        """The camera's own packets over the padded span; blocks until the post-roll is buffered or timeout."""
        return cut_from_ring(self.ring, self.camera_id, request, timeout)
