"""Real footage through the whole offline pipeline with the shipped models and no config (`vigil analyze CLIP`).

The clips are assembled, in their original order, from the frames the shared datasets sampled from one real video
each (CC BY 4.0; ../shared/datasets): a highway fire filmed from cars and the roadside (adhyaksawp-indoor-fire-cctv,
`fireVid_009`), and a clinic's ceiling CCTV with people and no fire (adiandrianto-clinic-cctv-person, camera 07).
Both sources are among the detector's training sources (its held-out sources are still photos, not videos), so this
shows the pipeline end to end on real frames; the cards' held-out-source AP50 is the measure of generalisation.
"""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from datasets.clips import assemble_clip, frame_sequence
from datasets.scenes.assets import default_datasets_dir
from streams.analyze import analyze_source

FIRE = ("adhyaksawp-indoor-fire-cctv", r"fireVid_009_mp4-(\d+)_jpg")
CLINIC = ("adiandrianto-clinic-cctv-person", r"^2-(\d+)-_jpg")
# a worker in hi-vis from a real construction-site photo (CC BY 4.0), as a safety poster would show one
WORKER = ("runtueee-construction-site-person", "images/train/006672_jpg_e2f0e4.jpg", (333, 289, 402, 510))
POSTER_AT, POSTER_H = (130, 30), 90  # on the clinic's wall, frame pixels
SMOKER = ("huyhoclaptrinh-smoking", "images/train/000001_jpg.rf.4b04e4cb56c8c370da65d18f80a2563f_a620b4.jpg")


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    datasets = default_datasets_dir()
    assert datasets is not None, "the shared datasets (../shared/datasets) hold the real frames these clips need"
    out = tmp_path_factory.mktemp("real_clips")
    made = {name: assemble_clip(frame_sequence(datasets / src, pattern), out / f"{name}.mp4", fps=2.0, gop=4)
            for name, (src, pattern) in {"fire": FIRE, "clinic": CLINIC}.items()}
    clinic = frame_sequence(datasets / CLINIC[0], CLINIC[1])
    made["photo"] = assemble_clip([clinic[10]] * 60, out / "photo.mp4", fps=2.0, gop=4)  # 30 s of one still
    made["smoker_photo"] = assemble_clip([datasets / SMOKER[0] / SMOKER[1]] * 40, out / "smoker.mp4", fps=2.0, gop=4)
    src, name, (x1, y1, x2, y2) = WORKER
    worker = cv2.imread(str(datasets / src / name))[y1:y2, x1:x2]
    worker = cv2.resize(worker, (round(worker.shape[1] * POSTER_H / worker.shape[0]), POSTER_H))
    poster = cv2.cvtColor(cv2.cvtColor(worker, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)  # the camera is grey
    (px, py), walls = POSTER_AT, []
    for i, path in enumerate(clinic):
        frame = cv2.imread(str(path))
        frame[py:py + POSTER_H, px:px + poster.shape[1]] = poster
        walls.append(out / "wall" / f"{i:03d}.png")
        walls[-1].parent.mkdir(exist_ok=True)
        cv2.imwrite(str(walls[-1]), frame)
    made["wall"] = assemble_clip(walls, out / "wall.mp4", fps=2.0, gop=4)
    made["poster_box"] = np.array([px, py, px + poster.shape[1], py + POSTER_H], float)
    return made


@pytest.mark.slow
def test_real_fire_clip_raises_open_burning_within_10_s(clips):
    events = list(analyze_source(str(clips["fire"]), profile="site"))
    burning = [e for e in events if e["rule"] == "open_burning"]
    assert burning, f"no open_burning on a real fire clip (flames in most frames); events: {events}"
    assert min(e["start"] for e in burning) <= 10.0
    assert {e["rule"] for e in events} == {"open_burning"}, events  # nothing else on a burning road


@pytest.mark.slow
def test_real_clinic_clip_on_a_lab_camera_raises_no_eating_smoking_or_fire(clips):
    """The same clinic people seen by a lab camera: nobody eats, drinks or smokes and nothing burns (the activity
    look, trained on rendered people alone, called about half of real people smokers). Nobody there wears a lab
    coat, goggles or gloves either, so those absence events are what a lab camera should raise."""
    events = list(analyze_source(str(clips["clinic"]), profile="lab"))
    rules = {e["rule"] for e in events}
    assert rules <= {"lab_no_coat", "lab_no_goggles", "lab_no_gloves"}, events


@pytest.mark.slow
def test_real_clip_without_violations_raises_none(clips):
    events = list(analyze_source(str(clips["clinic"]), profile="site"))
    assert events == [], f"false violations on a clinic CCTV clip with no fire, dust, dumping or trucks: {events}"


def _judged_box(event: dict) -> np.ndarray | None:
    """The box of the person an absence event is about (the event's track, in its best frame)."""
    boxes = [d["xyxy"] for d in event["detections"] if d.get("track_id") == event["track_id"]]
    return np.array(boxes[0], float) if boxes else None


@pytest.mark.slow
@pytest.mark.parametrize("photo, before", [("photo", "9 'no lab coat'"), ("smoker_photo", "an eating/smoking")])
def test_a_photo_of_people_on_a_lab_camera_raises_no_event_about_people(clips, photo, before):
    """Still frames: 30 s of the clinic camera (its people boxed on every frame), 20 s of a photo of a smoker.
    Before vision.still_people the first raised 9 "no lab coat" events, the second an eating/smoking event (as 9 of
    12 such smoker photos did); nobody in a picture moves."""
    events = list(analyze_source(str(clips[photo]), profile="lab"))
    about_people = [e for e in events if e["rule"].startswith("lab_no_") or e["rule"] == "lab_eating_smoking"]
    assert not about_people, f"{photo} (before: {before}): {events}"


@pytest.mark.slow
def test_a_poster_of_a_worker_on_the_wall_is_not_judged_while_the_real_people_are(clips):
    events = [e for e in analyze_source(str(clips["wall"]), profile="lab") if e["rule"] == "lab_no_coat"]
    poster = clips["poster_box"]
    on_poster = []
    for e in events:
        b = _judged_box(e)
        inter = (np.clip(min(b[2], poster[2]) - max(b[0], poster[0]), 0, None)
                 * np.clip(min(b[3], poster[3]) - max(b[1], poster[1]), 0, None)) if b is not None else 0.0
        if inter > 0.5 * (poster[2] - poster[0]) * (poster[3] - poster[1]):
            on_poster.append(e)
    assert not on_poster, on_poster
    assert len(events) >= 5, f"the clinic's real people (none in a lab coat) were not judged: {events}"
