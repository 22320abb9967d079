"""Renders a planned scene to H.264 (PyAV) with per-frame YOLO labels and ground_truth.json."""
from __future__ import annotations

import json
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Iterator

import av
import cv2
import numpy as np

from datasets.scenes.assets import default_datasets_dir
from datasets.scenes.base import Label, Plan, cut_short, ground_truth
from datasets.scenes.paint import value_noise
from vigil.catalogue import DetClass, class_id
from vigil.errors import InputError

PROFILES = ("site", "lab")
CODECS = {"h264": "libx264", "hevc": "libx265"}


@dataclass(frozen=True)
class SceneResult:
    """A rendered scene: the video, its per-frame labels (if asked) and its ground-truth violations."""

    video: Path
    labels_dir: Path | None
    ground_truth: Path
    violations: tuple[dict, ...]  # [{"rule": ..., "start": s, "end": s}], seconds from the video's start


class Camera:
    """What the camera adds: lighting drift, passing cloud shadows, lens blur and sensor noise."""

    def __init__(self, size: tuple[int, int], rng: np.random.Generator, *, outdoor: bool):
        W, H = size
        self.period = rng.uniform(40, 120)
        self.phase = rng.uniform(0, 2 * np.pi)
        self.drift = rng.uniform(0.06, 0.16) if outdoor else rng.uniform(0.02, 0.06)
        self.base_gain = rng.uniform(0.8, 1.1)
        self.warm = rng.uniform(-0.06, 0.06)
        self.shadow = (0.78 + 0.22 * value_noise(H // 4, W, rng, cell=48, octaves=3)) if outdoor else None
        self.shadow_speed = rng.uniform(2, 6)
        self.blur = rng.uniform(0.4, 1.1)
        sigma = rng.uniform(2.0, 6.0)
        self.noise = [rng.normal(0, sigma, (H, W, 3)).astype(np.float32) for _ in range(4)]
        self.size = size

    def apply(self, img: np.ndarray, t: float, index: int) -> np.ndarray:
        W, H = self.size
        g = self.base_gain * (1 + self.drift * np.sin(2 * np.pi * t / self.period + self.phase))
        img *= np.float32(g)
        img[..., 0] *= np.float32(1 - self.warm)
        img[..., 2] *= np.float32(1 + self.warm)
        if self.shadow is not None:
            sw = self.shadow.shape[1]
            off = int(t * self.shadow_speed) % sw
            strip = np.roll(self.shadow, -off, axis=1)
            img *= cv2.resize(strip, (W, H), interpolation=cv2.INTER_LINEAR)[..., None]
        img = cv2.GaussianBlur(img, (0, 0), self.blur)
        n = self.noise[index % len(self.noise)]
        img += np.roll(n, (index * 37) % H, axis=0)
        return np.clip(img, 0, 255).astype(np.uint8)


def compose(plan: Plan, camera: Camera, t: float, index: int) -> tuple[np.ndarray, list[Label]]:
    """One frame of a planned scene and its labels."""
    img = plan.background.copy()
    drawn: list[list[Label]] = []
    for actor in sorted(plan.actors, key=lambda a: a.depth):
        drawn.append(actor.draw(img, t))
    for actor in plan.foreground:
        drawn.append(actor.draw(img, t))
    return camera.apply(img, t, index), _visible(drawn)


OPAQUE = frozenset({DetClass.DUMP_TRUCK.value, DetClass.DUMP_TRUCK_UNCOVERED.value})


def _covered(box, by) -> float:
    ix = max(0.0, min(box[2], by[2]) - max(box[0], by[0]))
    iy = max(0.0, min(box[3], by[3]) - max(box[1], by[1]))
    return ix * iy / max(1e-6, (box[2] - box[0]) * (box[3] - box[1]))


def _visible(drawn: list[list[Label]]) -> list[Label]:
    """Labels whose object is not mostly hidden behind an opaque object drawn later (a truck in front)."""
    out: list[Label] = []
    for i, labels in enumerate(drawn):
        later = [lb.box for group in drawn[i + 1:] for lb in group if lb.cls in OPAQUE]
        out.extend(lb for lb in labels if all(_covered(lb.box, b) < 0.6 for b in later))
    return out


def build_plan(profile: str, seed: int, duration_s: float, size: tuple[int, int],
               datasets_dir: Path | None) -> Plan:
    if profile == "site":
        from datasets.scenes.site import build_site
        return build_site(seed, duration_s, size, datasets_dir)
    if profile == "lab":
        from datasets.scenes.lab import build_lab
        return build_lab(seed, duration_s, size, datasets_dir)
    raise InputError(f"scene profile must be one of {', '.join(PROFILES)}; got {profile!r}")


def iter_frames(profile: str, seed: int, duration_s: float, *, fps: float = 10, size: tuple[int, int] = (640, 360),
                datasets_dir: Path | None = None) -> Iterator[tuple[float, np.ndarray, list[Label]]]:
    """(t, BGR frame, labels) for every frame of a scene, without encoding."""
    plan = build_plan(profile, seed, duration_s, size, datasets_dir)
    camera = Camera(size, np.random.default_rng((seed, 7)), outdoor=profile == "site")
    for i in range(int(round(duration_s * fps))):
        t = i / fps
        img, labels = compose(plan, camera, t, i)
        yield t, img, labels


def _yolo_lines(labels: list[Label], size: tuple[int, int]) -> str:
    W, H = size
    rows = []
    for lb in labels:
        x1, y1, x2, y2 = lb.box
        rows.append(f"{class_id(lb.cls)} {(x1 + x2) / 2 / W:.6f} {(y1 + y2) / 2 / H:.6f} "
                    f"{(x2 - x1) / W:.6f} {(y2 - y1) / H:.6f}")
    return "\n".join(rows) + ("\n" if rows else "")


def render_scene(profile: str, seed: int, duration_s: float, out_dir: Path, *, fps: float = 10,
                 size: tuple[int, int] = (640, 360), gop_s: float = 1.0, codec: str = "h264",
                 labels: bool = True, datasets_dir: Path | None = None) -> SceneResult:
    """Render a deterministic demo scene: `video.mp4`, `labels/NNNNNN.txt` (unified class ids) and
    `ground_truth.json` in `out_dir`. Real crops come from `datasets_dir` (default: the shared datasets)."""
    if profile not in PROFILES:
        raise InputError(f"scene profile must be one of {', '.join(PROFILES)}; got {profile!r}")
    if codec not in CODECS:
        raise InputError(f"codec must be one of {', '.join(CODECS)}; got {codec!r}")
    if duration_s <= 0 or fps <= 0 or size[0] % 2 or size[1] % 2:
        raise InputError(f"need duration > 0, fps > 0 and even frame size; got {duration_s}, {fps}, {size}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    datasets_dir = datasets_dir if datasets_dir is not None else default_datasets_dir()
    labels_dir = out_dir / "labels" if labels else None
    if labels_dir:
        labels_dir.mkdir(exist_ok=True)
    plan = build_plan(profile, seed, duration_s, size, datasets_dir)
    camera = Camera(size, np.random.default_rng((seed, 7)), outdoor=profile == "site")
    video = out_dir / "video.mp4"
    rate = Fraction(fps).limit_denominator(1000)
    gop = max(1, int(round(gop_s * fps)))
    with av.open(str(video), "w") as container:
        stream = container.add_stream(CODECS[codec], rate=rate, options={
            "preset": "veryfast", "crf": "26", "g": str(gop), "keyint_min": str(gop), "sc_threshold": "0",
            "bf": "0"})
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        for i in range(int(round(duration_s * fps))):
            img, lbs = compose(plan, camera, i / fps, i)
            frame = av.VideoFrame.from_ndarray(img, format="bgr24")
            frame.pts, frame.time_base = i, 1 / rate
            container.mux(stream.encode(frame))
            if labels_dir:
                (labels_dir / f"{i:06d}.txt").write_text(_yolo_lines(lbs, size))
        container.mux(stream.encode(None))
    violations = ground_truth(plan.episodes, duration_s)
    gt = out_dir / "ground_truth.json"
    gt.write_text(json.dumps(list(violations) + list(cut_short(plan.episodes, duration_s)), indent=1))
    return SceneResult(video, labels_dir, gt, violations)
