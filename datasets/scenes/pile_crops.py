"""Crops for the debris-pile second look: is what the detector boxed as `debris_pile` a heap of dumped waste, or
ground, a truck, a worker, a wall? Two kinds, both needed:

- rendered (`pile_crops`): site frames drawn the way the site scenes are (background, perspective, camera drift,
  blur, noise) with piles on the ground, real garbage crops pasted as the scenes paste them or painted heaps, and
  the boxes a detector would confuse with them (bare ground, trucks, the smoke and dust plumes the scenes draw: a
  plume standing over one spot for minutes, raised to a heap, would be a dumping);
- real (`real_pile_crops`): the labelled garbage boxes of the shared datasets' debris source, and, as "none",
  the other sources' labelled boxes (fire, smoke, people, hands), random boxes of their pictures and, given a
  detector, the boxes it calls a debris pile there (hard negatives: what it confuses with a heap).

Each split of the real data stays in its own set: training crops come from `train` images, held-out ones from
`val` images."""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator

import cv2
import numpy as np

from datasets.scenes.assets import CropBank, _image_for
from datasets.scenes.base import CropCollector, jittered_crops
from datasets.scenes.site import TRUCK_COLORS, crop_stage
from datasets.scenes.site_actors import (DUST_STYLE, FIRE_STYLE, LIGHT_SMOKE, SMOKE_STYLE, Emitter, Pile, Vehicle,
                                         crop_pile, painted_pile, truck_sprite)
from vigil.catalogue import DetClass
from vigil.crops import CROP_PAD

PILES = ("none", DetClass.DEBRIS_PILE.value)
PILE_HW = (48, 80)  # a pile box resized to 48 x 80 (piles are about twice as wide as high)
PILE_ID = DetClass.DEBRIS_PILE.class_id
REAL_KINDS = ("labelled", "random", "detector")  # a labelled box, a random box, a detector's pile box


def _iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _covered(box, by) -> float:
    """The share of `box` that `by` covers."""
    ix = max(0.0, min(box[2], by[2]) - max(box[0], by[0]))
    iy = max(0.0, min(box[3], by[3]) - max(box[1], by[1]))
    return ix * iy / max(1e-6, (box[2] - box[0]) * (box[3] - box[1]))


def plume(rng: np.random.Generator, persp, size: tuple[int, int]) -> Emitter:
    """A smoke, light-smoke or dust plume (with flames under it, 3 times in 10) rising from a random ground point
    from 0 s to 30 s, the way the site scenes draw one; its boxes are no heap."""
    W, H = size
    gy = persp.horizon + (H - persp.horizon) * rng.uniform(0.3, 0.95)
    style = (SMOKE_STYLE, LIGHT_SMOKE, DUST_STYLE)[int(rng.integers(3))]
    layers = ((style, "plume"),) + (((FIRE_STYLE, "plume"),) if rng.random() < 0.3 else ())
    return Emitter(float(rng.uniform(0.1, 0.9) * W), gy, persp.scale(gy) * H / 360 * float(rng.uniform(1.2, 2.2)),
                   0.0, 30.0, layers, int(rng.integers(1 << 30)), size)


def pile_frames(seed: int, datasets_dir: Path | None, *, split: str = "train",
                size: tuple[int, int] = (640, 360)) -> Iterator[tuple[np.ndarray, list]]:
    """Endless site frames (BGR uint8) and their (xyxy box, label index into PILES): one or two piles on the
    ground (real garbage crops of `split` where the shared datasets are there, else painted), and as many boxes
    that are not a pile (ground, a truck, a truck's load); deterministic by seed."""
    rng = np.random.default_rng((seed, 51))
    bank = CropBank(datasets_dir, PILE_ID, min_px=32, limit=400, split=split)
    W, H = size
    while True:
        persp, background, camera, lanes = crop_stage(size, rng)
        for _ in range(12):
            img = background.copy()
            actors: list[tuple[Vehicle | Pile | Emitter, int]] = []
            boxes: list[tuple[tuple, int]] = []
            if rng.random() < 0.4:  # a truck near the piles, as when it has just dumped them
                lane = float(lanes[int(rng.integers(len(lanes)))])
                length = int(0.62 * W * persp.scale(lane) * rng.uniform(0.7, 1.2))
                load = ("covered", "uncovered", "empty")[int(rng.integers(3))]
                spr, alpha = truck_sprite(length, TRUCK_COLORS[rng.integers(len(TRUCK_COLORS))], load, rng)
                cx = float(rng.uniform(0, W))
                actors.append((Vehicle(spr, alpha, [(0.0, cx), (1.0, cx)], lane, 0.0, 1.0, "truck", size), 0))
            if rng.random() < 0.35:  # a smoke or dust plume rising from the ground (on a heap, or anywhere)
                actors.append((plume(rng, persp, size), 0))
            for _ in range(1 + int(rng.random() < 0.3)):
                gy = persp.horizon + (H - persp.horizon) * rng.uniform(0.15, 0.9)
                pw = int(0.3 * W * persp.scale(gy) * rng.uniform(0.6, 1.4))
                crop = bank.pick(rng) if rng.random() < 0.7 else None
                layer, a = crop_pile(crop, pw, rng) if crop is not None else painted_pile(pw, int(pw * 0.45), rng)
                actors.append((Pile(layer, a, float(rng.uniform(0.1, 0.9) * W), gy, -10.0, size), 1))
            plume_age = float(rng.uniform(2.5, 20.0))  # how long the plume has been rising
            drawn_trucks: list = []  # a pile behind a truck drawn later is no pile to label (nor bare ground)
            for actor, label in sorted(actors, key=lambda al: al[0].depth):
                drawn = actor.draw(img, plume_age if isinstance(actor, Emitter) else 0.5)
                if label and drawn:
                    boxes.append((drawn[0].box, 1))
                elif isinstance(actor, Emitter):
                    boxes.extend((lab.box, 0) for lab in drawn)
                elif isinstance(actor, Vehicle):
                    x1, y1, x2, y2 = actor.box_at(0.5)
                    if min(x2, W) - max(x1, 0) > 16:
                        drawn_trucks.append((max(0.0, x1), y1, min(float(W), x2), y2))
                        boxes.append((drawn_trucks[-1], 0))
            boxes = [(b, lab) for b, lab in boxes if not lab or all(_covered(b, t) < 0.3 for t in drawn_trucks)]
            piles = [b for b, lab in boxes if lab]
            for _ in range(max(1, len(piles))):  # bare ground, the size of a pile there
                for _try in range(10):
                    gy = persp.horizon + (H - persp.horizon) * rng.uniform(0.1, 1.0)
                    bw = 0.3 * W * persp.scale(gy) * rng.uniform(0.5, 1.5)
                    x1 = float(rng.uniform(-0.2 * bw, W - 0.8 * bw))
                    box = (max(0.0, x1), gy - bw * rng.uniform(0.3, 0.6), min(float(W), x1 + bw), gy)
                    if all(_iou(box, p) < 0.1 for p in piles):
                        boxes.append((box, 0))
                        break
            yield camera.apply(img, float(rng.uniform(0, 300)), int(rng.integers(1000))), boxes


