"""What runs inside Ray actors: a camera group (the stream supervisor for some cameras) and a batched detector.

Neither touches the database, the evidence store, the outbox or the signing key: a camera group hands every
violation phase back to the API process (which polls `CameraGroup.poll`), and cuts clips from its own ring when
the API's recorder asks. Models travel as bytes (`DetectorSpec`), so no node needs the model registry's files.
"""
from __future__ import annotations

import collections
import dataclasses
import logging
import os
import sys
import tempfile
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from streams.evidence import ViolationEvent
from streams.status import CameraStatus, SupervisorStats
from streams.supervisor import Supervisor
from vigil.config_loader import LoadedConfig
from vigil.errors import ModelError
from vigil.types import ClipRequest, ModelInfo

log = logging.getLogger(__name__)
MAX_EVENTS_PER_POLL = 64  # phases handed over per poll; the rest wait for the next one
MAX_QUEUED_EVENTS = 10_000  # an API that stopped polling must not grow an actor without bound
DETECT_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class DetectorSpec:
    """A model as it travels to another node: the file's bytes and how to load it (`vision.load_detector`)."""

    profile: str
    suffix: str  # ".onnx" or ".pt": picks the backend
    data: bytes = field(repr=False)
    sha256: str
    name: str
    version: str
    imgsz: int
    conf: float = 0.25
    iou: float = 0.45
    threads: int = 2

    @classmethod
    def of(cls, profile: str, detector: Any, threads: int = 2) -> "DetectorSpec":
        """The spec of a detector loaded here (its `info.path` is read now)."""
        info: ModelInfo = detector.info
        path = Path(info.path)
        try:
            data = path.read_bytes()
        except OSError as e:
            raise ModelError(f"{path}: expected the model file of profile {profile!r} to ship to the cluster, "
                             f"found {type(e).__name__}: {e}") from None
        return cls(profile, path.suffix.lower(), data, info.sha256, info.name, info.version, int(info.imgsz),
                   float(getattr(detector, "conf", 0.25)), float(getattr(detector, "iou", 0.45)), threads)


def build_detector(spec: DetectorSpec, cache_dir: Path | None = None):
    """Load a shipped model on this node: its bytes go to a local cache file named by their SHA-256."""
    from vision.detector import load_detector

    cache = cache_dir or Path(tempfile.gettempdir()) / "vigil-models"
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"{spec.sha256}{spec.suffix}"
    if not path.is_file():
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
        tmp.write_bytes(spec.data)
        os.replace(tmp, path)
    return load_detector(path, conf=spec.conf, iou=spec.iou, imgsz=spec.imgsz, threads=spec.threads,
                         name=spec.name, version=spec.version, profile=spec.profile)


@dataclass(frozen=True)
class GroupReport:
    """One poll's answer: who answered (an incarnation is one life of the actor), its phases and counters."""

    incarnation: str
    node_id: str
    node_ip: str
    events: tuple[tuple[int, ViolationEvent], ...]  # (seq, phase), oldest first, all after the poll's `ack`
    statuses: dict[str, CameraStatus]
    stats: SupervisorStats
    dropped_events: int = 0  # phases dropped because the API did not poll (MAX_QUEUED_EVENTS)


