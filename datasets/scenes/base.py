"""Scene building blocks shared by the site and lab scenes: labels, actors, episodes, ground truth."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from vigil.catalogue import RULES

Box4 = tuple[float, float, float, float]
TRUNCATED_MARGIN_S = 4.0


@dataclass(frozen=True)
class Label:
    """One labelled object in one frame: a catalogue class name and a box in frame pixels."""

    cls: str
    box: Box4


class Actor(Protocol):
    """Something drawn into the scene; `depth` orders drawing (larger is nearer, drawn later)."""

    depth: float

    def draw(self, img: np.ndarray, t: float) -> list[Label]: ...


@dataclass
class Episode:
    """A planned interval in which a rule's condition holds (the ground truth of the scene)."""

    rule: str
    start: float
    end: float
    subject: int | None = None  # absence rules: the person it concerns (never merged with another person)


@dataclass
class Plan:
    """What a scene builder produced: background, actors, foreground occluders and the ground truth."""

    background: np.ndarray  # float32 BGR
    actors: list = field(default_factory=list)
    foreground: list = field(default_factory=list)  # actors always drawn last (occluders)
    episodes: list[Episode] = field(default_factory=list)


def _merged(episodes: list[Episode], duration: float) -> list[tuple[str, float, float, bool]]:
    """(rule, start, end, counts) of each violation: episodes of one rule (and one person, for absence rules)
    merged across gaps shorter than the rule's grace; `counts` when it lasts the rule's `min_s` inside the video
    (4 s more when the video cuts it short: k of n frames take time too)."""
    out = []
    for rule, subject in sorted({(e.rule, e.subject if e.subject is not None else -1) for e in episodes}):
        spec = RULES[rule]
        spans = sorted((max(0.0, e.start), min(duration, e.end)) for e in episodes
                       if e.rule == rule and (e.subject if e.subject is not None else -1) == subject)
        merged: list[list[float]] = []
        for s, e in spans:
            if merged and s - merged[-1][1] < spec.grace_s:
                merged[-1][1] = max(merged[-1][1], e)
            else:
                merged.append([s, e])
        out.extend((rule, s, e, e - s >= spec.min_s + (TRUNCATED_MARGIN_S if e >= duration else 0.0))
                   for s, e in merged)
    return out


def ground_truth(episodes: list[Episode], duration: float) -> tuple[dict, ...]:
    """The scene's violations, {"rule", "start", "end"} in seconds: what the analyzer must find."""
    out = [{"rule": r, "start": round(s, 2), "end": round(e, 2)} for r, s, e, counts in _merged(episodes, duration)
           if counts]
    return tuple(sorted(out, key=lambda v: (v["start"], v["rule"])))


def cut_short(episodes: list[Episode], duration: float) -> tuple[dict, ...]:
    """Real violations the end of the video cuts too short to require, marked {"optional": true}: the analyzer
    need not find them, but an event it opens on one is not a false violation (like a 'difficult' object in
    detection benchmarks)."""
    out = [{"rule": r, "start": round(s, 2), "end": round(e, 2), "optional": True}
           for r, s, e, counts in _merged(episodes, duration) if not counts and e >= duration]
    return tuple(sorted(out, key=lambda v: (v["start"], v["rule"])))


def clip_box(box: Box4, size: tuple[int, int], min_visible: float = 0.35) -> Box4 | None:
    """Clip a box to the frame; None when less than `min_visible` of its area is inside."""
    W, H = size
    x1, y1, x2, y2 = box
    area = max(1e-6, (x2 - x1) * (y2 - y1))
    cx1, cy1, cx2, cy2 = max(0.0, x1), max(0.0, y1), min(float(W), x2), min(float(H), y2)
    if cx2 - cx1 < 3 or cy2 - cy1 < 3:
        return None
    if (cx2 - cx1) * (cy2 - cy1) / area < min_visible:
        return None
    return cx1, cy1, cx2, cy2


def piecewise(t: float, keys: list[tuple[float, float]]) -> float:
    """Linear interpolation through (time, value) keys, held constant outside them."""
    ts = [k[0] for k in keys]
    vs = [k[1] for k in keys]
    return float(np.interp(t, ts, vs))


def jittered_crops(frames, n: int, rng: np.random.Generator, *, label: int, region=None, hw: tuple[int, int],
                   sigma: float, pad: float) -> tuple[np.ndarray, np.ndarray]:
    """`n` crops (N, H, W, 3 BGR uint8) and labels from `frames`, an iterator of (frame, [(xyxy box, *labels)]):
    each box jittered by `sigma` of its size the way a detector's box would frame it, mapped by `region` (a
    box -> box function, e.g. a person's hands) and cut and resized by `vigil.crops.crop_resized`."""
    from vigil.crops import crop_resized

    crops, labels = [], []
    for frame, objects in frames:
        for box, *tags in objects:
            x1, y1, x2, y2 = box
            bw, bh = x2 - x1, y2 - y1
            j = rng.normal(0, sigma, 4) * np.array([bw, bh, bw, bh])
            jittered = (x1 + j[0], y1 + j[1], x2 + j[2], y2 + j[3])
            crops.append(crop_resized(frame, region(jittered) if region else jittered, hw, pad=pad))
            labels.append(tags[label])
        if len(crops) >= n:
            return np.stack(crops[:n]), np.asarray(labels[:n], np.int64)
    raise ValueError("the frames ran out before n crops were cut")


class CropCollector:
    """Crops of real pictures gathered one by one: the crop, its label and where it came from (an index into
    `kinds`), returned as arrays (N, H, W, 3 BGR uint8), (N,), (N,); empty arrays when nothing was gathered."""

    def __init__(self, hw: tuple[int, int], kinds: tuple[str, ...], *, pad: float):
        self.hw, self.kinds, self.pad = hw, kinds, pad
        self.crops: list[np.ndarray] = []
        self.labels: list[int] = []
        self.where: list[int] = []

    def add(self, img: np.ndarray, box, label: int, kind: str) -> None:
        from vigil.crops import crop_resized

        self.crops.append(crop_resized(img, tuple(box), self.hw, pad=self.pad))
        self.labels.append(label)
        self.where.append(self.kinds.index(kind))

    def arrays(self, *, kinds: bool) -> tuple:
        out = (np.stack(self.crops) if self.crops else np.zeros((0, *self.hw, 3), np.uint8),
               np.asarray(self.labels, np.int64), np.asarray(self.where, np.int64))
        return out if kinds else out[:2]