def pile_crops(seed: int, n: int, datasets_dir: Path | None, *, split: str = "train",
               size: tuple[int, int] = (640, 360)) -> tuple[np.ndarray, np.ndarray]:
    """`n` rendered crops (N, 48, 80, 3 BGR uint8) and their label index into PILES, cut along a jittered box the
    way a detector's box would frame it; deterministic by seed."""
    return jittered_crops(pile_frames(seed, datasets_dir, split=split, size=size), n,
                          np.random.default_rng((seed, 52)), label=0, hw=PILE_HW, sigma=0.06, pad=CROP_PAD)


def real_pile_crops(datasets_dir: Path | None, split: str, seed: int, *, jitters: int = 2,
                    negatives_per_image: int = 1,
                    seen_by_detector: Callable[[np.ndarray], np.ndarray] | None = None, kinds: bool = False,
                    per_source: int | None = None) -> tuple:
    """Crops from the real labelled pictures of `split`: every labelled debris-pile box (label 1), `jitters`
    times each, and as label 0 the other classes' boxes, `negatives_per_image` random boxes of each picture
    without a pile label and, with `seen_by_detector` (a picture -> (N, 4) xyxy debris-pile boxes of a detector), the
    boxes it finds there, `jitters` times each (they may hold a pile nobody labelled; pictures with a pile label
    are left out of these). `kinds`: a third array says where each crop came from (index into REAL_KINDS);
    `per_source`: only the first N pictures of each source (a quick run).
    Empty arrays where the shared datasets are not there."""
    rng = np.random.default_rng((seed, 53))
    found = CropCollector(PILE_HW, REAL_KINDS, pad=CROP_PAD)
    if datasets_dir is not None and Path(datasets_dir).is_dir():
        for source in sorted(p for p in Path(datasets_dir).iterdir() if (p / "labels" / split).is_dir()):
            for lbl in sorted((source / "labels" / split).glob("*.txt"))[:per_source]:
                _picture_crops(lbl, rng, found.add, jitters, negatives_per_image, seen_by_detector)
    return found.arrays(kinds=kinds)


def _picture_crops(lbl: Path, rng: np.random.Generator, add, jitters: int, negatives_per_image: int,
                   seen_by_detector: Callable[[np.ndarray], np.ndarray] | None) -> None:
    """`real_pile_crops` of one labelled picture."""
    rows = [r.split() for r in lbl.read_text().splitlines() if r.strip()]
    has_pile = any(int(r[0]) == PILE_ID for r in rows)
    img_path = _image_for(lbl)
    img = cv2.imread(str(img_path)) if img_path else None
    if img is None:
        return
    H, W = img.shape[:2]
    for r in rows:
        cx, cy, w, h = (float(v) for v in r[1:5])
        box = np.array([(cx - w / 2) * W, (cy - h / 2) * H, (cx + w / 2) * W, (cy + h / 2) * H])
        pile = int(r[0]) == PILE_ID
        if min(box[2] - box[0], box[3] - box[1]) < 12 or (not pile and has_pile):
            continue
        for _ in range(jitters if pile else 1):
            add(img, box + rng.normal(0, 0.06, 4) * np.array([w * W, h * H, w * W, h * H]), int(pile), "labelled")
    if has_pile:
        return
    for box in (seen_by_detector(img) if seen_by_detector is not None else ()):
        bw, bh = box[2] - box[0], box[3] - box[1]
        for _ in range(jitters):
            add(img, box + rng.normal(0, 0.06, 4) * np.array([bw, bh, bw, bh]), 0, "detector")
    for _ in range(negatives_per_image):
        bw = W * rng.uniform(0.15, 0.5)
        bh = bw * rng.uniform(0.35, 0.8)
        x1, y1 = rng.uniform(0, W - bw), rng.uniform(0, max(1.0, H - bh))
        add(img, (x1, y1, x1 + bw, y1 + bh), 0, "random")
