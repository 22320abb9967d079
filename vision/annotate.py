"""Drawing detections, zones and active rule names on a frame (supervision annotators), for the wall and evidence."""
from __future__ import annotations

from typing import Mapping, Sequence

import cv2
import numpy as np
import supervision as sv

from vision.rules.base import class_names, to_boxes

__all__ = ["annotate", "to_boxes", "labels_for"]

_ZONE_COLOUR = sv.Color(r=255, g=200, b=0)
_RULE_COLOUR = sv.Color(r=220, g=30, b=30)


def labels_for(dets: sv.Detections) -> list[str]:
    """'class 0.87 #12' per detection (track id only when tracked)."""
    names = class_names(dets)
    ids = dets.tracker_id if dets.tracker_id is not None else np.full(len(dets), -1)
    conf = dets.confidence if dets.confidence is not None else np.ones(len(dets))
    return [f"{n} {c:.2f}" + (f" #{int(t)}" if t >= 0 else "") for n, c, t in zip(names, conf, ids)]


def _draw_zones(scene: np.ndarray, zones: Mapping[str, Sequence[tuple[float, float]]]) -> None:
    h, w = scene.shape[:2]
    for name, poly in zones.items():
        pts = np.array([[round(x * (w - 1)), round(y * (h - 1))] for x, y in poly], dtype=np.int64)
        sv.draw_polygon(scene, pts, color=_ZONE_COLOUR, thickness=2)
        x, y = pts.min(axis=0)
        zw = cv2.getTextSize(name, cv2.FONT_HERSHEY_SIMPLEX, 0.4, 1)[0][0]
        sv.draw_text(scene, name, sv.Point(int(x) + 6 + zw // 2, int(y) + 12), text_color=sv.Color.BLACK,
                     text_scale=0.4, text_padding=3, background_color=_ZONE_COLOUR)


def annotate(image: np.ndarray, dets: sv.Detections, *, zones: Mapping[str, Sequence[tuple[float, float]]] = {},
             active_rules: Sequence[str] = (), title: str = "") -> np.ndarray:
    """A new BGR image: zones, boxes with class, score and track id, the title and the active rules."""
    scene = image.copy()
    _draw_zones(scene, zones)
    if len(dets):
        lookup = sv.ColorLookup.CLASS
        scene = sv.BoxAnnotator(thickness=2, color_lookup=lookup).annotate(scene, dets)
        scene = sv.LabelAnnotator(text_scale=0.4, text_padding=3, color_lookup=lookup,
                                  smart_position=True).annotate(scene, dets, labels=labels_for(dets))
    lines = ([title] if title else []) + [f"! {r}" for r in active_rules]
    for i, line in enumerate(lines):
        colour = sv.Color.BLACK if (title and i == 0) else _RULE_COLOUR
        text_w = cv2.getTextSize(line, cv2.FONT_HERSHEY_SIMPLEX, 0.5, 1)[0][0]
        sv.draw_text(scene, line, sv.Point(8 + text_w // 2, 14 + 22 * i), text_color=sv.Color.WHITE,
                     text_scale=0.5, text_padding=4, background_color=colour)
    return scene
