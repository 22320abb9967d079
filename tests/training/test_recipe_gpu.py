"""A GPU round's data travels as a compact pack and comes back as folders the recipe and the card use."""
from __future__ import annotations

import json
import os

import cv2
import numpy as np
import pytest

from training.model_card import write_card
from training.recipe_gpu import _base, _unpack, adopt, pack

SRC = "abonia1-fire-smoke-cctv"  # a real recipe source name: its class mask comes from recipe_data.SOURCES


def _built(tmp_path):
    """A built-data folder as recipe_data writes it: a repeated real image (symlinks), a scene frame, an eval split."""
    root = tmp_path / "work" / "site" / "data"
    shared = tmp_path / "shared"
    shared.mkdir()
    big = np.full((720, 1280, 3), 40, np.uint8)
    cv2.rectangle(big, (600, 300), (700, 420), (0, 80, 255), -1)
    cv2.imwrite(str(shared / "a.jpg"), big)
    for split in ("train", "val", "eval_heldout_x", "test_scenes"):
        (root / "images" / split).mkdir(parents=True)
        (root / "labels" / split).mkdir(parents=True)
    for name in (f"{SRC}__a", f"{SRC}__a__r1"):
        os.symlink(shared / "a.jpg", root / "images" / "train" / f"{name}.jpg")
        (root / "labels" / "train" / f"{name}.txt").write_text("0 0.5 0.5 0.1 0.1\n")
    cv2.imwrite(str(root / "images" / "train" / "scenes__site_1000_00001.jpg"), big[:360, :640])
    (root / "labels" / "train" / "scenes__site_1000_00001.txt").write_text("")
    os.symlink(shared / "a.jpg", root / "images" / "eval_heldout_x" / f"{SRC}__a.jpg")
    (root / "labels" / "eval_heldout_x" / f"{SRC}__a.txt").write_text("0 0.5 0.5 0.1 0.1\n")
    cv2.imwrite(str(root / "images" / "test_scenes" / "scenes__site_9000_00001.jpg"), big)
    (root / "data.yaml").write_text("names: {}\n")
    return tmp_path / "work"


def test_repeat_suffix_names_the_same_image():
    assert _base(f"{SRC}__img_1__r2") == f"{SRC}__img_1"
    assert _base(f"{SRC}__img_1.rf.abc") == f"{SRC}__img_1.rf.abc"  # a dot in a stem is not a suffix
    assert _base("scenes__site_1000_00012") == "scenes__site_1000_00012"


def test_pack_shrinks_once_and_unpack_rebuilds_repeats_labels_and_masks(tmp_path):
    work = _built(tmp_path)
    summary = pack(work, ["site"], tmp_path / "pack", side=320)
    assert summary["images"] == 2  # the repeated real image is packed once; test_scenes stays here
    assert summary["site"]["train"] == 3 and "test_scenes" not in summary["site"]
    img = cv2.imread(str(tmp_path / "pack" / "img" / f"{SRC}__a.webp"))
    assert img.shape[:2] == (180, 320)  # long side fitted, aspect kept
    data, evals, manifest = _unpack(tmp_path / "pack", "site", tmp_path / "there")
    train = sorted(p.name for p in (tmp_path / "there" / "images" / "train").iterdir())
    assert train == [f"{SRC}__a.webp", f"{SRC}__a__r1.webp", "scenes__site_1000_00001.webp"]
    assert (tmp_path / "there" / "labels" / "train" / f"{SRC}__a__r1.txt").read_text() == "0 0.5 0.5 0.1 0.1\n"
    assert list(evals) == ["eval_heldout_x"] and "val: images/eval_heldout_x" in evals["eval_heldout_x"].read_text()
    assert manifest["masks"][SRC] == [0, 1]  # fire and smoke: what that source labels
    # rendered scenes teach only the classes no real training source labels (dust, the trucks)
    assert manifest["masks"]["scenes"] == [manifest["names"].index(c) for c in ("dust", "dump_truck",
                                                                                  "dump_truck_uncovered")]


