"""The second-look classifiers (models/site_states.onnx, lab_activity.onnx, lab_gloves.onnx, lab_goggles.onnx; the
pile look has tests/vision/test_pile_look.py): what they tell apart on rendered crops (and real ones where the shared
datasets have them), how they rewrite the detector's boxes, and how the analyzer uses them. Detector output is
scripted; the classifiers are the real shipped ones."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from datasets.scenes.lab import SKINS
from datasets.scenes.person_acts import ACTS, EYES, HANDS, hand_crops, head_crops, person_crops, person_frames
from datasets.scenes.truck_states import LOADS, truck_crops
from vigil.config_loader import parse_config
from vigil.errors import ModelError
from vision.analyzer import CameraAnalyzer
from vision.second_look import TRUCK_SURE_P, CropClassifier, load_shared
from tests.vision.looks import MODELS, UNSEEN_SEED
from tests.vision.looks import analyse as _analyse, frame_with as _frame_with, predicted as _predicted
from tests.vision.looks import shared_datasets as _shared_datasets
from tests.vision.scripted import Obj, camera_config, dets_of

SHIPPED = MODELS / "site_states.onnx"
ACTIVITY = MODELS / "lab_activity.onnx"
GLOVES = MODELS / "lab_gloves.onnx"
GOGGLES = MODELS / "lab_goggles.onnx"


@pytest.fixture(scope="module")
def classifier() -> CropClassifier:
    return load_shared(SHIPPED)


@pytest.fixture(scope="module")
def activity() -> CropClassifier:
    return load_shared(ACTIVITY)


def test_shipped_classifier_tells_the_three_loads_apart(classifier):
    crops, loads = truck_crops(UNSEEN_SEED, 240)
    pred = _predicted(classifier, "load_state", LOADS, crops, loads, accuracy=0.9, recall=0.85)
    # what matters for the rule: an empty or covered truck is rarely called uncovered
    u = LOADS.index("uncovered")
    assert (pred[loads != u] == u).mean() <= 0.05


@pytest.mark.parametrize("load,detector_says,expected", [
    ("empty", "dump_truck_uncovered", "dump_truck"),
    ("covered", "dump_truck_uncovered", "dump_truck"),
    ("uncovered", "dump_truck", "dump_truck_uncovered"),
])
def test_refine_gives_one_box_per_truck_in_the_state_the_crop_shows(classifier, load, detector_says, expected):
    frame, box = _frame_with(load)
    other = "dump_truck" if detector_says == "dump_truck_uncovered" else "dump_truck_uncovered"
    shifted = (box[0] + 2, box[1] + 1, box[2] - 2, box[3])
    dets = dets_of([Obj(detector_says, box, 0.9), Obj(other, shifted, 0.5), Obj("person", (5, 5, 25, 60), 0.7)])
    out = classifier.refine(dets, frame)
    names = list(out.data["class_name"])
    assert sorted(names) == sorted([expected, "person"])  # the truck's second state box is gone
    t = names.index(expected)
    assert np.allclose(out.xyxy[t], box)  # the more confident box stays
    p = float(out.data["second_p"][t])
    assert p > 0.5 and out.confidence[t] == pytest.approx(0.9 if p >= TRUCK_SURE_P else 0.9 * p, rel=1e-5)
    assert out.class_id[t] == (4 if expected == "dump_truck" else 5)
    person = names.index("person")
    assert out.confidence[person] == pytest.approx(0.7) and np.isnan(out.data["second_p"][person])


class _Logits:
    """An ONNX session stand-in whose output is scripted: these logits for every crop."""

    def __init__(self, logits):
        self.logits = np.asarray(logits, np.float32)

    def get_inputs(self):
        return [type("Input", (), {"name": "x"})()]

    def run(self, _outputs, feeds):
        return [np.tile(self.logits, (len(feeds["x"]), 1))]


def _state_probabilities(classifier: CropClassifier, p_uncovered: float) -> CropClassifier:
    """The shipped truck classifier's crops and classes, its output scripted: `p_uncovered` for every truck, the
    rest shared by the other two states."""
    rest = (1.0 - p_uncovered) / 2
    logits = [np.log(p_uncovered if c == "uncovered" else rest) for c in classifier.classes]
    return dataclasses.replace(classifier, session=_Logits(logits))


@pytest.mark.parametrize("p_uncovered,expected", [(0.9, 0.45), (0.55, 0.45 * 0.55)])
def test_a_sure_state_keeps_the_detectors_truck_score_an_unsure_one_discounts_it(classifier, p_uncovered, expected):
    """Two opinions that agree on a truck do not make it less of one: the detector's 0.45 truck stays 0.45 when the
    classifier is sure of its state, and is discounted by the state's probability when it is not."""
    frame, box = _frame_with("uncovered")
    out = _state_probabilities(classifier, p_uncovered).refine(dets_of([Obj("dump_truck", box, 0.45)]), frame)
    assert list(out.data["class_name"]) == ["dump_truck_uncovered"]
    assert out.confidence[0] == pytest.approx(expected, rel=1e-4)
    assert out.data["second_p"][0] == pytest.approx(p_uncovered, rel=1e-4)


