"""One camera's frame step (gate, detect when wanted, track and rules, violations out) and the events it saw.

The one body of every frame loop: the service's per-camera analyzer thread (detecting through the cross-camera
batcher), offline analysis and replay (scenario tests, evaluation, benches; detecting in the caller's thread).
Each loop differs only in where its frames come from and how it detects.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator

import supervision as sv

from vigil.types import ModelInfo, VideoFrame, Violation
from vision.analyzer import AnalysisResult, CameraAnalyzer
from vision.detector import Detector

# A frame's detections and the model that made them; None when no detector runs now (the frame is analysed
# as a skipped one: tracks and rules carry on without new boxes).
DetectFn = Callable[[VideoFrame], "tuple[sv.Detections, ModelInfo | None] | None"]


def detect_directly(detector: Detector) -> DetectFn:
    """Detect one frame in the caller's thread (offline analysis, replay); the service uses its batcher."""
    def detect(frame: VideoFrame) -> tuple[sv.Detections, ModelInfo | None]:
        return detector.detect([frame.image])[0], detector.info
    return detect


class FrameStep:
    """`step(frame)`: the motion gate asks for the detector or not, `detect` runs, the analyzer tracks and applies
    the rules, each violation phase goes to `on_violation`. Keeps the latest result and its lag (decode to rules
    done, monotonic). One caller per camera, like its analyzer."""

    def __init__(self, analyzer: CameraAnalyzer, detect: DetectFn | None,
                 on_violation: Callable[[Violation], None] | None = None):
        self.analyzer = analyzer
        self.detect = detect
        self.on_violation = on_violation
        self.latest: AnalysisResult | None = None
        self.lag_s = 0.0

    def __call__(self, frame: VideoFrame) -> AnalysisResult:
        dets = model = None
        if self.detect is not None and self.analyzer.wants_detection(frame):
            found = self.detect(frame)
            if found is not None:
                dets, model = found
        result = self.analyzer.update(frame, dets, model)
        self.latest = result
        self.lag_s = time.monotonic() - frame.t_mono
        if self.on_violation is not None:
            for v in result.violations:
                self.on_violation(v)
        return result

    def run(self, frames: Iterable[VideoFrame]) -> Iterator[AnalysisResult]:
        for frame in frames:
            yield self(frame)


@dataclass
class EventSpan:
    """One event as its phases came: the first, the latest, and the latest that carried a best image."""

    first: Violation
    last: Violation
    best: Violation
    phases: list[str] = field(default_factory=list)

    @property
    def closed(self) -> bool:
        return "closed" in self.phases


class EventLog:
    """Violation phases gathered per event, in the order events opened (offline analysis, replay)."""

    def __init__(self) -> None:
        self.events: dict[str, EventSpan] = {}

    def add(self, v: Violation) -> EventSpan:
        span = self.events.get(v.event_id)
        if span is None:
            span = self.events[v.event_id] = EventSpan(v, v, v)
        span.last = v
        if v.best_image is not None:
            span.best = v
        span.phases.append(v.phase)
        return span

    def pop(self, event_id: str) -> EventSpan:
        return self.events.pop(event_id)
