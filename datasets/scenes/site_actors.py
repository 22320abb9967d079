"""Actors of the site scenes: dump trucks, cars, workers, fire/smoke/dust emitters and debris piles."""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from datasets.scenes.base import Label, clip_box, piecewise
from datasets.scenes.paint import ParticleStyle, alpha_bbox, composite, feather_mask, particles_layer, value_noise
from vigil.catalogue import DetClass

FIRE_STYLE = ParticleStyle(rate=70, life=1.0, radius=(15, 5), rise=80, spread=12, turbulence=5,
                           colors=((210, 245, 255), (70, 190, 255), (25, 100, 235), (30, 40, 120)), opacity=0.7)
SMOKE_STYLE = ParticleStyle(rate=14, life=6.0, radius=(10, 45), rise=22, spread=5, wind=6, turbulence=6,
                            colors=((70, 70, 75), (110, 112, 115), (160, 160, 160)), opacity=0.28)
LIGHT_SMOKE = ParticleStyle(rate=12, life=5.0, radius=(8, 40), rise=20, spread=5, wind=8, turbulence=5,
                            colors=((175, 178, 180), (200, 200, 200), (215, 215, 215)), opacity=0.22)
DUST_STYLE = ParticleStyle(rate=22, life=5.0, radius=(16, 70), rise=8, spread=18, wind=16, turbulence=8,
                           colors=((110, 150, 185), (135, 170, 198), (160, 188, 205)), opacity=0.34)


