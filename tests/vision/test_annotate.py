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
