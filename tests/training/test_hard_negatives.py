"""Hard negatives: every box of a class an image set is known to be free of counts as false, per 100 images."""
from __future__ import annotations

import numpy as np
import supervision as sv

from training.hard_negatives import false_boxes, markdown, negative_sets
from vision.jpeg import encode_jpeg


class Scripted:
    """A detector that answers every image with one fire box (0.3) and one person box (0.9)."""

    def detect(self, images):
        return [sv.Detections(xyxy=np.array([[1, 1, 5, 5], [2, 2, 8, 8]], np.float32),
                              confidence=np.array([0.3, 0.9], np.float32), class_id=np.array([0, 6]),
                              data={"class_name": np.array(["fire", "person"])}) for _ in images]


def _extra(root, absent="[fire, smoke]"):
    folder = root / "extra" / "someone-sunsets"
    for split in ("train", "val"):
        (folder / "images" / split).mkdir(parents=True)
        (folder / "labels" / split).mkdir(parents=True)
        for i in range(2):
            (folder / "images" / split / f"{i}.jpg").write_bytes(encode_jpeg(np.zeros((16, 16, 3), np.uint8), 80))
            (folder / "labels" / split / f"{i}.txt").write_text("")
    (folder / "vigil-source.yaml").write_text(f"profiles: [site]\nlabelled: []\nabsent: {absent}\n"
                                              "licence: CC0\nattribution: someone\n")
    return root / "extra"


def test_boxes_of_absent_classes_count_as_false_and_others_do_not(tmp_path):
    sets = negative_sets("site", None, (_extra(tmp_path),))
    assert [(s.name, len(s.images), s.absent) for s in sets] == [("someone-sunsets (absent)", 4, ("fire", "smoke"))]
    res = false_boxes(Scripted(), sets[0], conf=0.25)
    assert res["boxes_per_100_images"] == {"fire": 100.0, "smoke": 0.0} and res["images_with_false_box_pct"] == 100
    assert false_boxes(Scripted(), sets[0], conf=0.5)["boxes"] == {"fire": 0, "smoke": 0}  # below the threshold
    row = markdown([{"model": "m/site.onnx", "sets": {sets[0].name: res}}]).splitlines()[-1]
    assert row == "| site.onnx | someone-sunsets (absent) | no | 4 | 100 | 0 | 100% |"


def test_excluded_images_leave_the_set(tmp_path):
    extra = _extra(tmp_path)
    sets = negative_sets("site", None, (extra,), exclude=frozenset({"someone-sunsets/images/val/0.jpg"}))
    assert len(sets[0].images) == 3
