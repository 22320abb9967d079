"""Zones and masks: polygons in relative coordinates, tested at a box's anchor (bottom centre by default)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Sequence

import numpy as np
import supervision as sv

Anchor = Literal["bottom_center", "center"]


def anchors(dets: sv.Detections, width: int, height: int, anchor: Anchor = "bottom_center") -> np.ndarray:
    """(N, 2) anchor points of the boxes, relative to the frame (0-1)."""
    xyxy = dets.xyxy.reshape(-1, 4)
    x = (xyxy[:, 0] + xyxy[:, 2]) / 2 / max(width, 1)
    y = (xyxy[:, 3] if anchor == "bottom_center" else (xyxy[:, 1] + xyxy[:, 3]) / 2) / max(height, 1)
    return np.stack([x, y], axis=1)


def points_in_polygon(points: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """Even-odd ray casting, vectorised; points on the bottom/right edge count as inside."""
    if len(points) == 0:
        return np.zeros(0, bool)
    px, py = points[:, 0:1], points[:, 1:2]
    x1, y1 = polygon[:, 0], polygon[:, 1]
    x2, y2 = np.roll(x1, -1), np.roll(y1, -1)
    crosses = (y1 > py) != (y2 > py)
    with np.errstate(divide="ignore", invalid="ignore"):
        x_at = x1 + (py - y1) * (x2 - x1) / (y2 - y1)
    inside = (crosses & (px < x_at)).sum(axis=1) % 2 == 1
    # A bottom-centre anchor lies exactly on the frame's bottom edge; count edges as inside.
    on_edge = _on_edges(px, py, x1, y1, x2, y2)
    return inside | on_edge


def _on_edges(px, py, x1, y1, x2, y2, eps: float = 1e-6) -> np.ndarray:
    cross = (x2 - x1) * (py - y1) - (y2 - y1) * (px - x1)
    within = ((np.minimum(x1, x2) - eps <= px) & (px <= np.maximum(x1, x2) + eps)
              & (np.minimum(y1, y2) - eps <= py) & (py <= np.maximum(y1, y2) + eps))
    return ((np.abs(cross) <= eps) & within).any(axis=1)


@dataclass(frozen=True, eq=False)
class Zone:
    """A named polygon (relative coordinates) and the box anchor tested against it."""

    name: str
    polygon: tuple[tuple[float, float], ...]
    anchor: Anchor = "bottom_center"
    no_dumping: bool = False

    def __post_init__(self):
        if len(self.polygon) < 3:
            raise ValueError(f"zone {self.name!r}: expected at least 3 points, found {len(self.polygon)}")

    def contains(self, dets: sv.Detections, width: int, height: int) -> np.ndarray:
        """Bool per detection: its anchor lies inside the zone."""
        if len(dets) == 0:
            return np.zeros(0, bool)
        return points_in_polygon(anchors(dets, width, height, self.anchor), np.asarray(self.polygon, float))


class MaskSet:
    """Areas where detections are dropped (a detection whose bottom-centre anchor falls inside any)."""

    def __init__(self, polygons: Sequence[Sequence[tuple[float, float]]] = (), anchor: Anchor = "bottom_center"):
        self._zones = [Zone(f"mask{i}", tuple(tuple(p) for p in poly), anchor) for i, poly in enumerate(polygons)]

    def __len__(self) -> int:
        return len(self._zones)

    def apply(self, dets: sv.Detections, width: int, height: int) -> sv.Detections:
        if not self._zones or len(dets) == 0:
            return dets
        masked = np.zeros(len(dets), bool)
        for z in self._zones:
            masked |= z.contains(dets, width, height)
        return dets[~masked]


def in_any_zone(dets: sv.Detections, zones: Sequence[Zone], width: int, height: int) -> np.ndarray:
    """Bool per detection: inside at least one of `zones`; all True when `zones` is empty (whole frame)."""
    if not zones:
        return np.ones(len(dets), bool)
    hit = np.zeros(len(dets), bool)
    for z in zones:
        hit |= z.contains(dets, width, height)
    return hit