def test_refine_leaves_frames_without_trucks_alone(classifier):
    frame, _ = _frame_with("empty")
    dets = dets_of([Obj("person", (5, 5, 25, 60), 0.7), Obj("fire", (100, 100, 140, 150), 0.6)])
    assert classifier.refine(dets, frame) is dets
    empty = dets_of([])
    assert len(classifier.refine(empty, frame)) == 0


def test_analyzer_with_the_configured_classifier_reports_only_trucks_that_are_uncovered():
    cfg = camera_config("site", "detect: {width: 640, height: 360}") + (
        f"detectors:\n  site: {{model: site.onnx, classifiers: [{SHIPPED}]}}\n")
    empty_frame, empty_box = _frame_with("empty")
    loaded_frame, loaded_box = _frame_with("uncovered")

    with_states = CameraAnalyzer.from_config(parse_config(cfg), "cam")
    assert [c.path for c in with_states.second_look] == [str(SHIPPED)]
    # the detector calls an empty truck uncovered for 20 s: the classifier looks at it and says empty
    assert _analyse(with_states, empty_frame, [Obj("dump_truck_uncovered", empty_box, 0.9)]) == []
    # and an uncovered truck the detector calls covered is reported
    fresh = CameraAnalyzer.from_config(parse_config(cfg), "cam")
    assert _analyse(fresh, loaded_frame, [Obj("dump_truck", loaded_box, 0.9)]) == ["uncovered_truck"]

    # a truck the detector half-sees (0.45) and the classifier is sure is uncovered (p 0.8) is reported; the
    # product (0.36) was under the rule's 0.4 for as long as the truck was in view
    for p_uncovered, found in ((0.8, ["uncovered_truck"]), (0.6, [])):
        scripted = CameraAnalyzer.from_config(parse_config(cfg), "cam",
                                              second_look=[_state_probabilities(load_shared(SHIPPED), p_uncovered)])
        assert _analyse(scripted, loaded_frame, [Obj("dump_truck", loaded_box, 0.45)]) == found

    # without a classifier the detector's word stands
    alone = CameraAnalyzer.from_config(parse_config(camera_config("site", "detect: {width: 640, height: 360}")), "cam")
    assert alone.second_look == ()
    assert _analyse(alone, empty_frame, [Obj("dump_truck_uncovered", empty_box, 0.9)]) == ["uncovered_truck"]


def test_loading_a_wrong_file_says_what_was_expected(tmp_path):
    with pytest.raises(ModelError, match="expected a second-look classifier .onnx file, found nothing"):
        CropClassifier.load(tmp_path / "missing.onnx")
    pt = tmp_path / "states.pt"
    pt.write_bytes(b"x")
    with pytest.raises(ModelError, match="found .pt"):
        CropClassifier.load(pt)
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not a model at all")
    with pytest.raises(ModelError, match="expected an ONNX model ONNX Runtime can load"):
        CropClassifier.load(junk)
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])])
    plain = tmp_path / "plain.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(plain))
    with pytest.raises(ModelError, match="expected metadata vigil_task"):
        CropClassifier.load(plain)
    model = onnx.load(str(plain))
    for k, v in {"vigil_task": "load_state", "vigil_classes": "covered,smoking", "vigil_crop_hw": "48,96"}.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = k, v
    onnx.save(model, str(plain))
    with pytest.raises(ModelError, match="expected metadata vigil_classes covered,uncovered,empty"):
        CropClassifier.load(plain)
    cfg = camera_config("site") + f"detectors:\n  site: {{model: site.onnx, classifiers: [{junk}]}}\n"
    with pytest.raises(ModelError, match="expected an ONNX model ONNX Runtime can load"):
        CameraAnalyzer.from_config(parse_config(cfg), "cam")


