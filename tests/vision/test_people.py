"""The people detector beside the lab detector: its decoding, how its person boxes join the detector's, where it
is configured, and what it finds on real pictures of a source the lab detector never trained on."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import supervision as sv

from tests.vision.looks import shared_datasets
from tests.vision.scripted import Obj, analyzer_for, dets_of, lively
from vigil.catalogue import UNIFIED_CLASSES
from vigil.config_loader import parse_config
from vigil.errors import ModelError
from vigil.shipped import shipped_detector
from vigil.types import ModelInfo
from vision.backends.nanodet import NanoDetPeople, decode_level, read_layout
from vision.detector import load_detector, profile_detector
from vision.frame_step import FrameStep
from vision.people import WithPeople, join_people
from vision.replay import frames_from_images

MODELS = Path(__file__).resolve().parents[2] / "models"
PEOPLE = MODELS / "people.onnx"
HELD_OUT_FOR_LAB = "yundongjun-indoor-person-flame"  # training.recipe_data.HELD_OUT["lab"]


def _labelled_people(n: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The first `n` pictures (sorted) of the lab's held-out person source with a person taking >= 3 % of the
    frame: (image, labelled person boxes in pixels)."""
    folder = shared_datasets() / HELD_OUT_FOR_LAB
    person = UNIFIED_CLASSES.index("person")
    found = []
    for img_path in sorted((folder / "images").glob("*/*.jpg")):
        label = folder / "labels" / img_path.parent.name / f"{img_path.stem}.txt"
        rows = [r.split() for r in (label.read_text().splitlines() if label.exists() else [])]
        rows = np.array([[float(v) for v in r[1:5]] for r in rows if len(r) >= 5 and int(r[0]) == person])
        if not len(rows) or (rows[:, 2] * rows[:, 3]).max() < 0.03:
            continue
        img = cv2.imread(str(img_path))
        h, w = img.shape[:2]
        xyxy = np.stack([(rows[:, 0] - rows[:, 2] / 2) * w, (rows[:, 1] - rows[:, 3] / 2) * h,
                         (rows[:, 0] + rows[:, 2] / 2) * w, (rows[:, 1] + rows[:, 3] / 2) * h], axis=1)
        found.append((img, xyxy))
        if len(found) == n:
            break
    assert len(found) == n, f"expected {n} pictures with a person in {folder}, found {len(found)}"
    return found


def _found_share(detector, pictures) -> float:
    """Share of labelled people a person box of `detector` covers at IoU >= 0.5 (score >= 0.3)."""
    hit = total = 0
    for img, gt in pictures:
        d = detector.detect([img])[0]
        d = d[(d.data["class_name"] == "person") & (d.confidence >= 0.3)]
        total += len(gt)
        if len(d):
            hit += int((sv.box_iou_batch(gt, d.xyxy).max(axis=1) >= 0.5).sum())
    return hit / total


def test_people_detector_finds_people_the_lab_detector_misses_on_a_source_it_never_trained_on():
    pictures = _labelled_people(40)  # 387 people, many in crowds (measured: lab 0.03, people 0.46, joined 0.45)
    lab = load_detector(MODELS / "lab.onnx", conf=0.1, profile="lab")
    people = NanoDetPeople.load(PEOPLE, conf=0.3)
    alone, joined = _found_share(lab, pictures), _found_share(WithPeople(lab, people), pictures)
    assert _found_share(people, pictures) >= 0.4
    assert joined >= alone + 0.3, (alone, joined)


def test_decode_level_reads_box_sides_as_the_mean_of_their_bins():
    grid, stride, reg_max = 4, 8.0, 10
    scores = np.zeros(grid * grid, np.float32)
    scores[5] = 0.9  # cell x=1, y=1: centre (12, 12)
    sides = np.full((grid * grid, 4 * (reg_max + 1)), -20.0, np.float32)
    for side, bins in enumerate([2, 1, 3, 0]):  # left, top, right, bottom in strides
        sides[5, side * (reg_max + 1) + bins] = 20.0
    boxes, kept = decode_level(scores, sides, grid, stride, reg_max, conf=0.5)
    np.testing.assert_allclose(boxes, [[12 - 16, 12 - 8, 12 + 24, 12 + 0]], atol=1e-3)
    np.testing.assert_allclose(kept, [0.9])
    assert decode_level(scores, sides, grid, stride, reg_max, conf=0.95)[0].shape == (0, 4)


