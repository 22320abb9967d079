"""Crops of lab workers drawn the way the lab scenes draw people, for the second-look classifiers that look at
every person box the detector finds: the face and raised hands, labelled with what the hands are doing (nothing,
eating or drinking, smoking: a cigarette is a few pixels at the detector's 320 px input), the hands at the
bench, labelled gloved or bare (every skin tone with every glove colour, dark ones included), and the head, labelled
with or without goggles."""
from __future__ import annotations

from typing import Iterator

import numpy as np

from datasets.scenes.lab import HAIRS, SHIRTS, SKINS, bench_glassware, lab_background
from datasets.scenes.base import jittered_crops
from datasets.scenes.lab_actors import GLOVE_COLORS, Activity, LabPerson
from datasets.scenes.render import Camera
from vigil.catalogue import DetClass
from vigil.crops import activity_region, hands_region, head_region

ACTS = ("none", DetClass.EATING_DRINKING.value, DetClass.SMOKING.value)
HANDS = ("bare", DetClass.GLOVES.value)
EYES = ("bare", DetClass.GOGGLES.value)
CROP_HW = (64, 64)
HANDS_HW = (32, 96)
HEAD_HW = (48, 48)
KINDS = {"drink": DetClass.EATING_DRINKING.value, "eat": DetClass.EATING_DRINKING.value,
         "smoke": DetClass.SMOKING.value}
ITEMS = ((40, 40, 200), (230, 230, 230), (60, 140, 200), (50, 90, 150))


def person_frames(seed: int, *, size: tuple[int, int] = (640, 360), skin: tuple | None = None,
                  glove: tuple | None = None, glassware: bool = False) -> Iterator[tuple[np.ndarray, list]]:
    """Endless lab frames (BGR uint8) with one or two people behind the bench, and each person's (xyxy person box,
    activity index into ACTS, gloves index into HANDS, goggles index into EYES); deterministic by seed. Half the time someone eats, drinks or smokes; the label is
    the one the scene renderer gives (a hand still on its way up is 'none'). `skin` / `glove` fix everyone's skin
    tone / glove colour (a per-group check of a classifier). `glassware`: beakers and bottles on the bench in front
    of the people, as the scenes draw them (they hide a hand now and then)."""
    rng = np.random.default_rng((seed, 41))
    W, H = size
    while True:
        bench_y = int(H * rng.uniform(0.64, 0.74))
        background = lab_background(size, rng, bench_y)
        camera = Camera(size, rng, outdoor=False)
        for _ in range(12):
            img = background.copy()
            people = []
            for lane in range(1 + int(rng.random() < 0.5)):
                x = float(rng.uniform(0.12, 0.45) * W + lane * 0.45 * W)
                S = H * rng.uniform(0.45, 0.65)
                acts = []
                if rng.random() < 0.55:
                    kind = ("drink", "eat", "smoke")[int(rng.integers(3))]
                    acts = [Activity(kind, 0.0, 10.0, tuple(float(v) for v in ITEMS[rng.integers(len(ITEMS))]))]
                look = {"skin": SKINS[rng.integers(len(SKINS))], "hair": HAIRS[rng.integers(len(HAIRS))],
                        "shirt": SHIRTS[rng.integers(len(SHIRTS))],
                        "glove": GLOVE_COLORS[rng.integers(len(GLOVE_COLORS))],
                        "goggle_frame": (60, 60, 60) if rng.random() < 0.5 else (170, 120, 40)}
                look["skin"] = skin if skin is not None else look["skin"]
                look["glove"] = glove if glove is not None else look["glove"]
                people.append(LabPerson([(0.0, x), (10.0, x)], bench_y - lane * 6, S, 0.0, 10.0, look,
                                        coat=bool(rng.random() < 0.6), goggles=bool(rng.random() < 0.55),
                                        gloves=bool(rng.random() < 0.55), size=size,
                                        key=int(rng.integers(1 << 30)), activities=acts))
            t = float(rng.uniform(0.3, 9.7))
            found = []
            for person in sorted(people, key=lambda p: p.depth):
                labels = person.draw(img, t)
                box = next((lb.box for lb in labels if lb.cls == DetClass.PERSON.value), None)
                act = next((ACTS.index(lb.cls) for lb in labels if lb.cls in ACTS), 0)
                if box is not None:
                    found.append((box, act, int(person.gloves), int(person.goggles)))
            if glassware:  # as in the scenes: beakers on the bench in front of people, sometimes over a hand
                bench_glassware(rng, W, bench_y).draw(img, t)
            yield camera.apply(img, t * 30, int(rng.integers(1000))), found


def person_crops(seed: int, n: int, *, size: tuple[int, int] = (640, 360)) -> tuple[np.ndarray, np.ndarray]:
    """`n` activity-region crops (N, 64, 64, 3 BGR uint8) of `person_frames` people, along a jittered person box,
    and their activity index into ACTS; deterministic by seed."""
    return jittered_crops(person_frames(seed, size=size), n, np.random.default_rng((seed, 42)), label=0,
                          region=activity_region, hw=CROP_HW, sigma=0.03, pad=0.0)


def hand_crops(seed: int, n: int, *, size: tuple[int, int] = (640, 360), skin: tuple | None = None,
               glove: tuple | None = None) -> tuple[np.ndarray, np.ndarray]:
    """`n` hands-region crops (N, 32, 96, 3 BGR uint8) of `person_frames` people (glassware on the bench in front
    of them, as in the scenes), along a jittered person box, and whether they wear gloves (index into HANDS);
    deterministic by seed."""
    return jittered_crops(person_frames(seed, size=size, skin=skin, glove=glove, glassware=True), n,
                          np.random.default_rng((seed, 43)), label=1, region=hands_region, hw=HANDS_HW, sigma=0.03,
                          pad=0.0)


def head_crops(seed: int, n: int, *, size: tuple[int, int] = (640, 360)) -> tuple[np.ndarray, np.ndarray]:
    """`n` head-region crops (N, 48, 48, 3 BGR uint8) of `person_frames` people, along a jittered person box, and
    whether they wear goggles (index into EYES); deterministic by seed. A hand raised to the face (eating, drinking,
    smoking) sometimes covers them, as in the scenes."""
    return jittered_crops(person_frames(seed, size=size, glassware=True), n, np.random.default_rng((seed, 44)),
                          label=2, region=head_region, hw=HEAD_HW, sigma=0.03, pad=0.0)