def test_shipped_activity_classifier_sees_hands_at_the_face(activity):
    crops, acts = person_crops(UNSEEN_SEED, 400)
    pred = _predicted(activity, "activity", ACTS, crops, acts, accuracy=0.85, recall=0.7)
    assert (pred[acts == 0] != 0).mean() <= 0.05  # a worker at the bench is rarely taken for eating or smoking


def test_activity_look_leaves_real_people_alone_and_sees_real_smokers():
    """Real held-out crops through the shipped look, as it acts at run time (a box where its surest class is eating
    or smoking with p >= 0.5). The people sources' val pictures: rarely called either (the look trained on rendered
    people alone called half of them smokers and a third eaters). People of a source never trained on (the lab
    detector's held-out people source, every picture; stock photos and shop CCTV): about half are still called
    smokers (that look: 59 % smoking and 28 % eating) — one real smoking source of close-up photos does not teach
    what a cigarette is on every camera. The smoking source's val smokers, framed along the detector's person boxes
    or around the smoking box, mostly are."""
    from training.second_look import TASKS, at_runtime, detector_boxes

    task = TASKS["activity"]
    seen, _ = detector_boxes(MODELS / "lab.onnx", "person", min_score=task.detector_min_score)
    crops, truth, kinds = task.real(_shared_datasets(), "val", UNSEEN_SEED, seen_by_detector=seen, kinds=True)
    runtime = at_runtime(ACTIVITY, crops, truth, kinds)
    unseen, people, smokers = runtime["person, unseen source none"], runtime["person none"], runtime["smoker smoking"]
    assert unseen["crops"] >= 500 and people["crops"] >= 300 and smokers["crops"] >= 80
    assert people["called smoking"] <= 0.12 and people["called eating_drinking"] <= 0.02, people
    assert unseen["called smoking"] <= 0.55 and unseen["called eating_drinking"] <= 0.05, unseen
    assert smokers["called smoking"] >= 0.85, smokers


def _person_frame(act: str, seed: int = UNSEEN_SEED):
    """The first rendered frame with a lone person doing `act`."""
    for frame, people in person_frames(seed):
        if len(people) == 1 and ACTS[people[0][1]] == act:
            return frame, people[0][0]
    raise AssertionError("unreachable")


def test_activity_adds_the_box_the_detector_missed_and_keeps_the_ones_it_found(activity):
    frame, person = _person_frame("smoking")
    out = activity.refine(dets_of([Obj("person", person, 0.9)]), frame)
    names = list(out.data["class_name"])
    assert names == ["person", "smoking"]
    x1, y1, x2, y2 = out.xyxy[1]
    assert y1 < person[1] and y2 < person[3] and x1 <= person[0] + 1 and x2 >= person[2] - 1  # the face region
    assert 0.45 < out.confidence[1] <= 0.9
    # the detector had boxed it, faintly: nothing is added, its box gets the second look's confidence
    own = dets_of([Obj("person", person, 0.9), Obj("smoking", (person[0], person[1], person[2], person[1] + 60), 0.3)])
    seen = activity.refine(own, frame)
    assert list(seen.data["class_name"]) == ["person", "smoking"]
    assert seen.confidence[1] == pytest.approx(out.confidence[1]) and own.confidence[1] == pytest.approx(0.3)
    # a person doing nothing, or a weak person box, gets nothing
    idle, idle_box = _person_frame("none")
    assert activity.refine(dets_of([Obj("person", idle_box, 0.9)]), idle).data["class_name"].tolist() == ["person"]
    assert len(activity.refine(dets_of([Obj("person", person, 0.3)]), frame)) == 1


def test_lab_analyzer_reports_smoking_the_detector_cannot_see():
    cfg = camera_config("lab") + f"detectors:\n  lab: {{model: lab.onnx, classifiers: [{ACTIVITY}]}}\n"
    frame, person = _person_frame("smoking")
    idle, idle_box = _person_frame("none")
    wear = lambda box: [Obj("person", box, 0.9), Obj("lab_coat", box, 0.9),  # noqa: E731
                        Obj("goggles", (box[0] + 20, box[1] + 10, box[2] - 20, box[1] + 25), 0.9),
                        Obj("gloves", (box[0], box[3] - 20, box[0] + 20, box[3]), 0.9)]
    assert _analyse(CameraAnalyzer.from_config(parse_config(cfg), "cam"), frame, wear(person)) == \
        ["lab_eating_smoking"]
    assert _analyse(CameraAnalyzer.from_config(parse_config(cfg), "cam"), idle, wear(idle_box)) == []
    bare = CameraAnalyzer.from_config(parse_config(camera_config("lab")), "cam")
    assert _analyse(bare, frame, wear(person)) == []


