"""Evaluating models on a dataset version's frozen test split and on held-out demo scenes (false violations)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av
import cv2
import numpy as np

from datasets.layout import iter_samples
from training.metrics import DetectionTally
from vigil.catalogue import PROFILE_CLASSES, rules_for_profile
from vigil.errors import TrainingError
from vision.analyzer import CameraAnalyzer
from vision.detector import Detector, load_detector
from vision.replay import frames_from_images, match_events, replay


@dataclass(frozen=True)
class EvalOptions:
    imgsz: int = 320
    conf: float = 0.001  # keep low-confidence boxes for mAP
    pr_conf: float = 0.25  # precision/recall at this confidence (the service's default)
    scene_seeds: tuple[int, ...] = (9901, 9902)  # held out: never used to build a dataset
    scene_duration_s: float = 30.0
    scene_fps: float = 5.0
    scene_size: tuple[int, int] = (320, 180)
    threads: int = 2
    # The shared datasets: their whole held-out sources (recipe_data.HELD_OUT), which no model of this project
    # trains on, are scored as unseen cameras: the gate's headline. None where ../shared is absent.
    heldout_datasets_dir: Path | None = None


def detection_metrics(detector: Detector, dataset_dir: Path, profile: str, split: str = "test",
                      pr_conf: float = 0.25) -> dict:
    """mAP50, mAP50-95 and per-class precision/recall of `detector` on one split of a dataset version."""
    classes = PROFILE_CLASSES[profile]
    tally = DetectionTally(classes, pr_conf=pr_conf)
    for sample, _ in iter_samples(dataset_dir, split):
        img = cv2.imdecode(np.frombuffer(sample.data, np.uint8), cv2.IMREAD_COLOR)
        dets = detector.detect([img])[0]
        keep, pred_cls = class_indices(dets, classes)
        scale = np.array([sample.width, sample.height] * 2, float)
        gt = np.array([[b.x1, b.y1, b.x2, b.y2] for b in sample.boxes], float).reshape(-1, 4) * scale
        gt_cls = np.array([classes.index(b.cls) for b in sample.boxes], int)
        tally.add(dets.xyxy[keep], dets.confidence[keep], pred_cls, gt, gt_cls)
    if tally.images == 0:
        raise TrainingError(f"{dataset_dir}: the {split} split is empty; nothing to evaluate on")
    return tally.summary()


def source_images(folder: Path, classes: tuple[str, ...]):
    """Each usable image of one source (YOLO layout, unified class ids; the mislabelled list skipped), with its truth
    restricted to `classes`: yields (image path, BGR image, xyxy boxes in pixels, class indices into `classes`)."""
    from training.recipe_data import is_mislabelled
    from vigil.catalogue import UNIFIED_CLASSES

    for split in ("train", "val"):
        for img_path in sorted((Path(folder) / "images" / split).glob("*.jpg")):
            if is_mislabelled(img_path):
                continue
            img = cv2.imread(str(img_path))
            if img is None:
                continue
            h, w = img.shape[:2]
            lbl = Path(folder) / "labels" / split / f"{img_path.stem}.txt"
            rows = [r.split() for r in (lbl.read_text().splitlines() if lbl.exists() else []) if len(r.split()) >= 5]
            rows = [r for r in rows if UNIFIED_CLASSES[int(r[0])] in classes]
            gt = np.array([[(float(r[1]) - float(r[3]) / 2) * w, (float(r[2]) - float(r[4]) / 2) * h,
                            (float(r[1]) + float(r[3]) / 2) * w, (float(r[2]) + float(r[4]) / 2) * h]
                           for r in rows], float).reshape(-1, 4)
            yield img_path, img, gt, np.array([classes.index(UNIFIED_CLASSES[int(r[0])]) for r in rows], int)


def class_indices(dets, classes: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Which of `dets` name one of `classes` (a mask over dets) and those boxes' indices into `classes`."""
    names = dets.data.get("class_name", np.array([], str))
    keep = np.array([n in classes for n in names], bool)
    return keep, np.array([classes.index(n) for n in names[keep]], int)


def source_metrics(detector: Detector, folder: Path, profile: str, labelled: tuple[str, ...]) -> dict:
    """mAP50 of `detector` on every image of one shared source (YOLO layout, unified class ids), counting only the
    classes that source labels: a class it leaves unlabelled is neither missed nor a false positive there."""
    classes = tuple(c for c in PROFILE_CLASSES[profile] if c in labelled)
    tally = DetectionTally(classes, pr_conf=0.25)
    for _, img, gt, gt_cls in source_images(folder, classes):
        dets = detector.detect([img])[0]
        keep, pred_cls = class_indices(dets, classes)
        tally.add(dets.xyxy[keep], dets.confidence[keep], pred_cls, gt, gt_cls)
    return tally.summary()


