"""The int8 copy of a shipped detector: it must find what the float model finds, and refuse what it cannot copy."""
from __future__ import annotations

import contextlib
import json
import os
import shutil
from pathlib import Path

import cv2
import numpy as np
import onnx
import pytest
import supervision as sv
from onnx import TensorProto, helper

from datasets.scenes.assets import default_datasets_dir
from training.model_card import add_int8, add_scenario
from training.quantize import PRECISION_KEY, calibration_images, is_int8, quantize_detector
from training.recipe_data import HELD_OUT
from vigil.errors import ModelError, TrainingError
from vigil.shipped import models_dir
from vision.detector import load_detector

SITE = models_dir() / "site.onnx"


def _shared() -> Path:
    d = default_datasets_dir()
    assert d is not None, "these tests calibrate and compare on real images: ../shared/datasets is missing"
    return d


@pytest.fixture(scope="module")
def site_int8(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("int8") / "site.int8.onnx"
    here = tmp_path_factory.mktemp("cwd")
    with contextlib.chdir(here):  # relative calibration paths work, and nothing is left in the working directory
        images = [Path(os.path.relpath(p)) for p in calibration_images("site", _shared(), per_source=4)]
        quantize_detector(SITE, out, images)
    assert list(here.iterdir()) == []
    return out


def test_calibration_never_uses_a_held_out_source():
    picked = calibration_images("site", _shared(), per_source=3)
    sources = {p.parts[-4] for p in picked}
    assert len(sources) >= 5 and not sources & set(HELD_OUT["site"])


def test_int8_copy_keeps_the_classes_and_finds_what_the_float_model_finds(site_int8):
    meta = {p.key: p.value for p in onnx.load(str(site_int8)).metadata_props}
    assert meta[PRECISION_KEY] == "int8" and "names" in meta
    assert site_int8.stat().st_size < SITE.stat().st_size / 2
    fp32 = load_detector(SITE, conf=0.25, profile="site")
    int8 = load_detector(site_int8, conf=0.25, profile="site")
    assert int8.info.classes == fp32.info.classes
    # a held-out source (never calibrated on): the float model's confident boxes must mostly be found again
    images = sorted((_shared() / HELD_OUT["site"][0] / "images").rglob("*.jpg"))[::10][:30]
    found = total = 0
    for path in images:
        img = cv2.imread(str(path))
        a, b = fp32.detect([img])[0], int8.detect([img])[0]
        total += len(a)
        if len(a) and len(b):
            iou = sv.box_iou_batch(a.xyxy, b.xyxy)
            same = a.data["class_name"][:, None] == b.data["class_name"][None, :]
            found += int(((iou >= 0.5) & same).any(axis=1).sum())
    assert total >= 10, "expected the float model to box something on a fire/smoke source"
    assert found / total >= 0.7, f"the int8 copy found {found} of the float model's {total} boxes"


def _not_yolo(path: Path) -> Path:
    x = helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, 32, 32])
    y = helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, 3, 32, 32])
    graph = helper.make_graph([helper.make_node("Identity", ["images"], ["out"], name="Identity")], "g", [x], [y])
    onnx.save(helper.make_model(graph), str(path))
    return path


@pytest.mark.parametrize("case, expected", [
    ("same path", "other than the model"),
    ("not onnx", "expected an ONNX model"),
    ("not yolo", "expected an ultralytics YOLO export"),
    ("already int8", "already quantized"),
    ("no images", "expected calibration images"),
])
def test_quantize_refuses_what_it_cannot_copy_and_writes_nothing(tmp_path, site_int8, case, expected):
    src, images = SITE, [np.zeros((90, 160, 3), np.uint8)]
    out = tmp_path / "out.onnx"
    if case == "same path":
        src = out = shutil.copy(SITE, tmp_path / "copy.onnx")
    elif case == "not onnx":
        src = tmp_path / "junk.onnx"
        src.write_bytes(b"not a model")
    elif case == "not yolo":
        src = _not_yolo(tmp_path / "identity.onnx")
    elif case == "already int8":
        src = site_int8
    else:
        images = []
    with pytest.raises(ModelError, match=expected):
        quantize_detector(Path(src), Path(out), images)
    assert case == "same path" or not out.exists()