def _sprite_from_2x(canvas: np.ndarray, alpha: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    h, w = alpha.shape
    size = (max(1, w // 2), max(1, h // 2))
    return (cv2.resize(canvas, size, interpolation=cv2.INTER_AREA),
            cv2.resize(alpha, size, interpolation=cv2.INTER_AREA))


def truck_sprite(length: int, color: tuple, load: str, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A side-view dump truck facing right; load is 'covered', 'uncovered' or 'empty'."""
    L = max(16, length) * 2
    H = int(L * 0.52)
    img = np.zeros((H, L, 3), np.float32)
    a = np.zeros((H, L), np.float32)
    r = int(0.075 * L)
    base = H - r
    chassis_top = base - int(0.05 * L)

    def poly(pts, c, shade=(1.0, 0.75)):
        pts = np.asarray(pts, np.int32)
        m = np.zeros((H, L), np.uint8)
        cv2.fillPoly(m, [pts], 255, cv2.LINE_AA)
        y0, y1 = pts[:, 1].min(), max(pts[:, 1].max(), pts[:, 1].min() + 1)
        ramp = np.clip((np.arange(H, dtype=np.float32) - y0) / (y1 - y0), 0, 1)
        sh = (shade[0] + (shade[1] - shade[0]) * ramp)[:, None, None]
        mf = (m.astype(np.float32) / 255)[..., None]
        img[:] = img * (1 - mf) + mf * np.asarray(c, np.float32) * sh
        a[:] = np.maximum(a, mf[..., 0])

    poly([(int(0.04 * L), chassis_top), (int(0.97 * L), chassis_top), (int(0.97 * L), base), (int(0.04 * L), base)],
         (40, 40, 42))
    bed_top = int(0.2 * H)
    bed_col = tuple(c * 0.8 for c in color) if rng.random() < 0.5 else (70, 85, 95)
    poly([(int(0.03 * L), bed_top), (int(0.74 * L), bed_top), (int(0.72 * L), chassis_top),
          (int(0.07 * L), chassis_top)], bed_col, (1.05, 0.7))
    for k in range(6):  # ribs
        x = int((0.08 + k * 0.12) * L)
        cv2.line(img, (x, bed_top + 3), (x, chassis_top - 2), tuple(c * 0.55 for c in bed_col), max(1, L // 120))
    cab_top = int(0.12 * H)
    poly([(int(0.77 * L), cab_top), (int(0.93 * L), cab_top), (int(0.99 * L), int(0.45 * H)),
          (int(0.99 * L), chassis_top), (int(0.77 * L), chassis_top)], color, (1.1, 0.75))
    poly([(int(0.80 * L), cab_top + int(0.04 * H)), (int(0.92 * L), cab_top + int(0.04 * H)),
          (int(0.965 * L), int(0.42 * H)), (int(0.80 * L), int(0.42 * H))], (120, 95, 70), (1.4, 0.7))
    if load == "uncovered":
        mound = np.zeros((H, L), np.uint8)
        cv2.ellipse(mound, (int(0.385 * L), bed_top + 4), (int(0.35 * L), int(0.19 * H)), 0, 180, 360, 255, -1,
                    cv2.LINE_AA)
        tex = value_noise(H, L, rng, cell=max(4, L // 40), octaves=3)
        soil = np.stack([60 + 60 * tex, 95 + 65 * tex, 125 + 70 * tex], -1) * (0.75 + 0.45 * rng.random())
        rocks = value_noise(H, L, rng, cell=2, octaves=1) > 0.8
        soil[rocks] *= 0.6
        mf = (mound.astype(np.float32) / 255)[..., None]
        img[:] = img * (1 - mf) + mf * soil
        a[:] = np.maximum(a, mf[..., 0])
    elif load == "covered":
        tarp = (60, 110, 40) if rng.random() < 0.5 else (130, 80, 30)
        poly([(int(0.02 * L), bed_top - int(0.035 * H)), (int(0.75 * L), bed_top - int(0.035 * H)),
              (int(0.75 * L), bed_top + int(0.05 * H)), (int(0.02 * L), bed_top + int(0.05 * H))], tarp, (1.2, 0.8))
        for k in range(5):
            x = int((0.08 + k * 0.15) * L)
            cv2.line(img, (x, bed_top - int(0.035 * H)), (x + 4, bed_top + int(0.05 * H)), (30, 30, 30), 2)
    for wx in (0.16, 0.6, 0.84):
        c = (int(wx * L), base)
        cv2.circle(img, c, r, (22, 22, 24), -1, cv2.LINE_AA)
        cv2.circle(a, c, r, 1.0, -1, cv2.LINE_AA)
        cv2.circle(img, c, int(r * 0.45), (110, 110, 115), -1, cv2.LINE_AA)
    dirt = value_noise(H, L, rng, cell=max(4, L // 16), octaves=3)
    img *= (0.8 + 0.3 * dirt)[..., None]
    return _sprite_from_2x(img, a)


@dataclass
class Vehicle:
    """A truck or car moving along a horizontal lane; x(t) by keys, constant depth."""

    sprite: np.ndarray
    alpha: np.ndarray
    keys: list[tuple[float, float]]  # (t, centre x)
    ground_y: float
    t0: float
    t1: float
    cls: str | None  # catalogue class of the label, None for an unlabelled distractor
    size: tuple[int, int]
    depth: float = 0.0

    def __post_init__(self):
        self.depth = self.ground_y

    def box_at(self, t: float) -> tuple[float, float, float, float]:
        h, w = self.alpha.shape
        cx = piecewise(t, self.keys)
        return cx - w / 2, self.ground_y - h, cx + w / 2, self.ground_y

    def draw(self, img: np.ndarray, t: float) -> list[Label]:
        if not (self.t0 <= t <= self.t1):
            return []
        x1, y1, x2, y2 = self.box_at(t)
        h, w = self.alpha.shape
        sh = np.zeros((max(2, h // 5), w + w // 6), np.float32)
        cv2.ellipse(sh, (sh.shape[1] // 2, sh.shape[0] // 2), (sh.shape[1] // 2, sh.shape[0] // 3), 0, 0, 360, 0.45,
                    -1)
        composite(img, np.zeros((*sh.shape, 3), np.float32), cv2.GaussianBlur(sh, (0, 0), 3),
                  int(x1 - w // 12), int(y2 - sh.shape[0] * 0.6))
        composite(img, self.sprite, self.alpha, int(x1), int(y1))
        if self.cls is None:
            return []
        box = clip_box((x1, y1, x2, y2), self.size, 0.4)
        return [Label(self.cls, box)] if box else []


@dataclass
class Worker:
    """A walking site worker (hard hat, hi-vis vest or plain clothes) following ground keys."""

    keys_x: list[tuple[float, float]]
    keys_y: list[tuple[float, float]]
    t0: float
    t1: float
    height_at: object  # callable ground_y -> pixel height
    colors: dict
    size: tuple[int, int]
    depth: float = 0.0

    def draw(self, img: np.ndarray, t: float) -> list[Label]:
        if not (self.t0 <= t <= self.t1):
            return []
        x, gy = piecewise(t, self.keys_x), piecewise(t, self.keys_y)
        self.depth = gy
        hp = float(self.height_at(gy))
        moving = abs(piecewise(t + 0.1, self.keys_x) - x) + abs(piecewise(t + 0.1, self.keys_y) - gy) > 0.05
        ph = np.sin(t * 7.0) * (0.35 if moving else 0.03)
        lw = max(1, int(hp * 0.09))
        hip = (x, gy - hp * 0.47)
        for s in (1, -1):
            foot = (x + s * np.sin(ph) * hp * 0.22, gy)
            cv2.line(img, (int(hip[0]), int(hip[1])), (int(foot[0]), int(foot[1])), self.colors["legs"], lw + 1,
                     cv2.LINE_AA)
        sh_y = gy - hp * 0.8
        torso = np.array([(x - hp * 0.12, sh_y), (x + hp * 0.12, sh_y), (x + hp * 0.1, hip[1]),
                          (x - hp * 0.1, hip[1])], np.int32)
        cv2.fillPoly(img, [torso], self.colors["torso"], cv2.LINE_AA)
        if self.colors.get("stripe"):
            yb = int(sh_y + hp * 0.2)
            cv2.line(img, (int(x - hp * 0.11), yb), (int(x + hp * 0.11), yb), (210, 215, 215), max(1, lw // 2))
        for s in (1, -1):
            hand = (x + s * hp * 0.13 - s * np.sin(ph) * hp * 0.12, gy - hp * 0.48)
            cv2.line(img, (int(x + s * hp * 0.11), int(sh_y + 2)), (int(hand[0]), int(hand[1])),
                     self.colors["torso"], max(1, lw - 1), cv2.LINE_AA)
        hr = max(2, int(hp * 0.075))
        hc = (int(x), int(sh_y - hr * 1.1))
        cv2.circle(img, hc, hr, self.colors["skin"], -1, cv2.LINE_AA)
        if self.colors.get("hat"):
            cv2.ellipse(img, (hc[0], hc[1] - hr // 3), (hr + 1, hr), 0, 180, 360, self.colors["hat"], -1, cv2.LINE_AA)
        box = clip_box((x - hp * 0.2, hc[1] - hr * 1.4, x + hp * 0.2, gy + 1), self.size, 0.4)
        return [Label(DetClass.PERSON.value, box)] if box else []


@dataclass
class Emitter:
    """Fire, smoke or dust rising from a ground point between t0 and t1 (labels from the rendered alpha)."""

    x: float
    ground_y: float
    scale: float
    t0: float
    t1: float
    layers: tuple[tuple[ParticleStyle, str], ...]  # (style, class name), drawn in order
    key: int
    size: tuple[int, int]
    depth: float = 0.0

    def __post_init__(self):
        self.depth = self.ground_y

    def draw(self, img: np.ndarray, t: float) -> list[Label]:
        labels: list[Label] = []
        x = self.x
        for i, (style, cls) in enumerate(self.layers):
            if t < self.t0 or t > self.t1 + style.life:
                continue
            col, alpha, ox, oy = particles_layer(style, t, self.t0, self.t1, self.scale, self.key * 31 + i)
            px, py = int(x + ox), int(self.ground_y + oy)
            composite(img, col, alpha, px, py)
            box = alpha_bbox(alpha, px, py, self.size, thr=0.2 if cls != DetClass.FIRE.value else 0.25)
            if box:
                labels.append(Label(cls, box))
        return labels


@dataclass
class Pile:
    """A debris pile that appears (grows over `grow_s`) at t0 and stays: a real crop or a painted heap."""

    layer: np.ndarray
    alpha: np.ndarray
    x: float
    ground_y: float
    t0: float
    size: tuple[int, int]
    grow_s: float = 2.5
    depth: float = 0.0

    def __post_init__(self):
        self.depth = self.ground_y

    def draw(self, img: np.ndarray, t: float) -> list[Label]:
        if t < self.t0:
            return []
        k = min(1.0, (t - self.t0) / self.grow_s)
        h, w = self.alpha.shape
        hh = max(2, int(h * k))
        alpha = self.alpha[h - hh:] * min(1.0, 0.3 + k)
        px, py = int(self.x - w / 2), int(self.ground_y - hh)
        composite(img, self.layer[h - hh:], alpha, px, py)
        box = alpha_bbox(alpha, px, py, self.size, thr=0.35)
        return [Label(DetClass.DEBRIS_PILE.value, box)] if box and k > 0.5 else []


def painted_pile(w: int, h: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A heap of rubble, bags and boards, painted."""
    img = np.zeros((h, w, 3), np.float32)
    tex = value_noise(h, w, rng, cell=max(3, w // 12), octaves=3)
    img[:] = np.stack([70 + 60 * tex, 80 + 60 * tex, 90 + 60 * tex], -1)
    a = np.zeros((h, w), np.float32)
    cv2.ellipse(a, (w // 2, h), (w // 2 - 1, h - 1), 0, 180, 360, 1.0, -1, cv2.LINE_AA)
    for _ in range(int(w * h / 60) + 6):
        cx, cy = int(rng.uniform(0.1, 0.9) * w), int(rng.uniform(0.2, 1.0) * h)
        if a[min(cy, h - 1), cx] < 0.5:
            continue
        c = [(230, 230, 235), (25, 25, 30), (160, 90, 40), (60, 110, 160), (120, 120, 125), (40, 70, 110)][
            rng.integers(6)]
        r = max(2, int(rng.uniform(0.03, 0.1) * w))
        pts = np.array([(cx + rng.integers(-r, r + 1), cy + rng.integers(-r, r + 1)) for _ in range(5)], np.int32)
        cv2.fillPoly(img, [cv2.convexHull(pts)], tuple(float(v) * rng.uniform(0.7, 1.1) for v in c), cv2.LINE_AA)
    img *= (0.75 + 0.35 * value_noise(h, w, rng, cell=max(2, w // 20), octaves=2))[..., None]
    a = cv2.GaussianBlur(a, (0, 0), 1.2)
    return img, a


def crop_pile(crop: np.ndarray, w: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A real debris crop resized to width `w`, with a feathered mask so it sits on the ground."""
    h = max(4, int(crop.shape[0] * w / max(1, crop.shape[1])))
    h = min(h, int(w * 0.9))
    layer = cv2.resize(crop, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32)
    return layer, feather_mask(h, w, rng, edge=0.35)
