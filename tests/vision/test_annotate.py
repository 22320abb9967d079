"""Annotation draws on a copy; Box conversion keeps class, score and track id."""
from __future__ import annotations

import numpy as np

from tests.vision.scripted import Obj, dets_of
from vigil.catalogue import DetClass
from vision.annotate import annotate, labels_for, to_boxes


def test_annotate_draws_boxes_zones_and_rules_on_a_copy():
    img = np.full((180, 320, 3), 90, np.uint8)
    dets = dets_of([Obj(DetClass.FIRE.value, (100.0, 100.0, 150.0, 170.0), 0.87)])
    dets.tracker_id = np.array([12])
    out = annotate(img, dets, zones={"yard": [(0, 0.5), (1, 0.5), (1, 1), (0, 1)]}, active_rules=["open_burning"],
                   title="cam")
    assert out.shape == img.shape and (img == 90).all()
    assert (out[100:171, 100] != 90).any()  # the box's left edge
    assert (out[int(0.5 * 179), 250] != 90).any()  # the zone's top edge
    assert (out[10:40, 5:100] != 90).any()  # title and rule names
    assert labels_for(dets) == [f"{DetClass.FIRE.value} 0.87 #12"]


def test_to_boxes_keeps_class_score_and_track():
    dets = dets_of([Obj(DetClass.PERSON.value, (1.0, 2.0, 3.0, 4.0), 0.5), Obj(DetClass.SMOKE.value, (5, 6, 7, 8), 0.25)])
    dets.tracker_id = np.array([3, -1])
    boxes = to_boxes(dets)
    assert boxes[0].xyxy == (1.0, 2.0, 3.0, 4.0) and boxes[0].class_name == DetClass.PERSON.value
    assert boxes[0].track_id == 3 and boxes[1].track_id is None
    assert abs(boxes[1].confidence - 0.25) < 1e-6


def test_names_in_another_language_are_drawn_with_a_cjk_font_without_track_ids():
    """The caller's names (a page's language) replace the ids; Chinese needs PIL and a CJK font, not Hershey's '???'."""
    from vision.annotate import OverlayText
    from vision.overlay_text import Label, draw_labels, font_file

    img = np.full((180, 320, 3), 90, np.uint8)
    dets = dets_of([Obj(DetClass.FIRE.value, (100.0, 100.0, 150.0, 170.0), 0.87)])
    dets.tracker_id = np.array([12])
    text = OverlayText(classes={DetClass.FIRE.value: "火"}, rules={"open_burning": "露天焚烧"}, track_ids=False)
    assert labels_for(dets, text) == ["火 0.87"]
    english = annotate(img, dets, active_rules=["open_burning"], zones={"东侧": [(0, 0.5), (1, 0.5), (1, 1)]})
    chinese = annotate(img, dets, active_rules=["open_burning"], zones={"东侧": [(0, 0.5), (1, 0.5), (1, 1)]},
                       text=text)
    assert (img == 90).all() and (english[:30, :120] != chinese[:30, :120]).any()
    assert font_file()[0].endswith((".ttc", ".ttf"))
    # a CJK glyph is drawn with strokes (Hershey would draw '?'): the label's box holds more than one ink colour
    box = draw_labels(np.zeros((40, 80, 3), np.uint8), [Label("露天焚烧", 0, 0, (0, 0, 200))])
    assert len({tuple(p) for p in box[2:30, 2:70].reshape(-1, 3)}) > 4
