"""Active-learning sampling: which analysed frames the detector was unsure of (worth a person's labels).

A frame is worth labelling when a detection's score lies in a band around its class threshold (the model
could as well have said the opposite), or when a tracked object flickers (its track appears and disappears
several times in a short window: the model sees it on some frames and not on others). One camera's sampler
says so at most once per `min_interval_s`, so a doubtful scene never floods the queue. No I/O.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Mapping, Sequence

NEAR_THRESHOLD = "near_threshold"
FLICKER = "flicker"


@dataclass(frozen=True)
class SamplerSettings:
    band: tuple[float, float] = (0.6, 1.15)  # a score within [low*threshold, high*threshold] is doubtful
    min_interval_s: float = 60.0  # at most one sample per camera this often
    flicker_changes: int = 4  # appear/disappear changes of one track ...
    flicker_window_s: float = 10.0  # ... within this many seconds make it flicker

    def __post_init__(self) -> None:
        low, high = self.band
        if not (0 < low <= 1 <= high):
            raise ValueError(f"band: expected 0 < low <= 1 <= high, found {self.band!r}")
        if self.min_interval_s < 0 or self.flicker_changes < 2 or self.flicker_window_s <= 0:
            raise ValueError("expected min_interval_s >= 0, flicker_changes >= 2 and flicker_window_s > 0, found "
                             f"{self.min_interval_s!r}, {self.flicker_changes!r}, {self.flicker_window_s!r}")


@dataclass(frozen=True)
class Seen:
    """One detection of an analysed frame: class, score and track id (None when untracked)."""

    class_name: str
    confidence: float
    track_id: int | None = None


@dataclass(frozen=True)
class SampleDecision:
    reason: str  # near_threshold | flicker
    detail: str  # e.g. "person 0.27 (threshold 0.25)" or "track 7 (person) changed 4 times in 10 s"
    facts: dict = field(default_factory=dict, compare=False)  # the detail's values, for a translated text


@dataclass
class _Track:
    class_name: str
    present: bool = True
    changes: deque = field(default_factory=deque)  # times the track appeared or disappeared


class UncertaintySampler:
    """One camera's sampler; `observe(t, seen)` for every frame the detector ran on (t: seconds, increasing)."""

    def __init__(self, thresholds: Mapping[str, float], default_threshold: float,
                 settings: SamplerSettings | None = None):
        self.thresholds = dict(thresholds)
        self.default_threshold = default_threshold
        self.settings = settings or SamplerSettings()
        self._last_sample: float | None = None
        self._tracks: dict[int, _Track] = {}

    def threshold(self, class_name: str) -> float:
        return self.thresholds.get(class_name, self.default_threshold)

    def _near(self, seen: Sequence[Seen]) -> SampleDecision | None:
        low, high = self.settings.band
        best: tuple[float, Seen] | None = None
        for s in seen:
            thr = self.threshold(s.class_name)
            if low * thr <= s.confidence <= high * thr:
                closeness = abs(s.confidence - thr) / thr
                if best is None or closeness < best[0]:
                    best = (closeness, s)
        if best is None:
            return None
        s = best[1]
        thr = self.threshold(s.class_name)
        return SampleDecision(NEAR_THRESHOLD, f"{s.class_name} {s.confidence:.2f} (threshold {thr:.2f})",
                              {"class_name": s.class_name, "score": round(s.confidence, 4), "threshold": thr})

    def _track(self, t: float, seen: Sequence[Seen]) -> SampleDecision | None:
        """Record appear/disappear changes per track id; the first track that changed often enough flickers."""
        now = {s.track_id: s for s in seen if s.track_id is not None and s.track_id >= 0}  # -1: untracked
        for tid, s in now.items():
            track = self._tracks.get(tid)
            if track is None:
                self._tracks[tid] = _Track(s.class_name)
            elif not track.present:
                track.present = True
                track.changes.append(t)
        for tid, track in self._tracks.items():
            if track.present and tid not in now:
                track.present = False
                track.changes.append(t)
        window = self.settings.flicker_window_s
        found = None
        for tid in list(self._tracks):
            track = self._tracks[tid]
            while track.changes and track.changes[0] < t - window:
                track.changes.popleft()
            if not track.present and not track.changes:
                del self._tracks[tid]  # gone for a whole window: forget it
            elif found is None and len(track.changes) >= self.settings.flicker_changes:
                found = SampleDecision(FLICKER, f"track {tid} ({track.class_name}) changed {len(track.changes)} "
                                                f"times in {window:g} s",
                                       {"track_id": tid, "class_name": track.class_name,
                                        "changes": len(track.changes), "window_s": window})
        return found

    def observe(self, t: float, seen: Sequence[Seen]) -> SampleDecision | None:
        """The reason to sample this frame, or None (not doubtful, or a sample was taken too recently)."""
        flicker = self._track(t, seen)
        decision = self._near(seen) or flicker
        if decision is None:
            return None
        if self._last_sample is not None and t - self._last_sample < self.settings.min_interval_s:
            return None
        self._last_sample = t
        if decision.reason == FLICKER:
            for track in self._tracks.values():
                track.changes.clear()  # the flicker is sampled; count afresh
        return decision
