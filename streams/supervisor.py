"""Runs many camera pipelines in one process: readers, one detector loop per profile, analyzers, evidence workers."""
from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor, wait as wait_futures
from dataclasses import dataclass, field
from typing import Callable, Mapping

from vigil.config_loader import LoadedConfig
from vigil.errors import NotFoundError
from vigil.types import ClipRequest, ModelInfo, VideoFrame, Violation
from vision.analyzer import AnalysisResult, CameraAnalyzer
from vision.batcher import Batcher, BatchObserver
from vision.detector import Detector, profile_detector
from vision.frame_step import FrameStep
from streams.clip import ClipResult
from streams.evidence import ViolationSink
from streams.frame_loop import CameraPlace, ViolationHandoff
from streams.pipeline import CameraPipeline, PipelineConfig
from streams.recorder import AlertSink, Recorder, RecorderConfig
from streams.source import parse_source
from streams.status import CameraStats, CameraStatus, DetectorStats, SupervisorStats
from vigil.errors import VigilError
from vigil.redact import redact_text
from vigil.types import utcnow

log = logging.getLogger(__name__)
DETECT_TIMEOUT_S = 30.0


def rule_latency_s(loaded: LoadedConfig, camera_id: str) -> float:
    """How far back an event's start can lie when it is reported: the longest persistence, plus slack."""
    return max((r.min_s for r in loaded.config.camera_rules(camera_id)), default=0.0) + 5.0


@dataclass(eq=False)
class _Camera:
    camera_id: str
    site_id: str
    profile: str
    pipeline: CameraPipeline
    analyzer: CameraAnalyzer
    step: FrameStep  # gate, detect through the profile's batcher, rules, handoff; keeps the latest result and lag
    stop: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None
    restarts: int = 0
    deliveries: set[Future] = field(default_factory=set)  # phases on their way to the sink


