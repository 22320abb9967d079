"""Real footage through the whole offline pipeline with the shipped models and no config (`vigil analyze CLIP`).

The clips are assembled, in their original order, from the frames the shared datasets sampled from one real video
each (CC BY 4.0; ../shared/datasets): a highway fire filmed from cars and the roadside (adhyaksawp-indoor-fire-cctv,
`fireVid_009`), and a clinic's ceiling CCTV with people and no fire (adiandrianto-clinic-cctv-person, camera 07).
Both sources are among the detector's training sources (its held-out sources are still photos, not videos), so this
shows the pipeline end to end on real frames; the cards' held-out-source AP50 is the measure of generalisation.
"""
from __future__ import annotations

import pytest

from datasets.clips import assemble_clip, frame_sequence
from datasets.scenes.assets import default_datasets_dir
from streams.analyze import analyze_source

FIRE = ("adhyaksawp-indoor-fire-cctv", r"fireVid_009_mp4-(\d+)_jpg")
CLINIC = ("adiandrianto-clinic-cctv-person", r"^2-(\d+)-_jpg")


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    datasets = default_datasets_dir()
    assert datasets is not None, "the shared datasets (../shared/datasets) hold the real frames these clips need"
    out = tmp_path_factory.mktemp("real_clips")
    return {name: assemble_clip(frame_sequence(datasets / src, pattern), out / f"{name}.mp4", fps=2.0, gop=4)
            for name, (src, pattern) in {"fire": FIRE, "clinic": CLINIC}.items()}


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
