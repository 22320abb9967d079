"""What tiling the detect frame buys: held-out-source AP50 with the whole frame alone, against the whole frame plus a
grid of overlapping tiles (each also at the detect size, boxes mapped back and merged per class), and what it costs
in detector calls per analysed frame.

A CCTV flame is often under 1% of the frame: at 320 pixels it is a few pixels wide, and a tile sees it 2-3x larger.

    python -m training.tiling_eval --profile site --work runs/gpu --model models/site.onnx --card
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import numpy as np

from training.metrics import DetectionTally, box_iou
from training.recipe_data import DataPlan
from training.recipe_sources import load_extra_sources
from vigil.catalogue import PROFILE_CLASSES


def tiles(h: int, w: int, grid: int, overlap: float = 0.15) -> list[tuple[int, int, int, int]]:
    """A grid x grid cover of an h x w frame; neighbouring tiles overlap by `overlap` of a tile."""
    if grid <= 1:
        return [(0, 0, w, h)]
    tw, th = w / (grid - (grid - 1) * overlap), h / (grid - (grid - 1) * overlap)
    out = []
    for gy in range(grid):
        for gx in range(grid):
            x0, y0 = round(gx * tw * (1 - overlap)), round(gy * th * (1 - overlap))
            out.append((x0, y0, min(w, round(x0 + tw)), min(h, round(y0 + th))))
    return out


def nms(xyxy: np.ndarray, conf: np.ndarray, cls: np.ndarray, iou: float) -> np.ndarray:
    """Indices kept by greedy per-class non-maximum suppression."""
    keep = []
    for c in np.unique(cls):
        idx = np.where(cls == c)[0]
        idx = idx[np.argsort(-conf[idx], kind="stable")]
        while len(idx):
            keep.append(idx[0])
            if len(idx) == 1:
                break
            ious = box_iou(xyxy[idx[:1]], xyxy[idx[1:]])[0]
            idx = idx[1:][ious < iou]
    return np.array(sorted(keep), int)


def detect_tiled(detector, frame: np.ndarray, grid: int, iou: float = 0.5):
    """Detections on the whole frame and, with grid > 1, on each tile too; in frame pixels, merged per class."""
    h, w = frame.shape[:2]
    regions = [(0, 0, w, h)] + (tiles(h, w, grid) if grid > 1 else [])
    crops = [frame[y0:y1, x0:x1] for x0, y0, x1, y1 in regions]
    boxes, confs, classes = [], [], []
    for (x0, y0, _, _), det in zip(regions, detector.detect(crops)):
        if len(det):
            boxes.append(det.xyxy + np.array([x0, y0, x0, y0], float))
            confs.append(det.confidence)
            classes.append(det.class_id)
    if not boxes:
        return np.zeros((0, 4)), np.zeros(0), np.zeros(0, int)
    xyxy, conf, cls = np.concatenate(boxes), np.concatenate(confs), np.concatenate(classes).astype(int)
    if grid > 1:
        k = nms(xyxy, conf, cls, iou)
        xyxy, conf, cls = xyxy[k], conf[k], cls[k]
    return xyxy, conf, cls


def _truth(label: Path, h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    rows = [r.split() for r in (label.read_text().splitlines() if label.exists() else []) if r.strip()]
    if not rows:
        return np.zeros((0, 4)), np.zeros(0, int)
    a = np.array([[float(x) for x in r[1:5]] for r in rows])
    xyxy = np.stack([(a[:, 0] - a[:, 2] / 2) * w, (a[:, 1] - a[:, 3] / 2) * h,
                     (a[:, 0] + a[:, 2] / 2) * w, (a[:, 1] + a[:, 3] / 2) * h], axis=1)
    return xyxy, np.array([int(r[0]) for r in rows])


def score_folder(detector, images: Path, labels: Path, classes: tuple[str, ...], grid: int) -> dict:
    """AP50 per class over one folder of images with YOLO labels (class ids in `classes` order)."""
    tally = DetectionTally(classes)
    for img in sorted(images.iterdir()):
        frame = cv2.imread(str(img))
        if frame is None:
            continue
        gt_xyxy, gt_cls = _truth(labels / f"{img.stem}.txt", *frame.shape[:2])
        xyxy, conf, cls = detect_tiled(detector, frame, grid)
        tally.add(xyxy, conf, cls, gt_xyxy, gt_cls)
    return tally.summary()


def tiling_table(profile: str, work: Path, model: Path, grids: tuple[int, ...] = (1, 2), imgsz: int = 320,
                 extra_datasets: tuple[Path, ...] = ()) -> dict:
    """Per grid: held-out-source AP50 per class (mean over the sources that label it) and detector calls per frame.
    `extra_datasets`: the recipe run's --extra-datasets folders, when one of its held-out sources came from there."""
    from vision.detector import load_detector

    sources = DataPlan(profile, None, extra=load_extra_sources(extra_datasets) if extra_datasets else ()).sources()
    classes = PROFILE_CLASSES[profile]
    data = work / profile / "data"
    heldout = sorted(p.name.removeprefix("eval_heldout_") for p in (data / "images").glob("eval_heldout_*"))
    if not heldout:
        raise SystemExit(f"expected held-out source folders under {data / 'images'} (build the recipe's data first)")
    unknown = [s for s in heldout if s not in sources]  # checked before any scoring, not after a grid's worth
    if unknown:
        raise SystemExit(f"held-out source {unknown[0]!r} is not a {profile} source; expected one of "
                         f"{', '.join(sources)} (an extra source needs --extra-datasets)")
    detector = load_detector(model, conf=0.001, iou=0.6, imgsz=imgsz, threads=2)
    out = {}
    for grid in grids:
        per: dict[str, list[float]] = {}
        by_source = {}
        for src in heldout:
            res = score_folder(detector, data / "images" / f"eval_heldout_{src}",
                               data / "labels" / f"eval_heldout_{src}", classes, grid)
            labelled = [c for c in sources[src] if c in classes]
            by_source[src] = {c: res["per_class"][c]["ap50"] for c in labelled if res["per_class"].get(c)}
            for c, v in by_source[src].items():
                per.setdefault(c, []).append(v)
        out[str(grid)] = {"calls_per_frame": 1 + (grid * grid if grid > 1 else 0), "per_source": by_source,
                          "per_class": {c: round(float(np.mean(v)), 4) for c, v in sorted(per.items())}}
    return {"imgsz": imgsz, "model": str(model), "grids": out}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m training.tiling_eval", description=__doc__.split("\n\n")[0])
    ap.add_argument("--profile", required=True, choices=sorted(PROFILE_CLASSES))
    ap.add_argument("--work", default="runs/gpu", help="the recipe's work dir (its <profile>/data is used)")
    ap.add_argument("--model", default=None, help="default: models/<profile>.onnx")
    ap.add_argument("--grid", type=int, action="append", help="tile grids to try besides the whole frame (2: 2x2)")
    ap.add_argument("--card", action="store_true", help="record the table in models/<profile>.json and re-render")
    ap.add_argument("--datasets", default="../shared/datasets", help="for the card's source attributions")
    ap.add_argument("--extra-datasets", action="append", type=Path, default=[],
                    help="the recipe run's --extra-datasets folder (repeatable)")
    args = ap.parse_args(argv)
    model = Path(args.model or f"models/{args.profile}.onnx")
    res = tiling_table(args.profile, Path(args.work), model, grids=(1, *(args.grid or [2])),
                       extra_datasets=tuple(args.extra_datasets))
    print(json.dumps(res, indent=1))
    if args.card:
        from training.model_card import rerender

        js = model.parent / f"{args.profile}.json"
        card = json.loads(js.read_text())
        card["metrics"]["tiling"] = res
        js.write_text(json.dumps(card, indent=1, ensure_ascii=False) + "\n")
        rerender(model.parent, args.profile, Path(args.datasets) if Path(args.datasets).is_dir() else None)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