class Supervisor:
    """Owns every camera of a config. Thread-safe; `stop()` leaves no thread of its own running."""

    def __init__(self, loaded: LoadedConfig, sink: ViolationSink | None = None, *,
                 alert_sink: AlertSink | None = None, signer=None, recorder_config: RecorderConfig = RecorderConfig(),
                 resolve_source: Callable[[str], str] | None = None,
                 detectors: Mapping[str, Detector] | None = None,
                 on_state: Callable[[CameraStatus], None] | None = None,
                 evidence_workers: int = 2, pipeline_overrides: Mapping[str, object] | None = None,
                 batch_observer: BatchObserver | None = None):
        self.loaded = loaded
        self.recorder: Recorder | None = None
        if alert_sink is not None:  # the event's life is ours: the recorder cuts clips from our cameras
            self.recorder = Recorder(alert_sink, signer, clips=self, config=recorder_config,
                                     record_for=lambda cid: self.loaded.config.cameras[cid].record)
        if (sink is None) == (self.recorder is None):
            raise ValueError("expected exactly one of sink (a ViolationSink) or alert_sink (with a signer)")
        chosen = sink if sink is not None else self.recorder
        assert chosen is not None
        self.sink: ViolationSink = chosen
        self._resolve = resolve_source
        self._detectors = dict(detectors) if detectors is not None else None
        self._on_state = on_state
        self._batch_observer = batch_observer
        self._overrides = dict(pipeline_overrides or {})
        self._workers = evidence_workers
        self._lock = threading.RLock()
        self._cameras: dict[str, _Camera] = {}
        self._failed: dict[str, CameraStatus] = {}  # cameras that could not start: their own error, not ours
        self._batchers: dict[str, Batcher] = {}
        self._detect_threads: dict[str, threading.Thread] = {}
        self._stop = threading.Event()
        self._detect_stop = threading.Event()  # set after the analyzers ended: none waits on a stopped detector
        self._pool: ThreadPoolExecutor | None = None
        self._monitor: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------------------------
    def start(self) -> None:
        with self._lock:
            self._stop.clear()
            self._detect_stop.clear()
            self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix="vigil-evidence")
            for camera_id, cam in self.loaded.config.cameras.items():
                if cam.enabled:
                    self._add_or_record(camera_id)
            self._monitor = threading.Thread(target=self._watch, name="vigil-supervisor", daemon=True)
            self._monitor.start()

    def stop_analysis(self, timeout: float = 10) -> list[_Camera]:
        """Stop every camera's analysis and hand over every phase already seen; the readers keep buffering (clips
        can still be cut). Returns the cameras."""
        self._stop.set()
        with self._lock:
            cams = list(self._cameras.values())
        for cam in cams:
            cam.stop.set()
        for cam in cams:
            if cam.thread is not None:
                cam.thread.join(timeout)
        if self._pool is not None:
            self._pool.shutdown(wait=True)  # every phase seen is handed to the sink
            self._pool = None
        return cams

    def stop(self, timeout: float = 10) -> None:
        """Stop analysis, hand over every phase already seen, close open events with the footage the ring holds,
        then stop the readers, detector loops and evidence workers."""
        cams = self.stop_analysis(timeout)
        if self.recorder is not None:
            self.recorder.stop(timeout)
        with self._lock:
            self._cameras.clear()
        for cam in cams:
            cam.pipeline._stop.set()  # all readers stop together; each then joins below
        for cam in cams:
            self._join(cam, timeout)
        self._detect_stop.set()
        for batcher in self._batchers.values():
            batcher.close()
        for t in self._detect_threads.values():
            t.join(timeout)
        self._batchers.clear()
        self._detect_threads.clear()
        if self._monitor is not None:
            self._monitor.join(timeout)

    def _join(self, cam: _Camera, timeout: float) -> None:
        if not cam.pipeline.stop(timeout):
            log.warning("camera %s: reader did not end within %.1f s", cam.camera_id, timeout)
        if cam.thread is not None:
            cam.thread.join(timeout)

    # -- cameras -----------------------------------------------------------------------------------------------
    def add_camera(self, camera_id: str, loaded: LoadedConfig | None = None) -> None:
        """Start a camera of the config (or of a newer `loaded` config, which then becomes current)."""
        with self._lock:
            if loaded is not None:
                self.loaded = loaded
            cfg = self.loaded.config
            if camera_id not in cfg.cameras:
                raise NotFoundError(f"camera {camera_id!r} is not in the config (cameras: {', '.join(cfg.cameras)})")
            if camera_id in self._cameras:
                return
            self._failed.pop(camera_id, None)
            cam_cfg = cfg.cameras[camera_id]
            spec = parse_source(cam_cfg.source, as_camera=True, resolve_source=self._resolve)
            detect_spec = (parse_source(cam_cfg.detect_source, as_camera=True, resolve_source=self._resolve)
                           if cam_cfg.detect_source is not None else None)
            overrides = {"retain_extra_s": rule_latency_s(self.loaded, camera_id), **self._overrides}
            pipeline = CameraPipeline(camera_id, spec, PipelineConfig.from_camera(cam_cfg, **overrides),
                                      secrets=self.loaded.secrets, on_state=self._on_state, detect_spec=detect_spec)
            profile = cfg.camera_profile(camera_id)
            cam = self._camera(camera_id, cam_cfg.site, profile, pipeline)
            self._ensure_batcher(profile)
            self._cameras[camera_id] = cam
            pipeline.start()
            self._start_analyzer(cam)

    def _camera(self, camera_id: str, site_id: str, profile: str, pipeline: CameraPipeline) -> _Camera:
        """The camera's FrameStep: detection through its profile's batcher, violations delivered on the pool."""
        analyzer = CameraAnalyzer.from_config(self.loaded, camera_id)

        def detect(frame: VideoFrame):
            batcher = self._batchers.get(profile)  # looked up per frame: hot reload may add one
            if batcher is None:
                return None
            return batcher.submit(camera_id, frame.image).result(timeout=DETECT_TIMEOUT_S)

        deliveries: set[Future] = set()

        def dispatch(v: Violation) -> None:
            pool = self._pool
            if pool is not None:
                future = pool.submit(self._deliver, camera_id, handoff, v)
                deliveries.add(future)
                future.add_done_callback(deliveries.discard)

        handoff = ViolationHandoff(pipeline, pipeline.cfg, CameraPlace(site_id, profile, analyzer.zone_polygons),
                                   self.sink, dispatch)
        return _Camera(camera_id, site_id, profile, pipeline, analyzer, FrameStep(analyzer, detect, handoff),
                       deliveries=deliveries)

    def _add_or_record(self, camera_id: str) -> None:
        """Start one camera; a source that cannot be used is that camera's `offline` state and error."""
        try:
            self.add_camera(camera_id)
        except (VigilError, OSError, ValueError) as e:
            error = redact_text(str(e), self.loaded.secrets)
            log.error("camera %s: cannot start: %s", camera_id, error)
            status = CameraStatus(camera_id=camera_id, state="offline", last_error=error, packets=0, bytes=0,
                                  decoded=0, dropped=0, reconnects=0, fps=0.0, since=utcnow())
            self._failed[camera_id] = status
            if self._on_state is not None:
                self._on_state(status)

    def remove_camera(self, camera_id: str) -> None:
        """Stop one camera: its analysis ends, its open events are closed with the footage its ring holds, then its
        reader stops. Other cameras are not touched."""
        with self._lock:
            cam = self._cameras.get(camera_id)
        if cam is None:
            raise NotFoundError(f"camera {camera_id!r} is not running")
        cam.stop.set()
        if cam.thread is not None:
            cam.thread.join(10)
        wait_futures(list(cam.deliveries), 10)  # every phase it saw is with the recorder before the close
        if self.recorder is not None:
            self.recorder.close_camera(camera_id)
        with self._lock:
            if self._cameras.get(camera_id) is cam:
                del self._cameras[camera_id]
        self._join(cam, 10)

    def replace_camera(self, camera_id: str, loaded: LoadedConfig) -> None:
        """Apply a newer config to one camera (edited from the UI): stop it if it runs, make `loaded` current, and
        start it again when the new config has it enabled. Other cameras keep running undisturbed."""
        if camera_id in self._cameras:
            self.remove_camera(camera_id)
        with self._lock:
            self.loaded = loaded
            self._failed.pop(camera_id, None)
        cam = loaded.config.cameras.get(camera_id)
        if cam is not None and cam.enabled and not self._stop.is_set():
            self._add_or_record(camera_id)

    def status(self) -> dict[str, CameraStatus]:
        with self._lock:
            out = dict(self._failed)
            out.update({cid: cam.pipeline.status() for cid, cam in self._cameras.items()})
            return out

    def stats(self) -> SupervisorStats:
        """Every camera's and detector's counters now, and the recorder's events (for metrics)."""
        cfg = self.loaded.config
        with self._lock:
            cams = list(self._cameras.values())
            failed = list(self._failed.values())
            batchers = dict(self._batchers)
        cameras = [CameraStats(st, cfg.cameras[st.camera_id].site if st.camera_id in cfg.cameras else "",
                               cfg.camera_profile(st.camera_id) if st.camera_id in cfg.cameras else "")
                   for st in failed]
        for cam in cams:
            counts = cam.analyzer.stats
            cameras.append(CameraStats(cam.pipeline.status(), cam.site_id, cam.profile, analysed=counts["frames"],
                                       detected=counts["detected"], lag_s=cam.step.lag_s,
                                       queued=len(cam.pipeline.frames), restarts=cam.restarts))
        detectors = tuple(DetectorStats(profile, b.batches, b.frames, b.failures, b.pending)
                          for profile, b in sorted(batchers.items()))
        rec = self.recorder
        return SupervisorStats(tuple(sorted(cameras, key=lambda c: c.status.camera_id)), detectors,
                               alerts=rec.opened_counts() if rec is not None else (),
                               open_events=rec.open_events() if rec is not None else 0,
                               recorder_errors=rec.errors if rec is not None else 0)

    def pipeline(self, camera_id: str) -> CameraPipeline:
        """The running camera's pipeline (for packet listeners); NotFoundError when it is not running."""
        cam = self._cameras.get(camera_id)
        if cam is None:
            raise NotFoundError(f"camera {camera_id!r} is not running")
        return cam.pipeline

    def latest(self, camera_id: str) -> AnalysisResult | None:
        cam = self._cameras.get(camera_id)
        return cam.step.latest if cam is not None else None

    def cut_clip(self, request: ClipRequest, timeout: float) -> ClipResult:
        cam = self._cameras.get(request.camera_id)
        if cam is None:
            raise NotFoundError(f"camera {request.camera_id!r} is not running; no footage to cut")
        return cam.pipeline.cut_clip(request, timeout)

    def swap_model(self, profile: str, detector: Detector) -> None:
        with self._lock:
            if profile in self._batchers:
                self._batchers[profile].swap(detector)
            else:
                self._detectors = {**(self._detectors or {}), profile: detector}
                self._ensure_batcher(profile)

    def model_info(self, profile: str) -> ModelInfo | None:
        """The model detecting for `profile` now (None: none runs)."""
        batcher = self._batchers.get(profile)
        return batcher.info if batcher is not None else None

    # -- detection ---------------------------------------------------------------------------------------------
    def _detector_for(self, profile: str) -> Detector | None:
        if self._detectors is not None:
            return self._detectors.get(profile)
        return profile_detector(self.loaded, profile)

    def _ensure_batcher(self, profile: str) -> None:
        if profile in self._batchers:
            return
        detector = self._detector_for(profile)
        if detector is None:
            log.info("profile %s: no detector configured; cameras ingest, buffer and decode only", profile)
            return
        bc = self.loaded.config.batch
        batcher = Batcher(detector, max_batch=bc.max_batch, max_wait_ms=bc.max_wait_ms, name=profile,
                          observer=self._batch_observer, workers=bc.workers)
        self._batchers[profile] = batcher
        for i in range(bc.workers):
            t = threading.Thread(target=self._detect_loop, args=(batcher,), name=f"vigil-detect-{profile}-{i}",
                                 daemon=True)
            self._detect_threads[f"{profile}-{i}"] = t
            t.start()

    def _detect_loop(self, batcher: Batcher) -> None:
        while not self._detect_stop.is_set():
            try:
                batcher.step(0.1)
            except Exception:  # noqa: BLE001 - one bad batch must not end detection for every camera
                log.exception("detector loop: a batch failed")

    # -- per-camera analysis -----------------------------------------------------------------------------------
    def _start_analyzer(self, cam: _Camera) -> None:
        cam.thread = threading.Thread(target=self._analyze_loop, args=(cam,), name=f"vigil-analyze-{cam.camera_id}",
                                      daemon=True)
        cam.thread.start()

    def _analyze_loop(self, cam: _Camera) -> None:
        while not cam.stop.is_set():
            frame = cam.pipeline.frames.get(timeout=0.2)
            if frame is None:
                if cam.pipeline.finished.is_set():
                    return
                continue
            try:
                cam.step(frame)
            except Exception:  # noqa: BLE001 - boundary of one camera: log it with the camera and keep going
                log.exception("camera %s: analysis of frame %d failed", cam.camera_id, frame.seq)

    @staticmethod
    def _deliver(camera_id: str, handoff: ViolationHandoff, v: Violation) -> None:
        try:
            handoff.deliver(v)
        except Exception:  # noqa: BLE001 - a failing sink must not stop evidence for other events
            log.exception("camera %s: violation sink failed for event %s", camera_id, v.event_id)

    # -- watchdog ----------------------------------------------------------------------------------------------
    def _watch(self) -> None:
        while not self._stop.wait(1.0):
            with self._lock:
                cams = list(self._cameras.values())
            for cam in cams:
                if cam.stop.is_set() or cam.pipeline.finished.is_set():
                    continue
                if not cam.pipeline.alive:
                    log.error("camera %s: reader thread died; restarting it", cam.camera_id)
                    cam.restarts += 1
                    cam.pipeline.start()
                if cam.thread is not None and not cam.thread.is_alive():
                    log.error("camera %s: analyzer thread died; restarting it", cam.camera_id)
                    cam.restarts += 1
                    self._start_analyzer(cam)
