"""The laboratory scene: wall, shelves and a bench; people with or without PPE, eating, smoking, a small fire."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from datasets.scenes.base import Episode, Label, Plan
from datasets.scenes.lab_actors import GLOVE_COLORS, Activity, LabPerson
from datasets.scenes.paint import ParticleStyle, composite, tint, value_noise
from datasets.scenes.site_actors import Emitter
from vigil.catalogue import DetClass

SMALL_FIRE = ParticleStyle(rate=60, life=0.7, radius=(9, 3), rise=60, spread=8, turbulence=3,
                           colors=((210, 245, 255), (70, 190, 255), (25, 100, 235), (30, 40, 120)), opacity=0.75)
LAB_SMOKE = ParticleStyle(rate=10, life=4.0, radius=(6, 30), rise=25, spread=4, wind=3, turbulence=4,
                          colors=((90, 90, 95), (140, 140, 145), (175, 175, 175)), opacity=0.3)
SKINS = ((90, 130, 185), (70, 105, 160), (50, 80, 120), (110, 150, 200), (40, 60, 95))
HAIRS = ((20, 20, 25), (30, 45, 70), (60, 90, 140), (150, 150, 155), (15, 25, 45))
SHIRTS = ((120, 60, 30), (40, 40, 150), (60, 120, 60), (130, 130, 135), (30, 30, 35), (40, 140, 200), (150, 90, 150))


def lab_background(size: tuple[int, int], rng: np.random.Generator, bench_y: int) -> np.ndarray:
    W, H = size
    wall = tint(value_noise(H, W, rng, cell=80, octaves=4), (175, 185, 180), (215, 225, 222))
    wall *= rng.uniform(0.8, 1.05)
    img = wall.astype(np.float32)
    shelf_y = int(H * rng.uniform(0.12, 0.22))
    for sy in (shelf_y, shelf_y + int(H * 0.17)):
        img[sy:sy + 4] = (120, 125, 130)
        x = int(rng.uniform(0, 20))
        while x < W - 10:
            w, h = int(rng.uniform(8, 22)), int(rng.uniform(18, 45))
            c = np.asarray([(40, 90, 150), (200, 200, 205), (60, 40, 30), (150, 120, 40), (30, 140, 60)][
                rng.integers(5)], np.float32) * rng.uniform(0.7, 1.1)
            img[sy - h:sy, x:x + w] = c
            img[sy - h:sy, x + 1:x + max(2, w // 4)] += 35
            img[sy - int(h * 0.6):sy - int(h * 0.3), x:x + w] = (230, 232, 235)
            x += w + int(rng.uniform(1, 18))
    if rng.random() < 0.6:  # a fume hood
        hx = int(rng.uniform(0, W - 180))
        img[int(H * 0.1):bench_y, hx:hx + 170] *= 0.75
        cv2.rectangle(img, (hx, int(H * 0.1)), (hx + 170, bench_y), (90, 95, 100), 4)
    top = tint(value_noise(H - bench_y, W, rng, cell=30, octaves=3), (35, 35, 38), (70, 72, 75))
    if rng.random() < 0.4:
        top = tint(value_noise(H - bench_y, W, rng, cell=30, octaves=3), (190, 195, 195), (230, 232, 232))
    img[bench_y:] = top
    front = bench_y + int((H - bench_y) * 0.3)
    img[front:] = tint(value_noise(H - front, W, rng, cell=40, octaves=2), (120, 130, 135), (160, 165, 170))
    for dx in range(0, W, int(W / rng.integers(3, 6))):
        cv2.line(img, (dx, front), (dx, H), (80, 85, 90), 2)
        cv2.line(img, (dx + 20, front + 15), (dx + 45, front + 15), (60, 60, 60), 3)
    cv2.line(img, (0, front), (W, front), (50, 50, 55), 2)
    return img


@dataclass
class Glassware:
    """Beakers and bottles standing on the bench (drawn in front of people: they occlude hands)."""

    items: list
    depth: float = 1e9

    def draw(self, img: np.ndarray, t: float) -> list[Label]:
        for x, y, w, h, col in self.items:
            layer = np.empty((h, w, 3), np.float32)
            layer[:] = (225, 230, 228)
            a = np.full((h, w), 0.35, np.float32)
            a[h // 2:] = 0.75
            layer[h // 2:] = col
            layer[:, 1:max(2, w // 5)] = 250
            composite(img, layer, a, x, y - h)
        return []


def bench_glassware(rng: np.random.Generator, W: int, bench_y: int) -> Glassware:
    """Two to five beakers and bottles at random places along the bench."""
    items = []
    for _ in range(int(rng.integers(2, 6))):
        w, h = int(rng.uniform(14, 30)), int(rng.uniform(20, 55))
        items.append((int(rng.uniform(0, W - w)), bench_y + int(rng.uniform(4, 20)), w, h,
                      tuple(float(v) for v in rng.uniform(40, 220, 3))))
    return Glassware(items)


def build_lab(seed: int, duration: float, size: tuple[int, int], datasets_dir: Path | None) -> Plan:
    rng = np.random.default_rng(seed)
    W, H = size
    bench_y = int(H * rng.uniform(0.64, 0.74))
    plan = Plan(lab_background(size, rng, bench_y))
    plan.foreground.append(bench_glassware(rng, W, bench_y))
    _people(plan, rng, duration, size, bench_y, seed)
    _fires(plan, rng, duration, size, bench_y, seed)
    return plan


def _people(plan, rng, duration, size, bench_y, seed) -> None:
    W, H = size
    # each lane has its own half of the bench and its own door, so two people never overlap or cross
    lane_stations = ([W * 0.18, W * 0.38], [W * 0.64, W * 0.84])
    taken: list[Activity] = []
    for lane in range(2):
        stations = lane_stations[lane]
        t = rng.uniform(0, 10) + lane * rng.uniform(5, 25)
        k = 0
        while t < duration - 5:
            stay = rng.uniform(15, 40)
            st = stations[int(rng.integers(len(stations)))] + rng.uniform(-10, 10)
            side = -80.0 if lane == 0 else W + 80.0
            walk = abs(st - side) / rng.uniform(70, 110)
            keys = [(t, side), (t + walk, st), (t + walk + stay, st), (t + 2 * walk + stay, side)]
            t1 = t + 2 * walk + stay
            S = (H * rng.uniform(0.5, 0.62)) * (1.0 if lane == 0 else 0.85)
            ppe = {"coat": rng.random() < 0.6, "goggles": rng.random() < 0.55, "gloves": rng.random() < 0.55}
            acts = [a for a in _activities(rng, t + walk + 2, t + walk + stay - 2)
                    if all(a.t0 > b.t1 + 66 or a.t1 < b.t0 - 66 for b in taken)]  # apart by > cooldown
            taken.extend(acts)
            look = {"skin": SKINS[rng.integers(len(SKINS))], "hair": HAIRS[rng.integers(len(HAIRS))],
                    "shirt": SHIRTS[rng.integers(len(SHIRTS))], "glove": GLOVE_COLORS[rng.integers(len(GLOVE_COLORS))],
                    "goggle_frame": (60, 60, 60) if rng.random() < 0.5 else (170, 120, 40)}
            person = LabPerson(keys, bench_y - lane * 6, S, t, t1, look, size=size, key=seed * 1000 + lane * 100 + k,
                               activities=acts, **ppe)
            plan.actors.append(person)
            # the person is in view (at least ~60% of the body) from mid-walk-in to mid-walk-out
            vis0, vis1 = t + walk * 0.5, t1 - walk * 0.5
            for item, rule in (("coat", "lab_no_coat"), ("goggles", "lab_no_goggles"), ("gloves", "lab_no_gloves")):
                if not ppe[item]:
                    plan.episodes.append(Episode(rule, vis0, vis1, subject=person.key))
            for a in acts:
                plan.episodes.append(Episode("lab_eating_smoking", a.t0 + 0.5, a.t1 - 0.5))
            t = t1 + rng.uniform(3, 20)
            k += 1


def _activities(rng, t0, t1) -> list[Activity]:
    if t1 - t0 < 8 or rng.random() > 0.4:
        return []
    kind = ("drink", "eat", "smoke")[int(rng.integers(3))]
    length = rng.uniform(5, min(12, t1 - t0))
    start = rng.uniform(t0, t1 - length)
    item = tuple(float(v) for v in ((40, 40, 200), (230, 230, 230), (60, 140, 200), (50, 90, 150))[rng.integers(4)])
    return [Activity(kind, start, start + length, item)]


def _fires(plan, rng, duration, size, bench_y, seed) -> None:
    W, H = size
    if duration < 20 or rng.random() > 0.5:
        return
    t = rng.uniform(8, max(9, duration - 15))
    length = rng.uniform(5, 12)
    layers = ((LAB_SMOKE, DetClass.SMOKE.value), (SMALL_FIRE, DetClass.FIRE.value))
    plan.actors.append(Emitter(rng.uniform(0.1, 0.9) * W, bench_y + 8, H / 360 * rng.uniform(0.7, 1.2), t,
                               t + length, layers, seed * 7 + 3, size))
    plan.actors[-1].depth = 1e8
    plan.episodes.append(Episode("lab_fire", t + 0.3, t + length + 1.5))
