"""Builds a profile's training set: shared real images remapped to the profile's classes, plus rendered scenes."""
from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import av
import cv2
import numpy as np

from datasets.scenes import render_scene
from vigil.catalogue import PROFILE_CLASSES, UNIFIED_CLASSES, DetClass
from vigil.errors import DatasetError

# Which shared sources feed which profile, and the unified classes each source labels *completely*.
# A source is only used for the classes it labels; the others are masked out of its loss (see recipe_ultra).
SOURCES: dict[str, dict[str, tuple[str, ...]]] = {
    "site": {
        "abonia1-fire-smoke-cctv": (DetClass.FIRE.value, DetClass.SMOKE.value),
        "atanu0023-garbage-piles": (DetClass.DEBRIS_PILE.value,),
        "luizfrra-person-overhead-cctv": (DetClass.PERSON.value,),
    },
    "lab": {
        "abonia1-fire-smoke-cctv": (DetClass.FIRE.value, DetClass.SMOKE.value),
        "huyhoclaptrinh-smoking": (DetClass.SMOKING.value,),
        "luizfrra-person-overhead-cctv": (DetClass.PERSON.value,),
    },
}
SCENE_SOURCE = "scenes"
# Scene seeds: training, validation (checkpoint choice) and test (the card's held-out scenes) never overlap.
SEEDS = {"train": 1000, "val": 5000, "test": 9000}
RARE_SHARE = 0.2


@dataclass(frozen=True)
class DataPlan:
    """How much data to build for one profile."""

    profile: str
    datasets_dir: Path | None
    real_per_source: int | None = None  # cap on real training images per source (None: all)
    scenes: dict[str, int] = field(default_factory=lambda: {"train": 12, "val": 3, "test": 3})
    scene_s: float = 90.0
    scene_fps: float = 1.0  # frames kept per scene second (rendered at this rate)
    size: tuple[int, int] = (640, 360)
    # Training frames that show only common classes (each in >= RARE_SHARE of the split's frames) are kept with
    # this probability; frames showing a rare class (a fire, a cigarette, an uncovered load) are always kept.
    common_keep: float = 1.0


@dataclass(frozen=True)
class BuiltData:
    root: Path
    data_yaml: Path
    classes: tuple[str, ...]
    class_masks: dict[str, tuple[int, ...]]  # source name -> labelled profile class ids
    counts: dict[str, dict[str, int]]  # split -> source -> images
    test_scenes: tuple[Path, ...]  # rendered test scene folders (video + labels + ground truth)


def _remap(label_text: str, classes: tuple[str, ...], keep: tuple[str, ...]) -> str:
    rows = []
    for row in label_text.splitlines():
        parts = row.split()
        if len(parts) < 5:
            continue
        name = UNIFIED_CLASSES[int(parts[0])]
        if name in keep and name in classes:
            rows.append(" ".join([str(classes.index(name)), *parts[1:5]]))
    return "\n".join(rows) + ("\n" if rows else "")


def _link(src: Path, dst: Path) -> None:
    if dst.exists() or dst.is_symlink():
        dst.unlink()
    os.symlink(src.resolve(), dst)


def _real_split(plan: DataPlan, root: Path, source: str, split: str, dst_split: str, limit: int | None) -> int:
    classes = PROFILE_CLASSES[plan.profile]
    src = Path(plan.datasets_dir) / source
    images = sorted((src / "images" / split).glob("*.jpg"))
    if not images:
        raise DatasetError(f"expected images in {src / 'images' / split}; found none")
    if limit is not None and len(images) > limit:
        idx = np.random.default_rng(len(source)).choice(len(images), limit, replace=False)
        images = [images[i] for i in sorted(idx)]
    img_dir, lbl_dir = root / "images" / dst_split, root / "labels" / dst_split
    img_dir.mkdir(parents=True, exist_ok=True)
    lbl_dir.mkdir(parents=True, exist_ok=True)
    for img in images:
        name = f"{source}__{img.name}"
        _link(img, img_dir / name)
        lbl = src / "labels" / split / (img.stem + ".txt")
        text = lbl.read_text() if lbl.exists() else ""
        (lbl_dir / (Path(name).stem + ".txt")).write_text(_remap(text, classes, SOURCES[plan.profile][source]))
    return len(images)


