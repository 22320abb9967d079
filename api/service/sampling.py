"""Active learning in the running service: each camera's newest analysed frame goes through its
UncertaintySampler; a doubtful one becomes a labelling task (api.ops.label_tasks)."""
from __future__ import annotations

import logging
import threading
from datetime import datetime

import numpy as np

from api.ops.label_tasks import create_task
from vigil.errors import VigilError
from vision.analyzer import AnalysisResult
from vision.jpeg import encode_jpeg
from vision.uncertainty import SampleDecision, SamplerSettings, Seen, UncertaintySampler

log = logging.getLogger(__name__)
POLL_S = 0.05  # how often each camera's newest result is looked at


def seen_of(result: AnalysisResult) -> list[Seen]:
    d = result.detections
    names = d.data.get("class_name", np.array([], dtype=str)) if d.data else np.array([], dtype=str)
    conf = d.confidence if d.confidence is not None else np.zeros(len(d))
    tids = d.tracker_id if d.tracker_id is not None else [None] * len(d)
    # a detection no track took has tracker_id -1: untracked, never one shared "track"
    return [Seen(str(n), float(c), None if t is None or int(t) < 0 else int(t)) for n, c, t in zip(names, conf, tids)]


def detections_of(result: AnalysisResult) -> list[dict]:
    out = []
    for s, box in zip(seen_of(result), result.detections.xyxy):
        x1, y1, x2, y2 = (round(float(v), 1) for v in box)
        out.append({"class_name": s.class_name, "confidence": round(s.confidence, 4), "track_id": s.track_id,
                    "x1": x1, "y1": y1, "x2": x2, "y2": y2})
    return out


class ActiveSampling:
    """Polls the supervisor's newest result per camera (never slows a frame loop) and queues doubtful frames."""

    def __init__(self, services, supervisor, stop: threading.Event):
        self.services, self.supervisor, self.stop = services, supervisor, stop
        self.samplers: dict[str, UncertaintySampler] = {}
        self.last: dict[str, AnalysisResult] = {}
        self.created = 0

    def _sampler(self, camera_id: str, profile: str) -> UncertaintySampler:
        s = self.samplers.get(camera_id)
        if s is None:
            config = self.services.loaded.config
            c, dcfg = config.active_learning, config.detectors.get(profile)
            settings = SamplerSettings(band=tuple(c.band), min_interval_s=c.min_interval_s,
                                       flicker_changes=c.flicker_changes, flicker_window_s=c.flicker_window_s)
            s = self.samplers[camera_id] = UncertaintySampler({}, dcfg.conf if dcfg else 0.25, settings)
        return s

    def step(self) -> None:
        config = self.services.loaded.config
        for camera_id in list(config.cameras):
            result = self.supervisor.latest(camera_id)
            if result is None or result is self.last.get(camera_id) or not result.detected:
                continue
            self.last[camera_id] = result
            profile = config.camera_profile(camera_id)
            decision = self._sampler(camera_id, profile).observe(result.frame.t_mono, seen_of(result))
            if decision is not None:
                self._queue(camera_id, profile, result, decision)

    def _queue(self, camera_id: str, profile: str, result: AnalysisResult, decision: SampleDecision) -> None:
        frame = result.frame
        info_of = getattr(self.supervisor, "model_info", None)
        model = info_of(profile) if info_of is not None else None
        captured: datetime = frame.captured_at
        task_id = create_task(self.services, camera_id=camera_id, profile=profile, jpeg=encode_jpeg(frame.image),
                              width=int(frame.image.shape[1]), height=int(frame.image.shape[0]),
                              detections=detections_of(result), reason=decision.reason, detail=decision.detail,
                              facts=decision.facts,
                              model_name=model.name if model else "", model_version=model.version if model else "",
                              captured_at=captured, max_pending=self.services.loaded.config.active_learning.max_pending)
        self.created += 1
        log.info("camera %s: frame queued for labelling (task %d, %s: %s)", camera_id, task_id, decision.reason,
                 decision.detail)

    def run(self) -> None:
        while not self.stop.wait(POLL_S):
            try:
                self.step()
            except (VigilError, OSError, ValueError) as e:
                log.warning("active learning: a frame was not queued (%s)", e)
            except Exception:  # noqa: BLE001 - the sampler must never take the service down
                log.exception("active learning: sampling failed")
