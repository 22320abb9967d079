"""The construction-site / open-land scene: textured ground in perspective, traffic, workers and violations."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from datasets.scenes.assets import CropBank
from datasets.scenes.base import Episode, Plan
from datasets.scenes.paint import tint, value_noise
from datasets.scenes.render import Camera
from datasets.scenes.site_actors import (DUST_STYLE, FIRE_STYLE, LIGHT_SMOKE, SMOKE_STYLE, Emitter, Pile, Vehicle,
                                         Worker, crop_pile, painted_pile, truck_sprite)
from vigil.catalogue import DetClass

TRUCK_COLORS = ((40, 170, 230), (30, 120, 220), (200, 200, 205), (50, 50, 170), (150, 90, 40), (60, 140, 60))


class Perspective:
    """Ground plane seen from an elevated camera: horizon row and the pixel scale of an object at a row."""

    def __init__(self, size: tuple[int, int], horizon: float):
        self.W, self.H = size
        self.horizon = horizon * self.H

    def scale(self, ground_y: float) -> float:
        return max(0.05, (ground_y - self.horizon) / (self.H - self.horizon))

    def person_h(self, ground_y: float) -> float:
        return 0.16 * self.W * self.scale(ground_y)


def site_background(size: tuple[int, int], rng: np.random.Generator, persp: Perspective) -> np.ndarray:
    W, H = size
    hy = int(persp.horizon)
    img = np.zeros((H, W, 3), np.float32)
    sky_top = np.array([200, 170, 140], np.float32) * rng.uniform(0.85, 1.1)
    sky_bot = np.array([225, 215, 205], np.float32)
    ramp = np.linspace(0, 1, hy + 1, dtype=np.float32)[:, None, None]
    img[:hy + 1] = sky_top + (sky_bot - sky_top) * ramp
    clouds = value_noise(hy + 1, W, rng, cell=64, octaves=4)
    img[:hy + 1] += (np.clip(clouds - 0.5, 0, 1) * 60)[..., None]
    # ground texture in plane coordinates, warped into perspective
    G = 768
    base = value_noise(G, G, rng, cell=96, octaves=5)
    fine = value_noise(G, G, rng, cell=6, octaves=2)
    dirt = tint(base, (55, 80, 105), (120, 150, 175)) * (0.85 + 0.3 * fine)[..., None]
    grass = np.clip((value_noise(G, G, rng, cell=128, octaves=3) - 0.62) * 4, 0, 1)
    dirt = dirt * (1 - grass[..., None]) + grass[..., None] * tint(fine, (40, 85, 60), (70, 120, 90))
    gravel = rng.random((G, G)) < 0.03
    dirt[gravel] = dirt[gravel] * 0.55 + rng.uniform(60, 160, (int(gravel.sum()), 1))
    road0 = int(G * rng.uniform(0.42, 0.55))
    road1 = road0 + int(G * 0.12)
    dirt[road0:road1] = dirt[road0:road1] * 0.5 + np.float32(rng.uniform(95, 130))
    for _ in range(int(rng.integers(2, 5))):  # tyre tracks across the plane
        yy = rng.uniform(0.1, 0.95) * G
        xs = np.arange(G)
        ys = (yy + 30 * np.sin(xs / rng.uniform(80, 200) + rng.uniform(0, 6))).astype(np.int32)
        for off in (0, 18):
            pts = np.stack([xs, ys + off], 1).reshape(-1, 1, 2)
            cv2.polylines(dirt, [pts], False, (50, 60, 70), 4, cv2.LINE_AA)
    src = np.float32([[0, 0], [G, 0], [G, G], [0, G]])
    dst = np.float32([[-1.6 * W, hy], [2.6 * W, hy], [W * 1.05, H], [-0.05 * W, H]])
    M = cv2.getPerspectiveTransform(src, dst)
    warped = cv2.warpPerspective(dirt, M, (W, H), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REFLECT)
    img[hy:] = warped[hy:]
    _treeline(img, rng, hy)
    _props(img, rng, persp)
    return img


def road_rows(size: tuple[int, int], persp: Perspective, rng: np.random.Generator) -> list[float]:
    """Ground rows (image y) where vehicles drive."""
    H = size[1]
    return [persp.horizon + (H - persp.horizon) * f for f in (rng.uniform(0.42, 0.5), rng.uniform(0.62, 0.72))]


def _treeline(img: np.ndarray, rng: np.random.Generator, hy: int) -> None:
    W = img.shape[1]
    prof = value_noise(1, W, rng, cell=24, octaves=3)[0]
    tex = value_noise(60, W, rng, cell=4, octaves=2)
    for x in range(W):
        top = hy - int(6 + 22 * prof[x])
        img[top:hy + 2, x] = np.array([45, 75, 55], np.float32) * (0.7 + 0.6 * tex[: hy + 2 - top, x, None])
    for _ in range(int(rng.integers(1, 4))):  # distant buildings
        x = int(rng.uniform(0, W - 60))
        w, h = int(rng.uniform(30, 90)), int(rng.uniform(20, 45))
        img[hy - h:hy + 1, x:x + w] = np.float32(rng.uniform(140, 190))
        for wy in range(hy - h + 4, hy - 3, 7):
            img[wy:wy + 3, x + 3:x + w - 3:6] = 80


def _props(img: np.ndarray, rng: np.random.Generator, persp: Perspective) -> None:
    """Static clutter: a container, a cabin, material stacks (part of the background)."""
    W, H = persp.W, persp.H
    for _ in range(int(rng.integers(1, 4))):
        gy = persp.horizon + (H - persp.horizon) * rng.uniform(0.05, 0.3)
        s = persp.scale(gy)
        w, h = int(rng.uniform(120, 260) * s), int(rng.uniform(60, 110) * s)
        x = int(rng.uniform(0, W - w))
        color = np.asarray(TRUCK_COLORS[rng.integers(len(TRUCK_COLORS))], np.float32) * 0.8
        y0 = int(gy - h)
        img[y0:int(gy), x:x + w] = color
        for cx in range(x, x + w, max(2, int(6 * s) + 2)):
            img[y0:int(gy), cx:cx + 1] *= 0.7
        img[y0:y0 + max(1, h // 8), x:x + w] *= 1.2


def _crossing(rng, size, lane_y, persp, t_start, speed, load, cls, key):
    W = size[0]
    length = int(0.62 * W * persp.scale(lane_y))
    spr, alpha = truck_sprite(length, TRUCK_COLORS[rng.integers(len(TRUCK_COLORS))], load, rng)
    left = rng.random() < 0.5
    if left:
        spr, alpha = spr[:, ::-1].copy(), alpha[:, ::-1].copy()
    x_a, x_b = (-length, W + length) if not left else (W + length, -length)
    dur = (W + 2 * length) / speed
    return Vehicle(spr, alpha, [(t_start, x_a), (t_start + dur, x_b)], lane_y, t_start, t_start + dur, cls, size), dur


def crop_stage(size: tuple[int, int], rng: np.random.Generator) -> tuple[Perspective, np.ndarray, Camera,
                                                                          list[float]]:
    """A fresh site for the second looks' crops to be drawn on: its perspective, background, camera and road
    lanes (drawn from `rng` in this order)."""
    persp = Perspective(size, rng.uniform(0.26, 0.34))
    background = site_background(size, rng, persp)
    camera = Camera(size, rng, outdoor=True)
    return persp, background, camera, road_rows(size, persp, rng)


def build_site(seed: int, duration: float, size: tuple[int, int], datasets_dir: Path | None) -> Plan:
    rng = np.random.default_rng(seed)
    persp = Perspective(size, rng.uniform(0.26, 0.34))
    W, H = size
    plan = Plan(site_background(size, rng, persp))
    lanes = road_rows(size, persp, rng)
    _workers(plan, rng, duration, size, persp)
    _traffic(plan, rng, duration, size, persp, lanes)
    kinds = ["burning", "dust", "uncovered", "dumping", "burning"]
    rng.shuffle(kinds)
    t = rng.uniform(4, 12)
    piles = CropBank(datasets_dir, DetClass.DEBRIS_PILE.class_id) if "dumping" in kinds else None
    last_end: dict[str, float] = {}
    for i, kind in enumerate(kinds):
        # two episodes of one rule stay apart by more than the rule's cooldown (60 s) plus the smoke's tail
        t = max(t, last_end.get(kind, -1e9) + 66.0)
        if t > duration - 8:
            break
        end = _episode(plan, kind, rng, t, duration, size, persp, lanes, piles, seed * 100 + i)
        last_end[kind] = end
        t = max(t, end) + rng.uniform(4, 12)
    return plan


def _episode(plan, kind, rng, t, duration, size, persp, lanes, piles, key) -> float:
    """Add one violation episode starting at t; returns when it ends (or t when it does not fit)."""
    W, H = size
    if kind == "burning":
        length = rng.uniform(9, 22)
        gy = persp.horizon + (H - persp.horizon) * rng.uniform(0.35, 0.95)
        s = persp.scale(gy) * H / 360
        smoke_only = rng.random() < 0.25
        layers = ((SMOKE_STYLE if rng.random() < 0.6 else LIGHT_SMOKE, DetClass.SMOKE.value),)
        if not smoke_only:
            layers = layers + ((FIRE_STYLE, DetClass.FIRE.value),)
        plan.actors.append(Emitter(rng.uniform(0.1, 0.9) * W, gy, s * rng.uniform(1.2, 2.2), t, t + length,
                                   layers, key, size))
        plan.episodes.append(Episode("open_burning", t + 0.5, t + length + 3.5))
        return t + length + 6
    if kind == "dust":
        length = rng.uniform(10, 20)
        gy = persp.horizon + (H - persp.horizon) * rng.uniform(0.35, 0.9)
        s = persp.scale(gy) * H / 360
        plan.actors.append(Emitter(rng.uniform(0.15, 0.85) * W, gy, s * rng.uniform(1.2, 2.0), t, t + length,
                                   ((DUST_STYLE, DetClass.DUST.value),), key, size))
        plan.episodes.append(Episode("dust", t + 1.0, t + length + 2.0))
        return t + length + 5
    if kind == "uncovered":
        lane = lanes[int(rng.integers(len(lanes)))]
        v, dur = _crossing(rng, size, lane, persp, t, rng.uniform(45, 80), "uncovered",
                           DetClass.DUMP_TRUCK_UNCOVERED.value, key)
        plan.actors.append(v)
        frac = v.alpha.shape[1] / (W + 2 * v.alpha.shape[1])
        plan.episodes.append(Episode("uncovered_truck", t + dur * frac * 0.7, t + dur * (1 - frac * 0.7)))
        return t + dur
    # dumping: a truck drives in, stops, a pile appears and stays (needs a baseline and min_s of persistence)
    t = max(t, 22.0)
    if duration - t < 50:
        return t - 20
    lane = lanes[0]
    length = int(0.62 * W * persp.scale(lane))
    spr, alpha = truck_sprite(length, TRUCK_COLORS[rng.integers(len(TRUCK_COLORS))], "covered", rng)
    x_stop = rng.uniform(0.3, 0.7) * W
    keys = [(t, -length), (t + 5, x_stop), (t + 17, x_stop), (t + 24, W + length)]
    plan.actors.append(Vehicle(spr, alpha, keys, lane, t, t + 24, DetClass.DUMP_TRUCK.value, size))
    pile_y = lane + (H - lane) * rng.uniform(0.25, 0.6)
    pw = int(0.3 * W * persp.scale(pile_y) * rng.uniform(0.8, 1.3))
    crop = piles.pick(rng) if piles is not None and rng.random() < 0.7 else None
    layer, a = crop_pile(crop, pw, rng) if crop is not None else painted_pile(pw, int(pw * 0.45), rng)
    appear = t + 9
    plan.actors.append(Pile(layer, a, x_stop - length * 0.2, pile_y, appear, size))
    plan.episodes.append(Episode("dumping", appear + 1.0, duration))
    return t + 24


def _workers(plan, rng, duration, size, persp) -> None:
    W, H = size
    for i in range(int(rng.integers(1, 4))):
        t0 = rng.uniform(0, duration * 0.5)
        t1 = min(duration, t0 + rng.uniform(20, 80))
        keys_x, keys_y, t = [], [], t0
        x, y = rng.uniform(0, W), persp.horizon + (H - persp.horizon) * rng.uniform(0.2, 0.95)
        while t <= t1:
            keys_x.append((t, x))
            keys_y.append((t, y))
            t += rng.uniform(3, 9)
            if rng.random() < 0.3:  # stand still a while
                keys_x.append((t, x))
                keys_y.append((t, y))
                t += rng.uniform(2, 6)
            x = float(np.clip(x + rng.uniform(-160, 160), -20, W + 20))
            y = float(np.clip(y + rng.uniform(-30, 30), persp.horizon + 20, H - 5))
        vest = rng.random() < 0.7
        colors = {"legs": (60, 50, 45) if rng.random() < 0.5 else (110, 80, 40),
                  "torso": (40, 200, 240) if vest else tuple(float(v) for v in rng.uniform(40, 200, 3)),
                  "stripe": vest, "skin": (90, 130, 180) if rng.random() < 0.5 else (60, 95, 140),
                  "hat": (230, 230, 235) if rng.random() < 0.5 else ((20, 200, 240) if rng.random() < 0.7 else None)}
        plan.actors.append(Worker(keys_x, keys_y, t0, t1, persp.person_h, colors, size))


def _traffic(plan, rng, duration, size, persp, lanes) -> None:
    """Covered trucks and empty trucks passing (not violations)."""
    t = rng.uniform(0, 20)
    while t < duration:
        lane = lanes[int(rng.integers(len(lanes)))]
        load = "covered" if rng.random() < 0.6 else "empty"
        v, dur = _crossing(rng, size, lane, persp, t, rng.uniform(50, 90), load, DetClass.DUMP_TRUCK.value, 0)
        plan.actors.append(v)
        t += dur + rng.uniform(15, 45)
