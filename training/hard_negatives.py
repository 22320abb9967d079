"""False boxes on images known to be free of a class (hard negatives): what a shipped detector fires on.

A negative set is a folder in the shared layout and the classes it is known to be free of:
- a shared source's ABSENT classes (indoor CCTV with lamps and windows: no fire or smoke anywhere);
- the images with an empty label file in a source that labels fire/smoke completely (its "no fire" images);
- an extra source whose ``vigil-source.yaml`` lists ``absent`` classes (training.recipe_sources).

Every box of such a class at or above the threshold is false. Stills only: the fire/smoke cues (vision.fire_cues)
need two frames, so these figures are the detector alone.

    python -m training.hard_negatives --profile site --model models/site.onnx \\
        --datasets ../shared/datasets --extra-datasets /work/extra-datasets --out runs/hard_negatives_site.json
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from training.recipe_data import ABSENT, HELD_OUT, SOURCES, mislabelled
from training.recipe_sources import load_extra_sources
from vigil.catalogue import PROFILE_CLASSES

FIRE_SMOKE = ("fire", "smoke")


@dataclass(frozen=True)
class NegativeSet:
    name: str
    images: tuple[Path, ...]
    absent: tuple[str, ...]  # classes no image here shows: any box of these is false
    trained_on: bool = False  # the recipe trains the shipped model on this source (not a held-out/extra one)


def _all_images(folder: Path, only_empty: bool) -> list[Path]:
    out = []
    for split in ("train", "val"):
        for img in sorted((folder / "images" / split).glob("*.jpg")):
            lbl = folder / "labels" / split / f"{img.stem}.txt"
            if not only_empty or not (lbl.exists() and lbl.read_text().strip()):
                out.append(img)
    return out


def _even(images: list[Path], limit: int | None) -> tuple[Path, ...]:
    if limit is None or len(images) <= limit:
        return tuple(images)
    idx = np.linspace(0, len(images) - 1, limit).round().astype(int)
    return tuple(images[i] for i in idx)


def negative_sets(profile: str, datasets_dir: Path | None, extra_dirs: tuple[Path, ...] = (),
                  limit: int | None = 300, exclude: frozenset[str] = frozenset()) -> list[NegativeSet]:
    """The profile's negative sets: shared ABSENT sources, the empty-label images of shared sources labelling
    fire/smoke, and extra sources with `absent` classes (at most `limit` images each, evenly spaced). `exclude`:
    images known to be mislabelled (``<source>/images/<split>/<file>``), e.g. an empty label on a visible fire."""
    classes = PROFILE_CLASSES[profile]

    def _images(folder: Path, only_empty: bool) -> list[Path]:
        return [p for p in _all_images(folder, only_empty)
                if f"{folder.name}/images/{p.parent.name}/{p.name}" not in exclude]

    sets: list[NegativeSet] = []
    if datasets_dir is not None:
        names = sorted({s for per in SOURCES.values() for s in per})
        for s in names:
            folder = Path(datasets_dir) / s
            if not (folder / "images").is_dir():
                continue
            absent = tuple(c for c in ABSENT.get(s, ()) if c in classes)
            seen = s in SOURCES[profile] and s not in HELD_OUT.get(profile, ())
            if absent:
                sets.append(NegativeSet(f"{s} (absent)", _even(_images(folder, False), limit), absent, seen))
            labelled = {c for per in SOURCES.values() for c in per.get(s, ())}
            neg = tuple(c for c in FIRE_SMOKE if c in labelled and c in classes and c not in absent)
            empty = _images(folder, True) if neg else []
            if empty:
                sets.append(NegativeSet(f"{s} (no-box images)", _even(empty, limit), neg, seen))
    for e in load_extra_sources(extra_dirs, reserved=tuple(sorted({s for per in SOURCES.values() for s in per}))):
        absent = tuple(c for c in e.absent if c in classes)
        if absent:
            sets.append(NegativeSet(f"{e.name} (absent)", _even(_images(e.root, False), limit), absent))
        neg = tuple(c for c in FIRE_SMOKE if c in e.labelled and c in classes)
        empty = _images(e.root, True) if neg else []
        if empty:
            sets.append(NegativeSet(f"{e.name} (no-box images)", _even(empty, limit), neg))
    return sets


def false_boxes(detector, negset: NegativeSet, conf: float = 0.25) -> dict:
    """Boxes of the set's absent classes at >= conf: per class per 100 images, and images with any."""
    counts = {c: 0 for c in negset.absent}
    hit_images = 0
    seen = 0
    for path in negset.images:
        img = cv2.imread(str(path))
        if img is None:
            continue
        seen += 1
        dets = detector.detect([img])[0]
        names = dets.data.get("class_name", np.array([], str))
        hit = False
        for n, c in zip(names, dets.confidence):
            if n in counts and c >= conf:
                counts[str(n)] += 1
                hit = True
        hit_images += int(hit)
    per100 = {c: round(100.0 * n / max(seen, 1), 1) for c, n in counts.items()}
    return {"images": seen, "absent": list(negset.absent), "trained_on": negset.trained_on, "boxes": counts,
            "boxes_per_100_images": per100,
            "images_with_false_box_pct": round(100.0 * hit_images / max(seen, 1), 1)}