def heldout_source_metrics(detector: Detector, profile: str, sources) -> dict:
    """Per held-out source and class AP50, and their mean: the headline of a model that must see new cameras."""
    per_source = {}
    for name, folder, labelled in sources:
        summary = source_metrics(detector, folder, profile, labelled)
        per_source[name] = {c: v["ap50"] for c, v in summary["per_class"].items() if v is not None}
    values = [ap for row in per_source.values() for ap in row.values()]
    return {"heldout_sources": per_source,
            "heldout_source_map50": round(float(np.mean(values)), 4) if values else None}


def default_heldout_sources(datasets_dir: Path | None, profile: str) -> tuple[tuple[str, Path, tuple[str, ...]], ...]:
    """The recipe's held-out sources for `profile` that exist under `datasets_dir` (none without it)."""
    from training.recipe_data import HELD_OUT, SOURCES

    if datasets_dir is None:
        return ()
    return tuple((s, Path(datasets_dir) / s, tuple(c for c in SOURCES[profile][s] if c in PROFILE_CLASSES[profile]))
                 for s in HELD_OUT.get(profile, ()) if (Path(datasets_dir) / s / "images").is_dir())


def heldout_scenes(profile: str, options: EvalOptions, work_dir: Path) -> list[tuple[Path, tuple[dict, ...]]]:
    """Render (once, cached in work_dir) the held-out scenes: (video, ground-truth violations)."""
    from datasets.scenes import render_scene

    out = []
    for seed in options.scene_seeds:
        d = Path(work_dir) / f"{profile}-{seed}-{options.scene_duration_s:g}s"
        res = render_scene(profile, seed, options.scene_duration_s, d, fps=options.scene_fps,
                           size=options.scene_size, labels=False)
        out.append((res.video, res.violations))
    return out


def _decode(video: Path) -> list[np.ndarray]:
    with av.open(str(video), timeout=(5, 5)) as c:
        return [f.to_ndarray(format="bgr24") for f in c.decode(video=0)]


def false_violations(detector: Detector, profile: str, scenes: list[tuple[Path, tuple[dict, ...]]],
                     fps: float) -> dict:
    """Run the analyzer and detector over each held-out scene; count events no ground-truth violation explains."""
    fp = tp = missed = 0
    seconds = 0.0
    for video, truth in scenes:
        images = _decode(video)
        seconds += len(images) / fps
        analyzer = CameraAnalyzer(f"heldout-{video.parent.name}", rules=rules_for_profile(profile), fps=fps)
        summary = replay(analyzer, detector, frames_from_images(analyzer.camera_id, images, fps=fps))
        t, f, m = match_events(summary.spans(), truth)
        tp, fp, missed = tp + t, fp + f, missed + m
    hours = seconds / 3600.0
    return {"false_violations_per_hour": round(fp / hours, 2) if hours else 0.0, "false_violations": fp,
            "true_violations": tp, "missed_violations": missed, "scene_hours": round(hours, 4)}


def evaluate_model(model_path: Path, profile: str, dataset_dir: Path, work_dir: Path,
                   options: EvalOptions | None = None, *, version: str | None = None) -> dict:
    """Every gate metric of one model: test-split detection metrics plus false violations per hour."""
    options = options or EvalOptions()
    det = load_detector(model_path, conf=options.conf, imgsz=options.imgsz, threads=options.threads,
                        profile=profile, version=version)
    metrics = detection_metrics(det, dataset_dir, profile, pr_conf=options.pr_conf)
    sources = default_heldout_sources(options.heldout_datasets_dir, profile)
    if sources:
        metrics.update(heldout_source_metrics(det, profile, sources))
    if options.scene_seeds:
        service = load_detector(model_path, conf=options.pr_conf, imgsz=options.imgsz, threads=options.threads,
                                profile=profile, version=version)
        scenes = heldout_scenes(profile, options, Path(work_dir) / "heldout")
        metrics.update(false_violations(service, profile, scenes, options.scene_fps))
    metrics["test_split"] = str(dataset_dir)
    return metrics


def check_heldout(options: EvalOptions, dataset_sources: list) -> None:
    """Held-out scene seeds must not have been used to build the dataset."""
    used = {s.get("seed") for s in dataset_sources if isinstance(s, dict) and s.get("kind") == "scene"}
    clash = sorted(used & set(options.scene_seeds))
    if clash:
        raise TrainingError(f"held-out scene seeds {clash} were used to build the dataset; choose unseen seeds")
