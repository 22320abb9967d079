"""Painting primitives for the synthetic scenes: noise textures, alpha compositing, sprites, particles."""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


def value_noise(h: int, w: int, rng: np.random.Generator, *, cell: int = 32, octaves: int = 4,
                persistence: float = 0.55) -> np.ndarray:
    """Fractal value noise in [0, 1], float32, shape (h, w)."""
    out = np.zeros((h, w), np.float32)
    amp, total = 1.0, 0.0
    for _ in range(octaves):
        gh, gw = max(2, h // cell + 2), max(2, w // cell + 2)
        grid = rng.random((gh, gw), dtype=np.float32)
        out += amp * cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC)
        total += amp
        amp *= persistence
        cell = max(1, cell // 2)
    out /= total
    lo, hi = float(out.min()), float(out.max())
    return (out - lo) / max(hi - lo, 1e-6)


def tint(noise: np.ndarray, dark: tuple[float, float, float], light: tuple[float, float, float]) -> np.ndarray:
    """Map a [0,1] noise map to a BGR float image between two colours."""
    d = np.asarray(dark, np.float32)
    li = np.asarray(light, np.float32)
    return d + noise[..., None] * (li - d)


def composite(img: np.ndarray, layer: np.ndarray, alpha: np.ndarray, x: int, y: int) -> None:
    """Alpha-blend `layer` (h,w,3) with `alpha` (h,w) in [0,1] onto float `img` at top-left (x, y), clipped."""
    h, w = alpha.shape[:2]
    H, W = img.shape[:2]
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, W), min(y + h, H)
    if x0 >= x1 or y0 >= y1:
        return
    a = alpha[y0 - y:y1 - y, x0 - x:x1 - x, None]
    roi = img[y0:y1, x0:x1]
    roi *= 1.0 - a
    roi += a * layer[y0 - y:y1 - y, x0 - x:x1 - x]


def alpha_bbox(alpha: np.ndarray, x: int, y: int, size: tuple[int, int], thr: float = 0.2
               ) -> tuple[float, float, float, float] | None:
    """Box (x1,y1,x2,y2) in frame pixels of the part of a placed alpha mask above `thr`, clipped to the frame."""
    ys, xs = np.nonzero(alpha > thr)
    if len(xs) == 0:
        return None
    W, H = size
    x1, y1 = max(0, x + int(xs.min())), max(0, y + int(ys.min()))
    x2, y2 = min(W, x + int(xs.max()) + 1), min(H, y + int(ys.max()) + 1)
    if x2 - x1 < 2 or y2 - y1 < 2:
        return None
    return float(x1), float(y1), float(x2), float(y2)


def feather_mask(h: int, w: int, rng: np.random.Generator, *, edge: float = 0.25) -> np.ndarray:
    """A soft, irregular elliptical mask (h, w) in [0,1] for pasting crops into a scene."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    d = ((xx - w / 2) / (w / 2)) ** 2 + ((yy - h / 2) / (h / 2)) ** 2
    wobble = value_noise(h, w, rng, cell=max(4, min(h, w) // 3), octaves=2) * 0.5
    m = np.clip((1.0 + wobble - np.sqrt(d)) / edge, 0, 1)
    return m.astype(np.float32)


def blob(radius: float) -> np.ndarray:
    """A gaussian blob sprite of the given radius (float32, peak 1)."""
    r = max(1, int(np.ceil(radius * 2)))
    yy, xx = np.mgrid[-r:r + 1, -r:r + 1].astype(np.float32)
    return np.exp(-(xx * xx + yy * yy) / (2 * (radius * 0.6) ** 2)).astype(np.float32)


_BLOBS: dict[int, np.ndarray] = {}


def cached_blob(radius: float) -> np.ndarray:
    key = max(1, int(round(radius)))
    if key not in _BLOBS:
        _BLOBS[key] = blob(key)
    return _BLOBS[key]


@dataclass(frozen=True)
class ParticleStyle:
    """How one particle system looks and moves; every particle is a function of time (no state)."""

    rate: float  # particles per second
    life: float  # seconds
    radius: tuple[float, float]  # start, end radius (in units of `scale` pixels)
    rise: float  # upward speed (scale units / s)
    spread: float  # horizontal spread speed (scale units / s)
    colors: tuple[tuple[float, float, float], ...]  # BGR from birth to death
    opacity: float
    wind: float = 0.0  # horizontal drift (scale units / s)
    turbulence: float = 0.3


def particles_layer(style: ParticleStyle, t: float, t_start: float, t_end: float, scale: float,
                    key: int, max_extent: int = 400) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Render a particle system emitted from (0,0) between t_start and t_end, seen at time t.

    Returns (colour (h,w,3), alpha (h,w), ox, oy): the layer's top-left offset relative to the emitter.
    Deterministic in (key, particle index), temporally coherent.
    """
    ext = int(min(max_extent, max(8, scale * (style.rise * style.life + style.radius[1] * 2 + 4))))
    half_w = int(min(max_extent, ext * 0.8 + abs(style.wind) * style.life * scale))
    h, w = ext + int(style.radius[1] * scale * 2) + 4, 2 * half_w + 1
    col = np.zeros((h, w, 3), np.float32)
    acc = np.zeros((h, w), np.float32)
    oy, ox = -(h - int(style.radius[1] * scale) - 2), -half_w
    first = int(np.floor(max(t_start, t - style.life) * style.rate))
    last = int(np.floor(min(t, t_end) * style.rate))
    colors = np.asarray(style.colors, np.float32)
    for j in range(first, last + 1):
        prng = np.random.default_rng((key, j))
        born = j / style.rate + prng.random() / style.rate
        age = t - born
        if age < 0 or age > style.life or born < t_start or born > t_end:
            continue
        u = age / style.life
        p = prng.standard_normal(4)
        px = (p[0] * style.spread * age + style.wind * age + style.turbulence * np.sin(3 * age + p[1] * 6)) * scale
        py = -(style.rise * age * (0.7 + 0.3 * p[2] ** 2)) * scale
        rad = (style.radius[0] + (style.radius[1] - style.radius[0]) * u) * scale * (0.8 + 0.2 * abs(p[3]))
        ci = u * (len(colors) - 1)
        c = colors[int(ci)] + (colors[min(int(ci) + 1, len(colors) - 1)] - colors[int(ci)]) * (ci - int(ci))
        a = style.opacity * (1 - u) ** 0.7 * min(1.0, age * 6 + 0.2)
        spr = cached_blob(max(1.0, rad)) * a
        sh = spr.shape[0] // 2
        cx, cy = int(px - ox), int(py - oy)
        y0, x0 = cy - sh, cx - sh
        ys, xs = max(0, y0), max(0, x0)
        ye, xe = min(h, y0 + spr.shape[0]), min(w, x0 + spr.shape[1])
        if ys >= ye or xs >= xe:
            continue
        s = spr[ys - y0:ye - y0, xs - x0:xe - x0]
        col[ys:ye, xs:xe] += s[..., None] * c
        acc[ys:ye, xs:xe] += s
    alpha = np.clip(acc, 0, 1)
    col = col / np.maximum(acc, 1e-6)[..., None]
    return col, alpha, ox, oy


def vertical_shade(h: int, w: int, top: float, bottom: float) -> np.ndarray:
    """A (h, w) multiplicative shading ramp from `top` to `bottom`."""
    return np.repeat(np.linspace(top, bottom, h, dtype=np.float32)[:, None], w, axis=1)
