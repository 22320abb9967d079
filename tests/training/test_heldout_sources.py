"""Held-out sources: a model is scored on whole real sources no model here trains on, one class set per source."""
from __future__ import annotations

import hashlib

import numpy as np
import pytest
import supervision as sv

from datasets.scenes.assets import default_datasets_dir
from training.evaluate import default_heldout_sources, heldout_source_metrics
from training.recipe_data import HELD_OUT, SOURCES, DataPlan, balance_repeats, class_mask
from vigil.catalogue import PROFILE_CLASSES
from vigil.types import ModelInfo


class BoxesFromLabels:
    """A scripted detector that answers each image with its own label boxes (perfect) or nothing (blind)."""

    def __init__(self, folder_labels: dict, perfect: bool):
        self.labels, self.perfect = folder_labels, perfect
        self.info = ModelInfo(name="scripted", version="1", profile="site", classes=PROFILE_CLASSES["site"],
                              path="", sha256="", imgsz=320)

    def detect(self, images):
        out = []
        for img in images:
            boxes = self.labels.get(hashlib.md5(img.tobytes()).hexdigest(), []) if self.perfect else []
            xyxy = np.array([b[1] for b in boxes], np.float32).reshape(-1, 4)
            names = np.array([b[0] for b in boxes], dtype=str)
            out.append(sv.Detections(xyxy=xyxy, confidence=np.full(len(boxes), 0.9, np.float32),
                                     class_id=np.zeros(len(boxes), int), data={"class_name": names}))
        return out


def test_held_out_sources_are_never_trained_on_and_label_what_they_score():
    for profile, held in HELD_OUT.items():
        plan = DataPlan(profile, None)
        assert set(held) <= set(SOURCES[profile]) and not set(held) & set(plan.training_sources())
        assert {c for s in held for c in SOURCES[profile][s]} >= {"fire", "person"}


def test_masks_teach_labelled_and_known_absent_classes_only():
    site = PROFILE_CLASSES["site"]
    assert class_mask("site", "adiandrianto-clinic-cctv-person") == tuple(
        site.index(c) for c in ("fire", "smoke", "person"))  # clinic CCTV: people labelled, no fire anywhere
    assert class_mask("site", "thanhngan13-indoor-fire") == (site.index("fire"),)  # its people are unlabelled


def test_balanced_repeats_lift_small_sources_towards_the_median():
    assert balance_repeats({"a": 500, "b": 300, "c": 100, "d": 20}) == {"a": 1, "b": 1, "c": 2, "d": 3}
    assert balance_repeats({"a": 500, "d": 20}, enabled=False) == {"a": 1, "d": 1}


def test_heldout_source_metrics_score_each_source_on_its_own_classes():
    import cv2

    datasets = default_datasets_dir()
    assert datasets is not None, "the shared datasets (../shared/datasets) are needed for this test"
    sources = default_heldout_sources(datasets, "site")
    assert {s for s, _, _ in sources} == set(HELD_OUT["site"])
    # a small copy of each held-out source keeps the test fast; the scripted detector answers from the labels
    from vigil.catalogue import UNIFIED_CLASSES

    labels, small = {}, []
    for name, folder, labelled in sources:
        imgs = sorted((folder / "images" / "val").glob("*.jpg"))[:6]
        small.append((name, imgs, labelled))
        for p in imgs:
            img = cv2.imread(str(p))
            h, w = img.shape[:2]
            rows = [r.split() for r in (folder / "labels" / "val" / f"{p.stem}.txt").read_text().splitlines()
                    if r.strip()]
            labels[hashlib.md5(img.tobytes()).hexdigest()] = [
                (UNIFIED_CLASSES[int(r[0])], [(float(r[1]) - float(r[3]) / 2) * w, (float(r[2]) - float(r[4]) / 2) * h,
                                              (float(r[1]) + float(r[3]) / 2) * w, (float(r[2]) + float(r[4]) / 2) * h])
                for r in rows]
    import shutil
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        subset = []
        for name, imgs, labelled in small:
            d = Path(tmp) / name
            (d / "images" / "val").mkdir(parents=True)
            (d / "labels" / "val").mkdir(parents=True)
            src = dict((s, f) for s, f, _ in sources)[name]
            for p in imgs:
                shutil.copy(p, d / "images" / "val" / p.name)
                shutil.copy(src / "labels" / "val" / f"{p.stem}.txt", d / "labels" / "val" / f"{p.stem}.txt")
            subset.append((name, d, labelled))
        perfect = heldout_source_metrics(BoxesFromLabels(labels, True), "site", subset)
        blind = heldout_source_metrics(BoxesFromLabels(labels, False), "site", subset)
    assert perfect["heldout_source_map50"] > 0.95 and blind["heldout_source_map50"] == 0.0
    kal = perfect["heldout_sources"]["kalinchenko23-hotfire-fire-smoke"]
    assert "person" not in kal and "fire" in kal  # a fire source is never scored on the people it leaves unlabelled
    assert set(perfect["heldout_sources"]["runtueee-construction-site-person"]) == {"person"}


def test_mislabelled_images_are_left_out_of_training_and_scoring():
    """training/mislabelled.txt: images with a visible fire and no box. Each must exist and really have no box (a
    stale or wrong entry fails here), and no dataset build or held-out score may see them."""
    from training.recipe_data import _source_images, is_mislabelled, mislabelled

    shared = default_datasets_dir()
    assert shared is not None, "this test reads ../shared/datasets"
    listed = mislabelled()
    assert len(listed) >= 19
    for rel in listed:
        img = shared / rel
        label = img.parent.parent.parent / "labels" / img.parent.name / f"{img.stem}.txt"
        assert img.is_file(), f"{rel}: listed as mislabelled but not in ../shared"
        assert not label.exists() or not label.read_text().strip(), f"{rel}: it has boxes; why is it listed?"
    source = "kalinchenko23-hotfire-fire-smoke"
    plan = DataPlan("site", shared)
    kept = _source_images(plan, source, "train", None)
    every = sorted((shared / source / "images" / "train").glob("*.jpg"))
    assert kept and not any(is_mislabelled(p) for p in kept)
    assert len(every) - len(kept) == sum(1 for r in listed if r.startswith(f"{source}/images/train/"))


def test_scenes_teach_only_the_classes_no_real_training_source_labels():
    """The issue: rendered scenes only for the classes no real data covers; a class whose only real sources are
    held out is taught by the scenes again; 'all' is the old recipe."""
    assert DataPlan("site", None).scene_classes() == ("dust", "dump_truck", "dump_truck_uncovered")
    assert DataPlan("lab", None).scene_classes() == ("lab_coat", "goggles", "eating_drinking")
    person_sources = tuple(s for s, labels in SOURCES["site"].items() if "person" in labels)
    assert "person" in DataPlan("site", None, held_out=person_sources).scene_classes()
    assert DataPlan("site", None, scenes_teach="all").scene_classes() == PROFILE_CLASSES["site"]
    with pytest.raises(ValueError, match="expected 'unlabelled' or 'all'"):
        DataPlan("site", None, scenes_teach="some").scene_classes()
