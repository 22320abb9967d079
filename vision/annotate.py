"""Drawing detections, zones and active rule names on a frame (supervision annotators), for the wall and evidence.

Text is drawn with OpenCV when it is ASCII, else with PIL in a CJK font (vision.overlay_text): the caller passes
the names to show (a page's language), vision knows no catalogue.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import cv2
import numpy as np
import supervision as sv

from vision.overlay_text import Label, draw_labels, needs_font, text_size
from vision.rules.base import class_names, to_boxes

__all__ = ["annotate", "to_boxes", "labels_for", "OverlayText"]

_ZONE_COLOUR = sv.Color(r=255, g=200, b=0)
_RULE_COLOUR = sv.Color(r=220, g=30, b=30)


@dataclass(frozen=True)
class OverlayText:
    """What the overlay calls things: shown names of classes and rules (missing: the id), and whether boxes carry
    their track ids (evidence does; a person watching the wall reads names)."""

    classes: Mapping[str, str] = field(default_factory=dict)
    rules: Mapping[str, str] = field(default_factory=dict)
    track_ids: bool = True


_PLAIN = OverlayText()


def labels_for(dets: sv.Detections, text: OverlayText = _PLAIN) -> list[str]:
    """'class 0.87 #12' per detection (track id only when tracked and wanted)."""
    names = [text.classes.get(n, n) for n in class_names(dets)]
    ids = dets.tracker_id if dets.tracker_id is not None and text.track_ids else np.full(len(dets), -1)
    conf = dets.confidence if dets.confidence is not None else np.ones(len(dets))
    return [f"{n} {c:.2f}" + (f" #{int(t)}" if t >= 0 else "") for n, c, t in zip(names, conf, ids)]


def _zone_points(scene: np.ndarray, poly: Sequence[tuple[float, float]]) -> np.ndarray:
    h, w = scene.shape[:2]
    return np.array([[round(x * (w - 1)), round(y * (h - 1))] for x, y in poly], dtype=np.int64)


def _draw_zones(scene: np.ndarray, zones: Mapping[str, Sequence[tuple[float, float]]], pil: list[Label]) -> None:
    for name, poly in zones.items():
        pts = _zone_points(scene, poly)
        sv.draw_polygon(scene, pts, color=_ZONE_COLOUR, thickness=2)
        x, y = pts.min(axis=0)
        if needs_font(name):
            pil.append(Label(name, int(x) + 6, int(y) + 2, _ZONE_COLOUR.as_bgr(), (0, 0, 0), size=14, padding=3))
            continue
        zw = cv2.getTextSize(name, cv2.FONT_HERSHEY_SIMPLEX, 0.4, 1)[0][0]
        sv.draw_text(scene, name, sv.Point(int(x) + 6 + zw // 2, int(y) + 12), text_color=sv.Color.BLACK,
                     text_scale=0.4, text_padding=3, background_color=_ZONE_COLOUR)


def _box_labels(dets: sv.Detections, labels: list[str]) -> list[Label]:
    """Labels above their boxes (inside when at the top edge), in the box's class colour."""
    palette = sv.ColorPalette.DEFAULT
    out = []
    for i, (box, text) in enumerate(zip(dets.xyxy, labels)):
        cls = int(dets.class_id[i]) if dets.class_id is not None else 0
        h = text_size(text, 14)[1] + 6
        x, y = int(box[0]), int(box[1]) - h
        out.append(Label(text, max(0, x), y if y >= 0 else int(box[1]), palette.by_idx(cls).as_bgr(), size=14,
                         padding=3))
    return out


def annotate(image: np.ndarray, dets: sv.Detections, *, zones: Mapping[str, Sequence[tuple[float, float]]] = {},
             active_rules: Sequence[str] = (), title: str = "", text: OverlayText = _PLAIN) -> np.ndarray:
    """A new BGR image: zones, boxes with class, score and track id, the title and the active rules."""
    scene = image.copy()
    pil: list[Label] = []
    _draw_zones(scene, zones, pil)
    labels = labels_for(dets, text) if len(dets) else []
    if len(dets):
        lookup = sv.ColorLookup.CLASS
        scene = sv.BoxAnnotator(thickness=2, color_lookup=lookup).annotate(scene, dets)
        if needs_font(*labels):
            pil.extend(_box_labels(dets, labels))
        else:
            scene = sv.LabelAnnotator(text_scale=0.4, text_padding=3, color_lookup=lookup,
                                      smart_position=True).annotate(scene, dets, labels=labels)
    lines = ([title] if title else []) + [f"! {text.rules.get(r, r)}" for r in active_rules]
    for i, line in enumerate(lines):
        colour = sv.Color.BLACK if (title and i == 0) else _RULE_COLOUR
        if needs_font(line):
            pil.append(Label(line, 4, 2 + 26 * i, colour.as_bgr(), size=16))
            continue
        text_w = cv2.getTextSize(line, cv2.FONT_HERSHEY_SIMPLEX, 0.5, 1)[0][0]
        sv.draw_text(scene, line, sv.Point(8 + text_w // 2, 14 + 22 * i), text_color=sv.Color.WHITE,
                     text_scale=0.5, text_padding=4, background_color=colour)
    return draw_labels(scene, pil)