def _scene_split(plan: DataPlan, root: Path, split: str, dst_split: str) -> tuple[int, list[Path]]:
    classes = PROFILE_CLASSES[plan.profile]
    img_dir, lbl_dir = root / "images" / dst_split, root / "labels" / dst_split
    img_dir.mkdir(parents=True, exist_ok=True)
    lbl_dir.mkdir(parents=True, exist_ok=True)
    folders, frames = [], []
    for k in range(plan.scenes.get(split, 0)):
        seed = SEEDS[split] + k + (0 if plan.profile == "site" else 500)
        folder = root / "scenes" / f"{plan.profile}_{seed}_{plan.scene_s:g}s_{plan.scene_fps:g}fps"
        if not (folder / "ground_truth.json").exists():
            render_scene(plan.profile, seed, plan.scene_s, folder, fps=plan.scene_fps, size=plan.size,
                         gop_s=4.0, datasets_dir=plan.datasets_dir)
        folders.append(folder)
        for i in range(len(list((folder / "labels").glob("*.txt")))):
            frames.append((seed, folder, i, _remap((folder / "labels" / f"{i:06d}.txt").read_text(), classes,
                                                   classes)))
    keep = _keep_frames([f[3] for f in frames], plan.common_keep if split == "train" else 1.0, len(classes))
    by_folder: dict[Path, dict[int, tuple[int, str]]] = {}
    for (seed, folder, i, text), kept in zip(frames, keep):
        if kept:
            by_folder.setdefault(folder, {})[i] = (seed, text)
    for folder, wanted in by_folder.items():
        with av.open(str(folder / "video.mp4"), timeout=(5, 5)) as c:
            for i, frame in enumerate(c.decode(c.streams.video[0])):
                if i not in wanted:
                    continue
                seed, text = wanted[i]
                name = f"{SCENE_SOURCE}__{plan.profile}_{seed}_{i:05d}"
                cv2.imwrite(str(img_dir / f"{name}.jpg"), frame.to_ndarray(format="bgr24"),
                            [cv2.IMWRITE_JPEG_QUALITY, 88])
                (lbl_dir / f"{name}.txt").write_text(text)
    return sum(len(w) for w in by_folder.values()), folders


def _keep_frames(labels: list[str], common_keep: float, n_classes: int) -> list[bool]:
    """Which frames to keep: all that show a rare class, and `common_keep` of the rest (seeded, reproducible)."""
    if common_keep >= 1.0 or not labels:
        return [True] * len(labels)
    present = [{int(row.split()[0]) for row in text.splitlines() if row.strip()} for text in labels]
    share = np.zeros(n_classes)
    for classes in present:
        for c in classes:
            share[c] += 1
    rare = {c for c in range(n_classes) if share[c] / len(labels) < RARE_SHARE}
    draws = np.random.default_rng(len(labels)).random(len(labels))
    return [bool(classes & rare) or bool(d < common_keep) for classes, d in zip(present, draws)]


def build_dataset(plan: DataPlan, root: Path) -> BuiltData:
    """Write `root/{images,labels}/{train,val,test_real,test_scenes}` and `root/data.yaml` (idempotent)."""
    if plan.datasets_dir is None or not Path(plan.datasets_dir).is_dir():
        raise DatasetError(f"expected the shared labelled datasets folder (config shared_dir/datasets); "
                           f"found {plan.datasets_dir!r}")
    classes = PROFILE_CLASSES[plan.profile]
    root.mkdir(parents=True, exist_ok=True)
    for stale in ("images", "labels"):  # scenes/ (the rendered videos) is kept as a cache
        shutil.rmtree(root / stale, ignore_errors=True)
    counts: dict[str, dict[str, int]] = {"train": {}, "val": {}, "test_real": {}, "test_scenes": {}}
    for source in SOURCES[plan.profile]:
        counts["train"][source] = _real_split(plan, root, source, "train", "train", plan.real_per_source)
        counts["test_real"][source] = _real_split(plan, root, source, "val", "test_real", None)
    counts["train"][SCENE_SOURCE], _ = _scene_split(plan, root, "train", "train")
    counts["val"][SCENE_SOURCE], _ = _scene_split(plan, root, "val", "val")
    counts["test_scenes"][SCENE_SOURCE], test_folders = _scene_split(plan, root, "test", "test_scenes")
    masks = {s: tuple(classes.index(c) for c in keep if c in classes) for s, keep in SOURCES[plan.profile].items()}
    masks[SCENE_SOURCE] = tuple(range(len(classes)))
    data_yaml = root / "data.yaml"
    names = "\n".join(f"  {i}: {c}" for i, c in enumerate(classes))
    data_yaml.write_text(f"path: {root.resolve()}\ntrain: images/train\nval: images/val\nnames:\n{names}\n")
    for split in ("test_real", "test_scenes"):  # one yaml per evaluation split (ultralytics validates 'val')
        (root / f"data_{split}.yaml").write_text(
            f"path: {root.resolve()}\ntrain: images/train\nval: images/{split}\nnames:\n{names}\n")
    (root / "counts.json").write_text(json.dumps(counts, indent=1))
    return BuiltData(root, data_yaml, classes, masks, counts, tuple(test_folders))
