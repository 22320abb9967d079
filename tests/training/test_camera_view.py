"""The held-out sources as a camera operator meets them: reported at all per image, and AP at looser IoU."""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import supervision as sv

from training.camera_view import StillPipeline, held_out_sources, source_view
from training.metrics import DetectionTally
from training.model_card import rerender, write_card
from vigil.catalogue import UNIFIED_CLASSES
from vigil.errors import TrainingError

SITE = ("fire", "smoke", "dust", "debris_pile", "dump_truck", "dump_truck_uncovered", "person")


def test_ap_at_a_looser_iou_counts_a_box_drawn_otherwise():
    """One flame boxed where the labeller boxed the whole burning area (IoU 0.25): a miss at IoU 0.5, a find at
    0.1; asking for the looser figure leaves AP50 and AP50-95 as they were."""
    gt = np.array([[0, 0, 100, 100]], float)
    pred = np.array([[0, 0, 50, 50]], float)
    plain, loose = DetectionTally(SITE), DetectionTally(SITE, extra_iou=(0.3, 0.1))
    for t in (plain, loose):
        t.add(pred, [0.9], [0], gt, [0])
    p, q = plain.summary()["per_class"]["fire"], loose.summary()["per_class"]["fire"]
    assert q["ap50"] == p["ap50"] == 0.0 and q["ap50_95"] == p["ap50_95"]
    assert q["ap_at_iou"] == {"0.3": 0.0, "0.1": pytest.approx(1.0, abs=0.01)} and "ap_at_iou" not in p


class Scripted:
    """A model's output, scripted per image (by its mean grey level: 10 fire at 0.9, 20 fire at 0.1, else none)."""

    def detect(self, images):
        out = []
        for img in images:
            level = int(round(float(img.mean())))
            boxes = {10: [(0.9, "fire")], 20: [(0.1, "fire")]}.get(level, [])
            d = sv.Detections(xyxy=np.array([[0, 0, 32, 32]] * len(boxes), float).reshape(-1, 4),
                              confidence=np.array([c for c, _ in boxes], float),
                              class_id=np.array([0] * len(boxes), int))
            d.data["class_name"] = np.array([n for _, n in boxes], str)
            out.append(d)
        return out


def _source(root, name: str, images: list[tuple[int, str]], splits=("val",)):
    """A source folder: (grey level, label text) per image, in each of `splits`."""
    folder = root / name
    for split in splits:
        for kind in ("images", "labels"):
            (folder / kind / split).mkdir(parents=True)
        for k, (level, label) in enumerate(images):
            cv2.imwrite(str(folder / "images" / split / f"{k}.jpg"), np.full((32, 32, 3), level, np.uint8))
            (folder / "labels" / split / f"{k}.txt").write_text(label)
    return folder


def test_image_level_counts_keep_only_boxes_the_service_keeps(tmp_path):
    """Reported = a box at the service's confidence: a 0.1 box counts for AP but is not reported; an image whose
    labels show no fire is an image 'without' it."""
    fire = f"{UNIFIED_CLASSES.index('fire')} 0.5 0.5 1 1\n"
    folder = _source(tmp_path, "x-fire", [(10, fire), (20, fire), (30, fire), (10, ""), (30, "")])
    from training.camera_view import HeldOutSource

    row = source_view(Scripted(), HeldOutSource("x-fire", folder, ("fire",)), "site", conf=0.25)["fire"]
    assert (row["images_showing"], row["reported_on_showing"], row["images_without"], row["reported_on_without"]) \
        == (3, 1, 2, 1)
    assert row["found_share"] == pytest.approx(1 / 3, abs=1e-3) and row["false_share"] == 0.5
    assert row["ap_at_iou"]["0.1"] >= row["ap50"] > 0


def test_still_pipeline_applies_each_second_look_in_turn():
    class Drop:
        def refine(self, dets, image):
            return dets[dets.confidence > 0.5]

    assert len(StillPipeline(Scripted()).detect([np.full((32, 32, 3), 20, np.uint8)])[0]) == 1
    assert len(StillPipeline(Scripted(), [Drop()]).detect([np.full((32, 32, 3), 20, np.uint8)])[0]) == 0


@pytest.mark.parametrize("name, says", [
    ("nobody", "held-out source 'nobody': expected a site source"),
    ("kalinchenko23-hotfire-fire-smoke", "expected the source's images/ folder, found none"),
])
def test_a_held_out_source_that_cannot_be_found_says_what_was_expected(tmp_path, name, says):
    with pytest.raises(TrainingError, match=says):
        held_out_sources("site", [name], tmp_path, ())


def test_an_extra_held_out_source_comes_from_its_manifest(tmp_path):
    folder = _source(tmp_path / "extra", "x-piles", [(10, "")], splits=("train", "val"))
    (folder / "vigil-source.yaml").write_text("profiles: [site]\nlabelled: [debris_pile]\nlicence: CC BY 4.0\n"
                                              "attribution: x\n")
    (src,) = held_out_sources("site", ["x-piles"], None, (tmp_path / "extra",))
    assert src.folder == folder and src.labelled == ("debris_pile",)


def test_card_shows_what_a_camera_operator_gets(tmp_path):
    from tests.training.test_model_card import SEEDS, _metrics

    md, js = write_card(tmp_path, "site", classes=("fire", "person"), options={"device": "cpu", "imgsz": 320,
                        "batch": 16, "epochs": 3}, data_counts={"train": {"a-fire": 10}}, metrics=_metrics(),
                        progress={"epochs_completed": 3}, scene_seeds=SEEDS, train_seconds=60, onnx_bytes=1_000_000)
    card = json.loads(js.read_text())
    card["metrics"]["camera_view"] = {
        "imgsz": 320, "conf": 0.25, "loose_iou": [0.3, 0.1],
        "beside": {"second_look": ["site_piles.onnx"], "people": "people.onnx", "people_conf": 0.3,
                   "fire_cues": False},
        "sources": {"b-fire": {"fire": {"ap50": 0.278, "ap_at_iou": {"0.3": 0.493, "0.1": 0.604},
                                        "images_showing": 226, "reported_on_showing": 153,
                                        "images_without": 0, "reported_on_without": 0}}}}
    js.write_text(json.dumps(card))
    text = rerender(tmp_path, "site").read_text()
    assert "| b-fire | fire | 0.278 | 0.493 | 0.604 | 153 of 226 (68 %) | n/a (none) |" in text
    assert "with people detector `people.onnx` (its boxes from 0.3) and second looks `site_piles.onnx`; no fire " \
        "cues" in text
