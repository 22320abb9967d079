"""A tiny real YOLO for detector tests: synthetic coloured shapes, trained offline for a few epochs, exported."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from vigil.catalogue import DetClass

# Three catalogue classes drawn as distinct shapes, so the toy model speaks the real class names.
TOY_CLASSES: tuple[str, ...] = (DetClass.FIRE.value, DetClass.SMOKE.value, DetClass.PERSON.value)
_COLOURS = {0: (30, 30, 230), 1: (40, 200, 40), 2: (220, 60, 20)}  # BGR: red square, green disc, blue bar


@dataclass(frozen=True)
class ToyRecipe:
    images: int = 80
    size: int = 96
    imgsz: int = 64
    epochs: int = 50
    batch: int = 8
    seed: int = 7
    classes: tuple[str, ...] = TOY_CLASSES

    def key(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:12]


def draw_shape(img: np.ndarray, cls: int, x: int, y: int, s: int) -> tuple[int, int, int, int]:
    """Draw one class's shape with top-left (x, y) and size s; returns its xyxy box."""
    colour = _COLOURS[cls]
    if cls == 0:
        cv2.rectangle(img, (x, y), (x + s, y + s), colour, -1)
        return x, y, x + s, y + s
    if cls == 1:
        r = s // 2
        cv2.circle(img, (x + r, y + r), r, colour, -1)
        return x, y, x + 2 * r, y + 2 * r
    w = max(s // 2, 4)
    cv2.rectangle(img, (x, y), (x + w, y + s), colour, -1)
    return x, y, x + w, y + s


def render_toy_image(rng: np.random.Generator, size: int) -> tuple[np.ndarray, list[tuple[int, tuple]]]:
    """A grey noisy background with 1-3 non-overlapping shapes; returns the image and (class, xyxy) labels."""
    img = np.full((size, size, 3), int(rng.integers(90, 170)), np.uint8)
    img = cv2.add(img, rng.integers(0, 20, img.shape, dtype=np.uint8))
    labels: list[tuple[int, tuple]] = []
    for _ in range(int(rng.integers(1, 4))):
        cls, s = int(rng.integers(0, 3)), int(rng.integers(size // 6, size // 3))
        x, y = int(rng.integers(0, size - s)), int(rng.integers(0, size - s))
        box = (x, y, x + s, y + s)
        if any(not (box[2] < b[0] or b[2] < box[0] or box[3] < b[1] or b[3] < box[1]) for _, b in labels):
            continue
        labels.append((cls, draw_shape(img, cls, x, y, s)))
    return img, labels


def write_dataset(recipe: ToyRecipe, root: Path) -> Path:
    rng = np.random.default_rng(recipe.seed)
    for split in ("train", "val"):
        (root / "images" / split).mkdir(parents=True, exist_ok=True)
        (root / "labels" / split).mkdir(parents=True, exist_ok=True)
    for i in range(recipe.images):
        split = "val" if i % 6 == 0 else "train"
        img, labels = render_toy_image(rng, recipe.size)
        cv2.imwrite(str(root / "images" / split / f"{i:03d}.png"), img)
        lines = [f"{c} {(b[0] + b[2]) / 2 / recipe.size:.6f} {(b[1] + b[3]) / 2 / recipe.size:.6f} "
                 f"{(b[2] - b[0]) / recipe.size:.6f} {(b[3] - b[1]) / recipe.size:.6f}" for c, b in labels]
        (root / "labels" / split / f"{i:03d}.txt").write_text("\n".join(lines) + "\n")
    names = "\n".join(f"  {i}: {n}" for i, n in enumerate(recipe.classes))
    data = root / "data.yaml"
    data.write_text(f"path: {root}\ntrain: images/train\nval: images/val\nnames:\n{names}\n")
    return data


def offline_ultralytics_env(config_dir: Path) -> None:
    """Make ultralytics fully offline (STACK.md): no downloads of fonts, weights or packages."""
    config_dir.mkdir(parents=True, exist_ok=True)
    import matplotlib

    font = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
    for name in ("Arial.ttf", "Arial.Unicode.ttf"):
        if not (config_dir / name).exists():
            shutil.copy(font, config_dir / name)
    os.environ.update(YOLO_OFFLINE="1", YOLO_AUTOINSTALL="false", YOLO_CONFIG_DIR=str(config_dir))


@dataclass(frozen=True)
class ToyModel:
    pt: Path
    onnx: Path  # dynamic batch
    onnx_static: Path  # batch fixed at 1
    recipe: ToyRecipe


def build_toy_model(recipe: ToyRecipe, cache_root: Path) -> ToyModel:
    """Train (once per recipe) and export; the files live under a recipe-keyed cache dir."""
    out = cache_root / f"toy-{recipe.key()}"
    pt, onnx, static = out / "toy.pt", out / "toy.onnx", out / "toy_static.onnx"
    if pt.exists() and onnx.exists() and static.exists():
        return ToyModel(pt, onnx, static, recipe)
    offline_ultralytics_env(cache_root / "yolo-config")
    from ultralytics import YOLO, settings

    settings.update(sync=False)
    if not pt.exists():
        data = write_dataset(recipe, out / "data")
        model = YOLO("yolo11n.yaml")
        model.train(data=str(data), epochs=recipe.epochs, imgsz=recipe.imgsz, batch=recipe.batch, workers=0,
                    amp=False, plots=False, device="cpu", project=str(out / "runs"), name="train", exist_ok=True,
                    seed=recipe.seed, deterministic=True, verbose=False, mosaic=0.0, val=False, patience=0)
        shutil.copy(out / "runs" / "train" / "weights" / "last.pt", pt)
    for target, dynamic in ((onnx, True), (static, False)):
        work = out / f"export-{target.stem}"  # each export writes next to its .pt: keep them apart
        work.mkdir(exist_ok=True)
        shutil.copy(pt, work / "toy.pt")
        exported = YOLO(str(work / "toy.pt")).export(format="onnx", imgsz=recipe.imgsz, dynamic=dynamic, simplify=True,
                                        opset=17, batch=1)
        shutil.move(exported, target)
    return ToyModel(pt, onnx, static, recipe)
