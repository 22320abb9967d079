"""The people detector's recipe: what it refuses, and that its calibration never sees a held-out source."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.vision.looks import shared_datasets
from training.people_model import build_people_model, calibration_images, held_out_summary
from training.recipe_data import HELD_OUT
from vigil.errors import ModelError

MODELS = Path(__file__).resolve().parents[2] / "models"


def test_calibration_reads_no_source_held_out_for_either_profile():
    images = calibration_images(shared_datasets(), per_source=3)
    held = {s for sources in HELD_OUT.values() for s in sources}
    sources = {p.parts[-4] for p in images}
    assert images and not sources & held
    assert {"adiandrianto-clinic-cctv-person", "abonia1-fire-smoke-cctv"} <= sources


@pytest.mark.parametrize("model, expected", [
    ("lab.onnx", "expected NanoDet-g 416 outputs"),  # a YOLO detector is not a NanoDet
    ("lab.md", "lab.md: expected an ONNX model"),
])
def test_build_refuses_what_is_not_nanodet(model, expected, tmp_path):
    out = tmp_path / "people.onnx"
    with pytest.raises(ModelError, match=expected):
        build_people_model(MODELS / model, out, [Path("x.jpg")], "v")
    assert not out.exists()


def test_held_out_summary_averages_each_profiles_held_out_sources_only():
    rows = {"a": {"held_out_for": ["site"], "site": 0.2, "site+people": 0.6, "lab": 0.5, "lab+people": 0.7,
                  "people": 0.6},
            "b": {"held_out_for": [], "site": 0.9, "site+people": 0.9, "lab": 0.9, "lab+people": 0.9, "people": 0.1}}
    assert held_out_summary({"sources": rows}) == {"site": {"site": 0.2, "site+people": 0.6, "people": 0.6}}


def _person_source(parent: Path, name: str, images: int = 2) -> Path:
    """A source folder of a few real clinic CCTV frames with their person labels, and its manifest."""
    import shutil

    src = shared_datasets() / "adiandrianto-clinic-cctv-person"
    folder = parent / name
    for split in ("train", "val"):
        (folder / "images" / split).mkdir(parents=True)
        (folder / "labels" / split).mkdir(parents=True)
        for img in sorted((src / "images" / split).glob("*.jpg"))[:images]:
            shutil.copy(img, folder / "images" / split / img.name)
            shutil.copy(src / "labels" / split / f"{img.stem}.txt", folder / "labels" / split / f"{img.stem}.txt")
    (folder / "vigil-source.yaml").write_text("profiles: [site, lab]\nlabelled: [person]\nlicence: CC BY 4.0\n"
                                             "attribution: clinic CCTV frames (ai-indonesia/cctv-vh5b6)\n")
    return folder


def test_a_source_no_detector_trains_on_is_scored_as_held_out_for_every_profile(tmp_path):
    from training.people_model import evaluate_people

    _person_source(tmp_path / "unseen", "never-trained-on")
    (tmp_path / "shared").mkdir()  # no shared source: only the unseen one is scored
    res = evaluate_people(MODELS / "people.onnx", MODELS, tmp_path / "shared", unseen_dir=tmp_path / "unseen")
    row = res["sources"]["never-trained-on"]
    assert sorted(row["held_out_for"]) == ["lab", "site"]
    assert row["people"] > 0.3 and row["lab+people"] > 0.3  # people on clinic CCTV frames
    assert set(held_out_summary(res)) == {"site", "lab"}
    assert "never-trained-on" in res["unseen"]  # its attribution goes in the card


def test_a_training_source_is_refused_as_one_no_detector_trains_on(tmp_path):
    from training.people_model import evaluate_people

    _person_source(tmp_path / "extra", "same-name")
    _person_source(tmp_path / "unseen", "same-name")
    (tmp_path / "shared").mkdir()
    with pytest.raises(ModelError, match="expected sources no detector trains on; found same-name"):
        evaluate_people(MODELS / "people.onnx", MODELS, tmp_path / "shared", tmp_path / "extra", tmp_path / "unseen")
