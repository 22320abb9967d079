"""A picture of a person is not a person without a lab coat: the absence rules judge only people who have moved.

Scripted detector output (the rules are under test) on frames drawn here: a poster is a fixed pattern that never
changes, a live person's box changes from frame to frame (`lively`). Real footage: tests/streams/test_real_clips.py.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import supervision as sv

from vigil.catalogue import DetClass, rules_for_profile
from vision.analyzer import CameraAnalyzer
from vision.motion import small_grey
from vision.still_people import REMEMBER_S, PersonMotion
from tests.vision.scripted import H, W, Obj, analyzer_for, lively, run_script

PERSON = DetClass.PERSON.value
POSTER = (20.0, 30.0, 80.0, 160.0)
ABSENCE = {"lab_no_coat", "lab_no_goggles", "lab_no_gloves"}


def poster_frame(brightness: int = 0) -> np.ndarray:
    """A blank wall with a poster on it: a fixed, detailed pattern (a printed person), `brightness` added all over."""
    frame = np.full((H, W, 3), 90, np.uint8)
    x1, y1, x2, y2 = (int(v) for v in POSTER)
    pattern = np.random.default_rng(7).integers(0, 256, (y2 - y1, x2 - x1, 1), dtype=np.uint8)
    frame[y1:y2, x1:x2] = pattern
    return np.clip(frame.astype(int) + brightness, 0, 255).astype(np.uint8)


def opened(violations) -> set[str]:
    return {v.rule for v in violations if v.phase == "open"}


def test_a_person_box_that_never_changes_is_not_judged():
    script = lambda t: [Obj(PERSON, POSTER, 0.7)]  # noqa: E731 - the detectors box the poster on every frame
    assert opened(run_script(analyzer_for("lab"), script, seconds=30, image=lambda t: poster_frame())) == set()


def test_judge_still_judges_a_still_person_box_as_before():
    specs = [dataclasses.replace(s, extra={**s.extra, "judge_still": True}) if s.kind == "absence" else s
             for s in rules_for_profile("lab")]
    analyzer = CameraAnalyzer("cam", rules=specs)
    script = lambda t: [Obj(PERSON, POSTER, 0.7)]  # noqa: E731
    assert opened(run_script(analyzer, script, seconds=30, image=lambda t: poster_frame())) == ABSENCE


def test_a_change_of_light_over_the_whole_picture_does_not_bring_a_poster_to_life():
    script = lambda t: [Obj(PERSON, POSTER, 0.7)]  # noqa: E731
    lights = lambda t: poster_frame(brightness=0 if t < 8 else 60 if t < 16 else -40)  # noqa: E731
    assert opened(run_script(analyzer_for("lab"), script, seconds=30, image=lights)) == set()


def test_a_person_who_moved_and_then_stands_still_is_judged():
    box = (100.0, 40.0, 160.0, 170.0)
    script = lambda t: [Obj(PERSON, box)] if t >= 1.0 else []  # noqa: E731
    walks_in = lively(script)

    def image(t):  # they move for their first two seconds in view, then the frame never changes
        return walks_in(min(t, 3.0))

    assert opened(run_script(analyzer_for("lab"), script, seconds=20, image=image)) == ABSENCE


def test_someone_walking_in_front_of_a_poster_does_not_bring_it_to_life():
    def walker(t):  # walks in from the right, 10 px a frame, and stays in front of the poster's right half
        x = max(300.0 - 20.0 * t, 50.0)
        return (x, 40.0, x + 50.0, 170.0)

    script = lambda t: [Obj(PERSON, POSTER, 0.7), Obj(PERSON, walker(t))]  # noqa: E731

    def image(t):
        frame = poster_frame()
        x1, y1, x2, y2 = (int(round(v)) for v in walker(t))
        frame[y1:y2, max(x1, 0):max(x2, 0)] = 40 if int(round(t * 2)) % 2 else 150
        return frame

    vs = [v for v in run_script(analyzer_for("lab"), script, seconds=14, image=image)
          if v.phase == "open" and v.rule == "lab_no_coat"]
    assert len(vs) == 1  # the walker, not the poster
    judged = [b for b in vs[0].detections if b.track_id == vs[0].track_id]
    assert judged and judged[0].xyxy[0] > POSTER[0] + 5


def _tracks(boxes, ids) -> sv.Detections:
    return sv.Detections(xyxy=np.array(boxes, np.float32), confidence=np.full(len(boxes), 0.8, np.float32),
                         class_id=np.zeros(len(boxes), int), tracker_id=np.array(ids, int),
                         data={"class_name": np.array([PERSON] * len(boxes))})


def test_a_new_track_where_a_moved_person_just_was_is_them_and_other_classes_always_count_as_moved():
    motion = PersonMotion()
    box = (100.0, 40.0, 160.0, 170.0)
    frames = [small_grey(lively(lambda t: [Obj(PERSON, box)])(t)) for t in (0.0, 0.5)]
    motion.mark(_tracks([box], [1]), frames[0], W, H, 0.0)
    assert motion.mark(_tracks([box], [1]), frames[1], W, H, 0.5).data["moved"].tolist() == [True]
    still = frames[1]
    # the tracker lost them and starts a new track on the same spot: nothing changed, they are still the person
    assert motion.mark(_tracks([box], [2]), still, W, H, 1.0).data["moved"].tolist() == [True]
    # ... but not somewhere else, nor REMEMBER_S after the moved person was last seen there
    elsewhere = _tracks([(200.0, 40.0, 260.0, 170.0)], [3])
    assert motion.mark(elsewhere, still, W, H, 1.5).data["moved"].tolist() == [False]
    assert motion.mark(_tracks([box], [4]), still, W, H, 1.0 + REMEMBER_S + 1).data["moved"].tolist() == [False]
    fire = sv.Detections(xyxy=np.array([[0, 0, 10, 10]], np.float32), confidence=np.array([0.9], np.float32),
                         class_id=np.array([0]), tracker_id=np.array([9]), data={"class_name": np.array(["fire"])})
    assert motion.mark(fire, still, W, H, 2.0).data["moved"].tolist() == [True]


SMOKING = DetClass.SMOKING.value
MOUTH = (40.0, 40.0, 60.0, 60.0)  # inside POSTER, where the scripted person's cigarette is


def test_smoking_in_a_picture_of_a_smoker_is_not_smoking_in_the_lab():
    script = lambda t: [Obj(PERSON, POSTER, 0.7), Obj(SMOKING, MOUTH, 0.8)]  # noqa: E731
    vs = run_script(analyzer_for("lab"), script, seconds=20, image=lambda t: poster_frame())
    assert "lab_eating_smoking" not in opened(vs)


def test_a_live_smoker_is_reported():
    script = lambda t: [Obj(PERSON, POSTER, 0.7), Obj(SMOKING, MOUTH, 0.8)]  # noqa: E731
    assert "lab_eating_smoking" in opened(run_script(analyzer_for("lab"), script, seconds=20))  # lively frames


def test_a_cigarette_boxed_with_no_person_around_it_still_counts():
    script = lambda t: [Obj(SMOKING, MOUTH, 0.8)]  # noqa: E731 - nobody boxed: nothing says it is a picture
    assert "lab_eating_smoking" in opened(run_script(analyzer_for("lab"), script, seconds=20,
                                                     image=lambda t: poster_frame()))
