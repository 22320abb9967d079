"""Actors of the lab scenes: a person behind the bench with or without coat, goggles, gloves; eating, smoking."""
from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from datasets.scenes.base import Label, clip_box, piecewise
from datasets.scenes.paint import ParticleStyle, composite, particles_layer
from vigil.catalogue import DetClass

COAT = (226, 230, 232)
GLOVE_COLORS = ((205, 130, 50), (170, 70, 130), (225, 228, 232), (60, 60, 60))
CIG_SMOKE = ParticleStyle(rate=10, life=2.5, radius=(2, 9), rise=30, spread=3, wind=4, turbulence=3,
                          colors=((200, 200, 200), (215, 215, 215)), opacity=0.35)


@dataclass(frozen=True)
class Activity:
    kind: str  # "drink", "eat" or "smoke"
    t0: float
    t1: float
    item: tuple[float, float, float]  # BGR of the cup, can or food


@dataclass
class LabPerson:
    """A person standing and working behind the bench (front view), walking in and out along x keys."""

    keys_x: list[tuple[float, float]]
    bench_y: float
    scale: float  # pixel height from the bench top to the top of the head
    t0: float
    t1: float
    look: dict  # skin, hair, shirt, glove colours
    coat: bool
    goggles: bool
    gloves: bool
    size: tuple[int, int]
    key: int
    activities: list[Activity] = field(default_factory=list)
    depth: float = 0.0

    def __post_init__(self):
        self.depth = self.bench_y - 1 + self.scale * 1e-3

    def _activity(self, t: float) -> Activity | None:
        for a in self.activities:
            if a.t0 <= t <= a.t1:
                return a
        return None

    def draw(self, img: np.ndarray, t: float) -> list[Label]:
        if not (self.t0 <= t <= self.t1):
            return []
        S = self.scale
        x = piecewise(t, self.keys_x)
        bob = np.sin(t * 6) * S * 0.01 if abs(piecewise(t + 0.1, self.keys_x) - x) > 0.1 else 0.0
        sh_y = self.bench_y - S * 0.62 + bob
        head_c = (x, sh_y - S * 0.21)
        hr = S * 0.115
        body_col = COAT if self.coat else self.look["shirt"]
        torso = np.array([(x - S * 0.25, sh_y + S * 0.03), (x - S * 0.17, sh_y - S * 0.02),
                          (x + S * 0.17, sh_y - S * 0.02), (x + S * 0.25, sh_y + S * 0.03),
                          (x + S * 0.22, self.bench_y + 2), (x - S * 0.22, self.bench_y + 2)], np.int32)
        _fill(img, torso, body_col, S)
        if self.coat:  # lapels show the shirt underneath, buttons, a fold
            v = np.array([(x - S * 0.07, sh_y - S * 0.02), (x + S * 0.07, sh_y - S * 0.02), (x, sh_y + S * 0.22)],
                         np.int32)
            cv2.fillPoly(img, [v], self.look["shirt"], cv2.LINE_AA)
            for k in range(3):
                cv2.circle(img, (int(x), int(sh_y + S * (0.28 + 0.1 * k))), max(1, int(S * 0.012)), (150, 150, 150),
                           -1)
            cv2.line(img, (int(x - S * 0.12), int(sh_y + S * 0.1)), (int(x - S * 0.14), int(self.bench_y)),
                     (185, 188, 190), max(1, int(S * 0.01)), cv2.LINE_AA)
        cv2.rectangle(img, (int(x - S * 0.04), int(head_c[1] + hr * 0.7)), (int(x + S * 0.04), int(sh_y)),
                      self.look["skin"], -1)
        labels = [self._head(img, head_c, hr, t)]
        act = self._activity(t)
        hands = self._arms(img, x, sh_y, S, t, body_col, act, head_c, hr)
        labels = [lb for lb in labels if lb]
        top = head_c[1] - hr * 1.15
        pbox = clip_box((x - S * 0.3, top, x + S * 0.3, self.bench_y), self.size, 0.4)
        if pbox is None:
            return []
        out = [Label(DetClass.PERSON.value, pbox)]
        if self.coat:
            cbox = clip_box((x - S * 0.28, sh_y - S * 0.03, x + S * 0.28, self.bench_y), self.size, 0.4)
            out += [Label(DetClass.LAB_COAT.value, cbox)] if cbox else []
        out += labels
        if self.gloves:
            for hx, hy in hands:
                gb = clip_box((hx - S * 0.06, hy - S * 0.06, hx + S * 0.06, hy + S * 0.06), self.size, 0.5)
                out += [Label(DetClass.GLOVES.value, gb)] if gb else []
        if act is not None:
            out += self._activity_label(act, hands, head_c, hr)
            if act.kind == "smoke":
                col, alpha, ox, oy = particles_layer(CIG_SMOKE, t, act.t0, act.t1, S / 100, self.key)
                composite(img, col, alpha, int(head_c[0] + hr * 0.9 + ox), int(head_c[1] + hr * 0.5 + oy))
        return out

    def _head(self, img, c, hr, t) -> Label | None:
        cx, cy = int(c[0]), int(c[1])
        cv2.ellipse(img, (cx, cy), (int(hr * 0.85), int(hr)), 0, 0, 360, self.look["skin"], -1, cv2.LINE_AA)
        cv2.ellipse(img, (cx, cy - int(hr * 0.25)), (int(hr * 0.92), int(hr * 0.85)), 0, 180, 360,
                    self.look["hair"], -1, cv2.LINE_AA)
        ey = cy + int(hr * 0.05)
        for s in (-1, 1):
            cv2.circle(img, (cx + s * int(hr * 0.35), ey), max(1, int(hr * 0.09)), (40, 35, 30), -1, cv2.LINE_AA)
        cv2.line(img, (cx - int(hr * 0.25), cy + int(hr * 0.55)), (cx + int(hr * 0.25), cy + int(hr * 0.55)),
                 (70, 70, 120), max(1, int(hr * 0.08)), cv2.LINE_AA)
        if not self.goggles:
            return None
        x1, y1, x2, y2 = cx - hr * 0.82, ey - hr * 0.3, cx + hr * 0.82, ey + hr * 0.3
        gw, gh = max(1, int(x2 - x1)), max(1, int(y2 - y1))
        lens = np.empty((gh, gw, 3), np.float32)
        lens[:] = (230, 215, 190)
        composite(img, lens, np.full((gh, gw), 0.45, np.float32), int(x1), int(y1))
        cv2.rectangle(img, (int(x1), int(y1)), (int(x2), int(y2)), self.look["goggle_frame"], max(1, int(hr * 0.1)),
                      cv2.LINE_AA)
        cv2.line(img, (int(x1), ey), (int(cx - hr * 0.9), ey - 1), (40, 40, 40), max(1, int(hr * 0.08)))
        cv2.line(img, (int(x2), ey), (int(cx + hr * 0.9), ey - 1), (40, 40, 40), max(1, int(hr * 0.08)))
        box = clip_box((x1 - 2, y1 - 2, x2 + 2, y2 + 2), self.size, 0.5)
        return Label(DetClass.GOGGLES.value, box) if box else None

    def _arms(self, img, x, sh_y, S, t, sleeve, act, head_c, hr) -> list[tuple[float, float]]:
        hands = []
        glove = self.look["glove"] if self.gloves else self.look["skin"]
        for s in (-1, 1):
            shoulder = (x + s * S * 0.21, sh_y + S * 0.05)
            if act is not None and s == 1:
                u = min(1.0, (t - act.t0) / 0.8, (act.t1 - t) / 0.8)
                hand = (x + S * 0.25 * (1 - u) + S * 0.12 * u,
                        self.bench_y - S * 0.05 + (head_c[1] + hr * 0.9 - self.bench_y + S * 0.05) * u)
            else:
                work = np.sin(t * 2.0 + s + self.key) * S * 0.04
                hand = (x + s * S * 0.22 + work, self.bench_y - S * 0.05 + abs(work) * 0.5)
            elbow = (x + s * S * 0.3, (shoulder[1] + hand[1]) / 2 + S * 0.08)
            lw = max(2, int(S * 0.09))
            cv2.line(img, _i(shoulder), _i(elbow), sleeve, lw, cv2.LINE_AA)
            cv2.line(img, _i(elbow), _i(hand), sleeve, lw, cv2.LINE_AA)
            cv2.ellipse(img, _i(hand), (max(2, int(S * 0.045)), max(2, int(S * 0.055))), 0, 0, 360, glove, -1,
                        cv2.LINE_AA)
            hands.append(hand)
        if act is not None:
            self._item(img, act, hands[1], S)
        return hands

    def _item(self, img, act, hand, S) -> None:
        hx, hy = _i(hand)
        if act.kind == "drink":
            cv2.rectangle(img, (hx - int(S * 0.035), hy - int(S * 0.1)), (hx + int(S * 0.035), hy + int(S * 0.03)),
                          act.item, -1)
        elif act.kind == "eat":
            cv2.ellipse(img, (hx, hy - int(S * 0.04)), (int(S * 0.06), int(S * 0.035)), -20, 0, 360, act.item, -1,
                        cv2.LINE_AA)
        else:
            tip = (hx + int(S * 0.03), hy - int(S * 0.03))
            cv2.line(img, (hx - int(S * 0.04), hy - int(S * 0.01)), tip, (235, 235, 240), max(1, int(S * 0.015)),
                     cv2.LINE_AA)
            cv2.circle(img, tip, max(1, int(S * 0.01)), (40, 110, 240), -1)

    def _activity_label(self, act, hands, head_c, hr) -> list[Label]:
        hx, hy = hands[1]
        x1 = min(hx - self.scale * 0.07, head_c[0] - hr * 0.5)
        x2 = max(hx + self.scale * 0.07, head_c[0] + hr * 0.5)
        y1 = min(hy - self.scale * 0.1, head_c[1])
        y2 = max(hy + self.scale * 0.06, head_c[1] + hr)
        box = clip_box((x1, y1, x2, y2), self.size, 0.5)
        cls = DetClass.SMOKING.value if act.kind == "smoke" else DetClass.EATING_DRINKING.value
        return [Label(cls, box)] if box and hy < head_c[1] + hr * 2.5 else []


def _i(p) -> tuple[int, int]:
    return int(p[0]), int(p[1])


def _fill(img: np.ndarray, pts: np.ndarray, color, S: float) -> None:
    """Fill a polygon with a soft left-to-right shading (cloth lit from one side)."""
    x0, y0, w, h = cv2.boundingRect(pts)
    H, W = img.shape[:2]
    x0c, y0c, x1c, y1c = max(0, x0), max(0, y0), min(W, x0 + w), min(H, y0 + h)
    if x0c >= x1c or y0c >= y1c:
        return
    m = np.zeros((y1c - y0c, x1c - x0c), np.uint8)
    cv2.fillPoly(m, [pts - np.array([x0c, y0c], np.int32)], 255, cv2.LINE_AA)
    ramp = np.linspace(1.08, 0.8, x1c - x0c, dtype=np.float32)[None, :, None]
    layer = np.asarray(color, np.float32) * ramp * np.ones((y1c - y0c, 1, 1), np.float32)
    a = m.astype(np.float32) / 255
    roi = img[y0c:y1c, x0c:x1c]
    roi *= 1 - a[..., None]
    roi += a[..., None] * layer
