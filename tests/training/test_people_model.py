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
