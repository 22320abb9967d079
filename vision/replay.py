"""Running an analyzer and a detector over a sequence of frames (offline analysis, scenario tests, benches)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Iterable, Iterator, Sequence

import numpy as np

from vigil.types import VideoFrame, Violation
from vision.analyzer import AnalysisResult, CameraAnalyzer
from vision.detector import Detector
from vision.frame_step import EventLog, FrameStep, detect_directly


def frames_from_images(camera_id: str, images: Iterable[np.ndarray], *, fps: float,
                       start_at: datetime | None = None, start_s: float = 0.0) -> Iterator[VideoFrame]:
    """VideoFrames for decoded images taken at a fixed rate (media time from `start_s`)."""
    t0 = start_at or datetime(2025, 1, 1, tzinfo=timezone.utc)
    for seq, img in enumerate(images):
        pts = start_s + seq / fps
        yield VideoFrame(camera_id=camera_id, seq=seq, pts_s=pts, t_mono=pts, captured_at=t0 + timedelta(seconds=pts),
                         image=img, source_size=(img.shape[1], img.shape[0]))


def run_frames(analyzer: CameraAnalyzer, detector: Detector, frames: Iterable[VideoFrame]) -> Iterator[AnalysisResult]:
    """The pipeline's per-camera step without threads (FrameStep), detecting in the caller's thread."""
    return FrameStep(analyzer, detect_directly(detector)).run(frames)


@dataclass
class ReplaySummary:
    """Everything a scenario test compares with a scene's ground truth."""

    violations: list[Violation] = field(default_factory=list)
    events: dict[str, dict] = field(default_factory=dict)  # event_id -> {"rule", "start", "end", "phases"}
    stats: dict = field(default_factory=dict)

    def spans(self, rule: str | None = None) -> list[tuple[str, float, float]]:
        """(rule, start_s, end_s) of every event, closed or still open at the end."""
        return [(e["rule"], e["start"], e["end"]) for e in self.events.values() if rule in (None, e["rule"])]


def replay(analyzer: CameraAnalyzer, detector: Detector, frames: Iterable[VideoFrame]) -> ReplaySummary:
    """Run `run_frames` to the end and gather the events (the hook for scenario tests over demo scenes)."""
    out, log = ReplaySummary(), EventLog()
    for result in run_frames(analyzer, detector, frames):
        for v in result.violations:
            out.violations.append(v)
            log.add(v)
    out.events = {eid: {"rule": e.first.rule, "start": e.first.start_s, "end": e.last.end_s, "phases": e.phases}
                  for eid, e in log.events.items()}
    out.stats = analyzer.stats
    return out


def match_events(found: Sequence[tuple[str, float, float]], expected: Sequence[dict], *,
                 slack_s: float = 5.0) -> tuple[int, int, int]:
    """(true positives, false positives, misses): an event matches an expected {"rule", "start", "end"} of the
    same rule whose span overlaps it, widened by `slack_s`. An expected entry marked {"optional": true} (a real
    violation the video cut too short to require) is never a miss, and an event on it is not a false one."""
    used: set[int] = set()
    tp = fp = 0
    order = sorted(range(len(expected)), key=lambda i: bool(expected[i].get("optional")))  # required ones first
    for rule, start, end in found:
        for i in order:
            e = expected[i]
            if i not in used and e["rule"] == rule and start <= e["end"] + slack_s and end >= e["start"] - slack_s:
                used.add(i)
                tp += not e.get("optional")
                break
        else:
            fp += 1
    required = sum(1 for e in expected if not e.get("optional"))
    return tp, fp, required - tp