def test_calibration_without_the_shared_images_says_what_it_expected(tmp_path):
    with pytest.raises(ModelError, match="expected the shared datasets' training images"):
        calibration_images("site", tmp_path, per_source=3)


def test_the_card_shows_the_int8_copy_beside_the_float_model(tmp_path):
    for f in ("site.json", "site.md"):
        shutil.copy(models_dir() / f, tmp_path / f)
    comparison = {"imgsz": 320, "threads": 1, "model": "site.int8.onnx", "calibration_per_source": 40,
                  "fp32": {"cpu_ms": 19.0, "bytes": 10_500_000, "heldout_ap50": {"fire": 0.197, "smoke": 0.119}},
                  "int8": {"cpu_ms": 9.7, "bytes": 3_000_000, "heldout_ap50": {"fire": 0.184, "smoke": 0.108}},
                  "speedup": 1.96}
    md, js = add_int8(tmp_path, "site", comparison)
    text = md.read_text()
    assert "## INT8 copy" in text and "| fire | 0.197 | 0.184 |" in text and "1.96x" in text
    assert json.loads(js.read_text())["metrics"]["int8"]["speedup"] == 1.96
    assert "## Scenario check" in text  # the rest of the card is kept
    float_scenario = json.loads(js.read_text())["metrics"]["scenario"]
    scenario = {"recall": 0.947, "tp": 90, "miss": 5, "fp": 0, "false_per_camera_hour": 0.0, "scenes": [{}]}
    md, js = add_scenario(tmp_path, "site", scenario, int8=True)
    assert "Scenario check with the int8 copy (same scenes as above): recall **0.947** (90/95)" in md.read_text()
    card = json.loads(js.read_text())["metrics"]
    assert card["scenario"] == float_scenario and "scenes" not in card["int8"]["scenario"]


def test_an_int8_scenario_needs_the_int8_comparison_first(tmp_path):
    for f in ("site.json", "site.md"):
        shutil.copy(models_dir() / f, tmp_path / f)
    card = json.loads((tmp_path / "site.json").read_text())
    card["metrics"].pop("int8", None)
    (tmp_path / "site.json").write_text(json.dumps(card))
    with pytest.raises(TrainingError, match="vigil recipe quantize --card first"):
        add_scenario(tmp_path, "site", {"recall": 1.0, "scenes": []}, int8=True)


def test_is_int8_tells_the_copy_from_the_float_model(site_int8, tmp_path):
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"junk")
    assert is_int8(site_int8) and not is_int8(SITE) and not is_int8(junk)


def test_a_check_without_the_fire_cues_goes_beside_the_one_with_them(tmp_path):
    """`vigil recipe scenario --no-cues --card` wrote over the card's scenario figure; it is the comparison the
    issue asks for (recall and false alarms with and without the cues), so it sits beside it."""
    for f in ("site.json", "site.md"):
        shutil.copy(models_dir() / f, tmp_path / f)
    with_cues = json.loads((tmp_path / "site.json").read_text())["metrics"]["scenario"]
    rules = {r: dict(c) for r, c in with_cues["per_rule"].items()}
    rules["open_burning"] = {"tp": rules["open_burning"]["tp"] - 2, "fp": 1, "miss": rules["open_burning"]["miss"] + 2}
    without = {**with_cues, "fire_cues": False, "recall": 0.926, "tp": with_cues["tp"] - 2, "fp": 1,
               "miss": with_cues["miss"] + 2, "false_per_camera_hour": 1.0, "per_rule": rules, "scenes": [{}]}
    md, js = add_scenario(tmp_path, "site", without)
    metrics = json.loads(js.read_text())["metrics"]
    assert metrics["scenario"] == with_cues and metrics["scenario_no_cues"]["recall"] == 0.926
    text = md.read_text()
    assert "Without the fire/smoke cues (`--no-cues`, same scenes): recall **0.926**" in text
    assert f"open_burning {rules['open_burning']['tp']} found / 1 false (with the cues " \
           f"{with_cues['per_rule']['open_burning']['tp']} / 0)" in text
    line = next(t for t in text.splitlines() if "--no-cues" in t)
    assert "dust" not in line  # only the rules that differ