def test_pack_takes_the_masks_the_build_wrote_for_extra_sources(tmp_path):
    work = _built(tmp_path)
    root = work / "site" / "data"
    os.symlink(tmp_path / "shared" / "a.jpg", root / "images" / "train" / "someone-extra__a.jpg")
    (root / "labels" / "train" / "someone-extra__a.txt").write_text("")
    (root / "masks.json").write_text(json.dumps({SRC: [0, 1], "someone-extra": [0, 1, 6], "scenes": [0]}))
    pack(work, ["site"], tmp_path / "pack", side=320)
    manifest = json.loads((tmp_path / "pack" / "manifest_site.json").read_text())
    assert manifest["masks"]["someone-extra"] == [0, 1, 6] and manifest["masks"][SRC] == [0, 1]


def test_pack_refuses_data_that_was_never_built(tmp_path):
    with pytest.raises(SystemExit, match="expected built data"):
        pack(tmp_path, ["site"], tmp_path / "pack")


def _round(d, epochs, archs, seconds):
    d.mkdir()
    (d / "site.pt").write_bytes(b"weights of " + d.name.encode())
    (d / "site_yolo11n_results.csv").write_text(
        "epoch,time,metrics/mAP50(B)\n" + "".join(f"{i},{i * 10},0.{i}\n" for i in range(1, epochs + 1)))
    summary = {"jobs": {f"site_{a}": "exit 0" for a in archs} | {"seconds": seconds}}
    for a in archs:
        summary[f"site_{a}"] = {"imgsz": 320, "scores": {
            "eval_heldout_k": {"per_class": {"fire": {"mAP50": 0.2 if a == "yolo11n" else 0.3}, "smoke": None}},
            "eval_heldout_r": {"per_class": {"person": {"mAP50": 0.1}}},
            "eval_own_a": {"per_class": {"fire": {"mAP50": 0.9}}}}}
    (d / "summary.json").write_text(json.dumps(summary))


def test_adopt_numbers_epochs_on_and_the_card_shows_rounds_and_architectures(tmp_path):
    _round(tmp_path / "r1", 3, ["yolo11n", "yolo11s"], 400)
    _round(tmp_path / "r2", 2, ["yolo11n"], 250)
    adopt([tmp_path / "r1", tmp_path / "r2"], tmp_path / "work", ["site"])
    train = tmp_path / "work" / "site" / "train"
    assert (train / "weights" / "best.pt").read_bytes() == b"weights of r2"  # the last round's weights
    rows = (train / "results.csv").read_text().splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == ["1", "2", "3", "4", "5"]
    rounds = json.loads((train / "rounds.json").read_text())
    assert rounds[0]["archs"]["yolo11s"]["heldout_ap50"] == {"fire": 0.3, "person": 0.1}  # held-out only
    block = {"mAP50": 0.5, "mAP50_95": 0.2, "per_class": {}}
    md, _ = write_card(tmp_path / "models", "site", classes=("fire", "smoke", "person"),
                       options={"device": "cpu", "imgsz": 320, "batch": 16, "epochs": 3},
                       data_counts={"train": {}}, metrics={"real_heldout": block, "scenes_heldout": block,
                                                           "cpu_ms_by_arch": {"yolo11n": 9.0, "yolo11s": 27.0}},
                       progress={"epochs_completed": 5, "rounds": rounds},
                       scene_seeds={"train": 1, "val": 2, "test": 3}, train_seconds=650, onnx_bytes=1)
    text = md.read_text()
    assert "round 1: 3 epochs in 400 s; round 2: 2 epochs in 250 s; **5 epochs** in all" in text
    assert "| 1 | yolo11s | 0.300 | 0.100 | 27.000 |" in text
    assert "| 2 | yolo11n | 0.200 | 0.100 | 9.000 |" in text


def test_adopt_says_which_round_file_is_missing(tmp_path):
    (tmp_path / "r1").mkdir()
    with pytest.raises(SystemExit, match="expected .*site.pt"):
        adopt([tmp_path / "r1"], tmp_path / "work", ["site"])