@pytest.mark.parametrize("skin", SKINS)
def test_gloves_classifier_tells_dark_gloves_from_bare_hands_for_every_skin_tone(skin):
    """The detector took dark skin for dark gloves (a missed violation that depends on skin tone): the second
    look must not, for any skin tone of the scenes."""
    gloves = load_shared(GLOVES)
    assert gloves.task == "gloves" and gloves.classes == HANDS
    crops, gloved = hand_crops(UNSEEN_SEED, 80, skin=skin, glove=(60, 60, 60))
    pred = gloves.probabilities(crops).argmax(1)
    assert 0 < gloved.sum() < len(gloved)
    assert (pred[gloved == 0] == 1).mean() <= 0.05  # bare hands called gloved
    assert (pred[gloved == 1] == 0).mean() <= 0.1


def test_gloves_second_look_adds_missed_gloves_and_drops_gloves_on_bare_hands():
    gloves = load_shared(GLOVES)
    checked = set()
    for frame, people in person_frames(UNSEEN_SEED, skin=SKINS[-1], glove=(60, 60, 60)):
        if len(people) != 1 or people[0][2] in checked:
            continue
        box, _, gloved, _ = people[0]
        x1, y1, x2, y2 = box
        hand = (x1 + 5, y2 - 20, x1 + 25, y2)
        out = gloves.refine(dets_of([Obj("person", box, 0.9), Obj("gloves", hand, 0.6)]), frame)
        kept = [n for n in out.data["class_name"] if n == "gloves"]
        p = float(out.data["p_gloves"][0])  # the person's probability of gloves; NaN on other boxes
        assert np.isnan(out.data["p_gloves"][1:]).all()
        if gloved:
            # the detector's box stands, as sure as the second look when that is surer
            assert kept == ["gloves"] and out.confidence[1] == pytest.approx(max(0.6, 0.9 * p))
            faint = gloves.refine(dets_of([Obj("person", box, 0.9), Obj("gloves", hand, 0.15)]), frame)
            assert faint.confidence[1] == pytest.approx(0.9 * p) and p >= 0.7  # a faint box is no longer too faint
            added = gloves.refine(dets_of([Obj("person", box, 0.9)]), frame)
            assert list(added.data["class_name"]) == ["person", "gloves"] and added.confidence[1] > 0.6
        else:
            assert kept == [] and p <= 0.15  # dark skin the detector took for dark gloves: bare, for the rules too
            assert list(gloves.refine(dets_of([Obj("person", box, 0.9)]), frame).data["class_name"]) == ["person"]
        checked.add(gloved)
        if checked == {0, 1}:
            return


def test_goggles_classifier_tells_goggles_from_bare_eyes():
    goggles = load_shared(GOGGLES)
    crops, worn = head_crops(UNSEEN_SEED, 300)
    _predicted(goggles, "goggles", EYES, crops, worn, accuracy=0.97, recall=0.95)


def test_goggles_second_look_adds_missed_goggles_and_drops_goggles_on_bare_eyes():
    """The detector boxed eyes as goggles at 0.3-0.4 for minutes (a missed no-goggles) and missed goggles behind
    a raised hand: the second look decides on the head, and tells the rules how sure it is."""
    goggles = load_shared(GOGGLES)
    checked = set()
    for frame, people in person_frames(UNSEEN_SEED):
        if len(people) != 1 or people[0][3] in checked:
            continue
        box, _, _, worn = people[0]
        x1, y1, x2, y2 = box
        cx, eyes_y = (x1 + x2) / 2, y1 + 0.15 * (y2 - y1)
        eyes = (cx - 15, eyes_y - 5, cx + 15, eyes_y + 5)
        out = goggles.refine(dets_of([Obj("person", box, 0.9), Obj("goggles", eyes, 0.35)]), frame)
        p = float(out.data["p_goggles"][0])
        kept = [n for n in out.data["class_name"] if n == "goggles"]
        if worn:
            assert p >= 0.7 and kept == ["goggles"] and out.confidence[1] == pytest.approx(0.9 * p)
            added = goggles.refine(dets_of([Obj("person", box, 0.9)]), frame)
            assert list(added.data["class_name"]) == ["person", "goggles"]
        else:
            assert p <= 0.15 and kept == []
        checked.add(worn)
        if checked == {0, 1}:
            return