class CameraGroup:
    """The body of one camera-group actor: a `Supervisor` over some cameras whose phases queue for the API.

    `ray.remote(CameraGroup)` makes it an actor (see `fleet.RayFleet`); it is a plain class so that it can be
    read and tried without Ray.
    """

    def __init__(self, loaded: LoadedConfig, camera_ids: Sequence[str], specs: dict[str, DetectorSpec],
                 detector_actors: dict[str, Any] | None = None,
                 pipeline_overrides: dict[str, object] | None = None):
        from vigil.redact import install_log_redaction

        install_log_redaction(loaded.secrets)  # this process logs camera errors too; never a password
        self.incarnation = uuid.uuid4().hex
        self.node_id, self.node_ip = _node()
        self._lock = threading.Lock()
        self._events: collections.deque[tuple[int, ViolationEvent]] = collections.deque()
        self._seq = 0
        self._dropped = 0
        cameras = {cid: loaded.config.cameras[cid] for cid in camera_ids}
        own = dataclasses.replace(loaded, config=loaded.config.model_copy(update={"cameras": cameras}))
        detectors: dict[str, Any] = {}
        for profile, handle in (detector_actors or {}).items():
            detectors[profile] = RemoteDetector(handle)
        for profile, spec in specs.items():
            if profile in detectors:
                continue
            try:
                detectors[profile] = build_detector(spec)
            except Exception as e:  # noqa: BLE001 - one bad model must not stop the group's cameras
                log.error("camera group: profile %s: cannot load model %s (%s); its cameras run without "
                          "detection", profile, spec.version, e)
        self.supervisor = Supervisor(own, sink=self, resolve_source=_demo_resolver(loaded),
                                           detectors=detectors, pipeline_overrides=pipeline_overrides)
        self.supervisor.start()
        log.info("camera group %s on %s: cameras %s", self.incarnation[:8],
                 f"node {self.node_ip} ({self.node_id[:8]})" if self.node_id else self.node_ip, ", ".join(camera_ids))

    # -- ViolationSink (called on the supervisor's evidence threads) -------------------------------------------
    def on_violation(self, event: ViolationEvent) -> None:
        with self._lock:
            self._seq += 1
            self._events.append((self._seq, event))
            while len(self._events) > MAX_QUEUED_EVENTS:
                self._events.popleft()
                self._dropped += 1

    # -- what the API calls ------------------------------------------------------------------------------------
    def poll(self, ack: int) -> GroupReport:
        """Phases after `ack` (those up to it were received and are forgotten here), statuses and counters."""
        with self._lock:
            while self._events and self._events[0][0] <= ack:
                self._events.popleft()
            events = tuple(list(self._events)[:MAX_EVENTS_PER_POLL])
            dropped = self._dropped
        return GroupReport(self.incarnation, self.node_id, self.node_ip, events, self.supervisor.status(),
                           self.supervisor.stats(), dropped)

    def cut_clip(self, request: ClipRequest, timeout: float):
        return self.supervisor.cut_clip(request, timeout)

    def latest(self, camera_id: str):
        return self.supervisor.latest(camera_id)

    def swap_model(self, spec: DetectorSpec) -> str:
        self.supervisor.swap_model(spec.profile, build_detector(spec))
        return spec.sha256

    def add_camera(self, camera_id: str, loaded: LoadedConfig) -> None:
        self.supervisor.add_camera(camera_id, loaded)

    def remove_camera(self, camera_id: str) -> None:
        self.supervisor.remove_camera(camera_id)

    def stop_analysis(self, timeout: float = 10.0) -> None:
        self.supervisor.stop_analysis(timeout)

    def stop(self, timeout: float = 10.0) -> None:
        self.supervisor.stop(timeout)


class DetectorActor:
    """The body of one detector actor (one per profile, on a GPU node when the cluster has one)."""

    def __init__(self, spec: DetectorSpec):
        self.detector = build_detector(spec)

    def detect(self, images: list[np.ndarray]):
        return self.detector.detect(images), self.detector.info

    def swap_model(self, spec: DetectorSpec) -> str:
        self.detector = build_detector(spec)
        return spec.sha256

    def model(self) -> str:
        return self.detector.info.sha256


class RemoteDetector:
    """vision's Detector protocol over a detector actor: a camera group's batcher sends it whole batches."""

    def __init__(self, handle: Any):
        import ray

        self._ray, self._handle = ray, handle
        self.info: ModelInfo = ModelInfo(name="(remote)", version="", profile="", classes=(), path="", sha256="")

    def detect(self, images: Sequence[np.ndarray]):
        dets, info = self._ray.get(self._handle.detect.remote(list(images)), timeout=DETECT_TIMEOUT_S)
        self.info = info  # the batcher reads it after detect: the model that saw these frames
        return dets


def _node() -> tuple[str, str]:
    """(node id, where) in a Ray actor; outside Ray (a child process of `procs.ProcessFleet`, a plain object in a
    test) no node, and "process <pid>" says where."""
    ray = sys.modules.get("ray")  # never imported here just to ask: a child process does without Ray
    try:
        if ray is not None and ray.is_initialized():
            return ray.get_runtime_context().get_node_id(), ray.util.get_node_ip_address()
    except Exception:  # noqa: BLE001 - Ray half there: say the process
        pass
    return "", f"process {os.getpid()}"


def _demo_resolver(loaded: LoadedConfig):
    """Demo scenes are rendered on the node that runs the camera, under its own data_dir."""
    def resolve(spec: str) -> str:
        from datasets.scenes import demo_source_path

        return str(demo_source_path(spec, loaded.data_dir / "scenes"))
    return resolve