@pytest.mark.parametrize("detector_says, people_say, expect", [
    # a person both box: one box, the surer score
    ([Obj("person", (10, 10, 50, 90), 0.4)], [(12, 11, 50, 92, 0.8)], [("person", 0.8)]),
    # a person only the people detector boxes is added
    ([Obj("person", (10, 10, 50, 90), 0.7)], [(200, 10, 240, 90, 0.6)], [("person", 0.7), ("person", 0.6)]),
    # the detector's other classes pass untouched, even on the person
    ([Obj("lab_coat", (10, 30, 50, 80), 0.9)], [(10, 10, 50, 90, 0.6)], [("lab_coat", 0.9), ("person", 0.6)]),
    # nothing from the people detector: the detector's boxes as they were
    ([Obj("person", (10, 10, 50, 90), 0.5), Obj("gloves", (20, 70, 30, 80), 0.5)], [],
     [("person", 0.5), ("gloves", 0.5)]),
])
def test_join_people(detector_says, people_say, expect):
    people = sv.Detections(xyxy=np.array([p[:4] for p in people_say], np.float32).reshape(-1, 4),
                           confidence=np.array([p[4] for p in people_say], np.float32),
                           class_id=np.zeros(len(people_say), int))
    joined = join_people(dets_of(detector_says), people, UNIFIED_CLASSES.index("person"))
    got = sorted(zip(joined.data["class_name"].tolist(), [round(float(c), 3) for c in joined.confidence]))
    assert got == sorted(expect)
    assert (joined.class_id == [UNIFIED_CLASSES.index(n) for n in joined.data["class_name"]]).all()


@pytest.mark.parametrize("meta, expected", [
    ({}, "vigil_task='people'"),
    ({"vigil_task": "pile"}, "found vigil_task='pile'"),
    ({"vigil_task": "people", "vigil_input_size": "416"}, "found a bad or missing value"),
    ({"vigil_task": "people", "vigil_input_size": "416", "vigil_mean_bgr": "(1, 2)", "vigil_std_bgr": "(1, 1, 1)",
      "vigil_class_index": "0", "vigil_reg_max": "10"}, "three-channel mean/std"),
])
def test_people_metadata_errors_say_what_was_expected(meta, expected):
    with pytest.raises(ModelError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        read_layout(meta, "x.onnx")


def test_a_detector_is_not_taken_for_a_people_detector(tmp_path):
    import onnx

    with pytest.raises(ModelError, match="expected a people detector"):
        NanoDetPeople.load(MODELS / "site_piles.onnx")
    with pytest.raises(ModelError, match="found nothing"):
        NanoDetPeople.load(tmp_path / "people.onnx")
    # a classifier wearing a people detector's metadata: its outputs give it away
    model = onnx.load(str(MODELS / "site_piles.onnx"))
    del model.metadata_props[:]
    for p in onnx.load(str(PEOPLE), load_external_data=False).metadata_props:
        model.metadata_props.add(key=p.key, value=p.value)
    onnx.save(model, str(tmp_path / "disguised.onnx"))
    with pytest.raises(ModelError, match=r"expected NanoDet outputs .* found \[\(2,\)\]"):
        NanoDetPeople.load(tmp_path / "disguised.onnx")


def _lab_config(people: str) -> str:
    return (f"sites: {{s1: {{name: Lab, kind: lab}}}}\n"
            f"cameras: {{cam: {{site: s1, source: demo:lab}}}}\n"
            f"detectors: {{lab: {{model: {MODELS / 'lab.onnx'}, people: {people}}}}}\n")


def test_config_runs_the_people_detector_beside_the_lab_detector_and_says_when_it_is_missing(tmp_path):
    det = profile_detector(parse_config(_lab_config(str(PEOPLE))), "lab")
    assert isinstance(det, WithPeople) and det.info.people and det.info.name == "lab"
    img, gt = _labelled_people(1)[0]
    persons = det.detect([img])[0]
    assert (persons.data["class_name"] == "person").any()
    with pytest.raises(ModelError, match="missing.onnx: expected a people detector"):
        profile_detector(parse_config(_lab_config(str(tmp_path / "missing.onnx"))), "lab")
    assert shipped_detector("lab")["people"].endswith("people.onnx")
    assert "people" not in shipped_detector("site")  # no site rule hangs on a person


def test_evidence_names_the_people_detector_whose_boxes_joined():
    analyzer = analyzer_for("lab")
    model = ModelInfo(name="lab", version="v1", profile="lab", classes=("person",), path="lab.onnx", sha256="0",
                      people="nanodet-test")
    person = [Obj("person", (100, 20, 160, 170), 0.9)]
    step = FrameStep(analyzer, lambda frame: (dets_of(person), model))
    frames = (lively(lambda t: person)(i / 2.0) for i in range(30))  # a person who moves
    opened = [v for r in step.run(frames_from_images("cam", frames, fps=2.0)) for v in r.violations
              if v.phase == "open"]
    assert opened and all(v.thresholds["people_detector"] == "nanodet-test" for v in opened)
