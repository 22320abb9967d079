"""Real crops for the activity second look (is a detected person eating, drinking, smoking, or none of those?).

Trained on rendered people alone, the look called most real people "smoking" or "eating": on the shared datasets'
CCTV, overhead and construction-site people it said smoking for about half of them (it had never seen a real
person). So it also learns from real pictures:

- smokers: the shared smoking source's `smoking` boxes (hand, cigarette, mouth). Its people are not labelled, so a
  smoker's crop is framed two ways: along the detector's own person box around the smoking box (what the look sees
  at run time), and along an activity region built around the smoking box (head and hand in its upper half);
- people doing none of it: the labelled `person` boxes of the sources that label people (clinic and overhead CCTV,
  construction sites, indoor rooms), cut along the activity region as at run time, and the person boxes the
  detector finds on the pictures of the sources that label neither people nor smoking (a few hundred: mostly hands,
  flames and the odd bystander it takes for a person).

No shared source labels eating or drinking; those stay rendered. Whole sources can be kept `unseen`: none of their
pictures is trained on, and all of them are held-out crops of their own kind (people of a camera never seen).
Each split stays in its own set: training crops come from `train` pictures, held-out ones from `val` pictures."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from datasets.scenes.assets import _image_for
from datasets.scenes.base import CropCollector
from datasets.scenes.person_acts import ACTS, CROP_HW
from vigil.catalogue import DetClass
from vigil.crops import activity_region

PERSON_ID = DetClass.PERSON.class_id
SMOKING_ID = DetClass.SMOKING.class_id
REAL_KINDS = ("smoker", "person", "person, unseen source", "detector person")
MIN_PERSON_H = 40  # px: a person smaller than this is a blur at 64 x 64 (and the detector barely sees them)
PEOPLE_PER_PICTURE = 6  # a crowded CCTV picture should not outweigh the others


def _boxes(rows: list[list[str]], cls: int, W: int, H: int) -> list[np.ndarray]:
    out = []
    for r in rows:
        if int(r[0]) == cls:
            cx, cy, w, h = (float(v) for v in r[1:5])
            out.append(np.array([(cx - w / 2) * W, (cy - h / 2) * H, (cx + w / 2) * W, (cy + h / 2) * H]))
    return out


def around_smoking(box: np.ndarray, rng: np.random.Generator) -> tuple[float, float, float, float]:
    """An activity region (head and hands, as `activity_region` frames a person) built around a smoking box: 2 to
    3.5 times its size, the box in the region's upper middle."""
    x1, y1, x2, y2 = (float(v) for v in box)
    side = max(x2 - x1, y2 - y1) * rng.uniform(2.0, 3.5)
    w, h = side * rng.uniform(0.75, 1.0), side
    cx = (x1 + x2) / 2 + rng.uniform(-0.12, 0.12) * w
    top = (y1 + y2) / 2 - rng.uniform(0.35, 0.6) * h
    return cx - w / 2, top, cx + w / 2, top + h


def real_activity_crops(datasets_dir: Path | None, split: str, seed: int, *, jitters: int = 2,
                        seen_by_detector: Callable[[np.ndarray], np.ndarray] | None = None, kinds: bool = False,
                        per_source: int | None = None, unseen: tuple[str, ...] = ()) -> tuple:
    """Activity-region crops (N, 64, 64, 3 BGR uint8) of real people and their index into ACTS: smokers (label
    smoking; `jitters` regions around each smoking box, and the regions of the person boxes `seen_by_detector`
    finds around it), labelled people of the sources that label `person` (label none) and the person boxes
    `seen_by_detector` finds on the pictures of sources that label neither (label none). Sources in `unseen` give
    nothing to `train` and the labelled people of all their pictures to any other split. `kinds`: a third array
    says where each crop came from (index into REAL_KINDS); `per_source`: only the first N pictures of each source
    and split (a quick run).
    Empty arrays where the shared datasets are not there."""
    rng = np.random.default_rng((seed, 54))
    found = CropCollector(CROP_HW, REAL_KINDS, pad=0.0)
    if datasets_dir is not None and Path(datasets_dir).is_dir():
        for source in sorted(p for p in Path(datasets_dir).iterdir() if (p / "labels").is_dir()):
            hidden = source.name in unseen
            if hidden and split == "train":
                continue
            splits = sorted(d.name for d in (source / "labels").iterdir() if d.is_dir()) if hidden else [split]
            labelled = _labelled_classes(source)
            if not labelled & {PERSON_ID, SMOKING_ID} and (hidden or seen_by_detector is None):
                continue
            for s in splits:
                for lbl in sorted((source / "labels" / s).glob("*.txt"))[:per_source]:
                    _picture_crops(lbl, rng, found.add, jitters, seen_by_detector, hidden, labelled)
    return found.arrays(kinds=kinds)


def _labelled_classes(source: Path) -> set[int]:
    """The class ids any label file of `source` uses."""
    ids: set[int] = set()
    for lbl in (source / "labels").glob("*/*.txt"):
        ids.update(int(r.split()[0]) for r in lbl.read_text().splitlines() if r.strip())
    return ids


def _people(boxes, rng: np.random.Generator) -> list[np.ndarray]:
    """At most PEOPLE_PER_PICTURE of the person boxes tall enough to see hands at a face, jittered a little."""
    tall = [np.asarray(b, float) for b in boxes if b[3] - b[1] >= MIN_PERSON_H]
    out = []
    for i in rng.permutation(len(tall))[:PEOPLE_PER_PICTURE]:
        b = tall[i]
        bw, bh = b[2] - b[0], b[3] - b[1]
        out.append(b + rng.normal(0, 0.03, 4) * np.array([bw, bh, bw, bh]))
    return out


def _picture_crops(lbl: Path, rng: np.random.Generator, add, jitters: int,
                   seen_by_detector: Callable[[np.ndarray], np.ndarray] | None, unseen: bool,
                   labelled: set[int]) -> None:
    """`real_activity_crops` of one labelled picture of a source that labels the `labelled` class ids."""
    rows = [r.split() for r in lbl.read_text().splitlines() if r.strip()]
    ids = {int(r[0]) for r in rows}
    if labelled & {PERSON_ID, SMOKING_ID} and not ids & {PERSON_ID, SMOKING_ID}:
        return  # a picture without people of a source that labels them
    img_path = _image_for(lbl)
    img = cv2.imread(str(img_path)) if img_path else None
    if img is None:
        return
    H, W = img.shape[:2]
    smoking = ACTS.index(DetClass.SMOKING.value)
    smokes = _boxes(rows, SMOKING_ID, W, H)
    for box in smokes:
        for _ in range(jitters):
            add(img, around_smoking(box, rng), smoking, "smoker")
    if smokes and seen_by_detector is not None:  # the person boxes the detector finds around a smoking box
        for person in seen_by_detector(img):
            x1, y1, x2, y2 = activity_region(person)
            if any(x1 <= (b[0] + b[2]) / 2 <= x2 and y1 <= (b[1] + b[3]) / 2 <= y2 for b in smokes):
                add(img, activity_region(person), smoking, "smoker")
    if SMOKING_ID in labelled:
        return  # other people in a smoker's picture are not labelled: they may smoke too
    if PERSON_ID in labelled:
        for b in _people(_boxes(rows, PERSON_ID, W, H), rng):
            add(img, activity_region(b), ACTS.index("none"), "person, unseen source" if unseen else "person")
    elif seen_by_detector is not None:
        for b in _people(seen_by_detector(img), rng):
            add(img, activity_region(b), ACTS.index("none"), "detector person")