def run(profile: str, model: Path, datasets_dir: Path | None, extra_dirs: tuple[Path, ...], conf: float,
        imgsz: int, limit: int | None, exclude: frozenset[str] = frozenset()) -> dict:
    from vision.detector import load_detector

    detector = load_detector(model, conf=min(conf, 0.25), imgsz=imgsz, threads=1, profile=profile)
    t0 = time.perf_counter()
    sets = {s.name: false_boxes(detector, s, conf)
            for s in negative_sets(profile, datasets_dir, extra_dirs, limit, exclude)}
    return {"excluded_images": len(exclude),
            "profile": profile, "model": str(model), "model_version": detector.info.version, "conf": conf,
            "imgsz": imgsz, "cues": "off (stills: the fire/smoke cues need two frames)", "sets": sets,
            "seconds": round(time.perf_counter() - t0, 1)}


def markdown(results: list[dict]) -> str:
    """One table: set, images, then false boxes per 100 images of fire / smoke (and the other absent classes)."""
    lines = ["| model | negative set | trained on it | images | fire /100 img | smoke /100 img | "
             "images with a false box |", "|---|---|---|---|---|---|---|"]
    for r in results:
        for name, s in r["sets"].items():
            cell = {c: f"{s['boxes_per_100_images'][c]:g}" if c in s["boxes_per_100_images"] else "–"
                    for c in FIRE_SMOKE}
            lines.append(f"| {Path(r['model']).name} | {name} | {'yes' if s['trained_on'] else 'no'} | {s['images']} | "
                         f"{cell['fire']} | {cell['smoke']} | {s['images_with_false_box_pct']:g}% |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m training.hard_negatives", description=__doc__.split("\n\n")[0])
    ap.add_argument("--profile", required=True, choices=sorted(PROFILE_CLASSES))
    ap.add_argument("--model", required=True, type=Path)
    ap.add_argument("--datasets", type=Path, default=None, help="the shared datasets (../shared/datasets)")
    ap.add_argument("--extra-datasets", action="append", type=Path, default=[])
    ap.add_argument("--conf", type=float, default=0.25, help="the deploy threshold (detectors.conf)")
    ap.add_argument("--imgsz", type=int, default=320)
    ap.add_argument("--limit", type=int, default=300, help="at most this many images per set (evenly spaced)")
    ap.add_argument("--out", type=Path, default=None, help="write the JSON here")
    ap.add_argument("--exclude", type=Path, default=None,
                    help="more mislabelled images to leave out (training/mislabelled.txt always is), one "
                         "<source>/images/<split>/<file> a line")
    ap.add_argument("--append-md", type=Path, default=None, help="append the table rows to this markdown file")
    args = ap.parse_args(argv)
    if args.datasets is None and not args.extra_datasets:
        ap.error("expected --datasets and/or --extra-datasets; found neither")
    exclude = mislabelled() | (frozenset(x.strip() for x in args.exclude.read_text().splitlines() if x.strip())
                               if args.exclude else frozenset())
    res = run(args.profile, args.model, args.datasets, tuple(args.extra_datasets), args.conf, args.imgsz, args.limit,
              exclude)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(res, indent=1))
    table = markdown([res])
    if args.append_md:
        with args.append_md.open("a") as f:
            f.write(table)
    sys.stdout.write(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
