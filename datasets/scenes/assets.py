"""Real object crops (debris piles, fire, smoke) read at run time from the shared labelled datasets."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np


class CropBank:
    """Crops of one class from the *train* split of the shared datasets (val images never enter a scene; a
    classifier's held-out check takes `split="val"`)."""

    def __init__(self, datasets_dir: Path | None, class_id: int, *, min_px: int = 48, limit: int = 60,
                 split: str = "train"):
        self._crops: list[np.ndarray] = []
        if datasets_dir is None or not Path(datasets_dir).is_dir():
            return
        for lbl in sorted(Path(datasets_dir).glob(f"*/labels/{split}/*.txt")):
            if len(self._crops) >= limit:
                break
            rows = [r.split() for r in lbl.read_text().splitlines() if r.strip()]
            rows = [r for r in rows if int(r[0]) == class_id]
            if not rows:
                continue
            img_path = _image_for(lbl)
            img = cv2.imread(str(img_path)) if img_path else None
            if img is None:
                continue
            H, W = img.shape[:2]
            for r in rows[:2]:
                cx, cy, w, h = (float(v) for v in r[1:5])
                x1, y1 = int((cx - w / 2) * W), int((cy - h / 2) * H)
                x2, y2 = int((cx + w / 2) * W), int((cy + h / 2) * H)
                if x2 - x1 >= min_px and y2 - y1 >= min_px and (x2 - x1) < 0.9 * W:
                    self._crops.append(img[max(0, y1):y2, max(0, x1):x2].copy())

    def __len__(self) -> int:
        return len(self._crops)

    def pick(self, rng: np.random.Generator) -> np.ndarray | None:
        if not self._crops:
            return None
        return self._crops[int(rng.integers(len(self._crops)))]


def _image_for(label_path: Path) -> Path | None:
    img_dir = label_path.parent.parent.parent / "images" / label_path.parent.name
    for ext in (".jpg", ".jpeg", ".png"):
        p = img_dir / (label_path.stem + ext)
        if p.exists():
            return p
    return None


def default_datasets_dir() -> Path | None:
    """The shared datasets next to the repository (config `shared_dir` default `../shared`), if present."""
    p = Path(__file__).resolve().parents[3] / "shared" / "datasets"
    return p if p.is_dir() else None
