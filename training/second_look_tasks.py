"""The second looks' tasks: what each classifier tells apart, where it looks, the crops it learns from (rendered,
and real where the shared datasets have them), its seeds, its output file and what its card says. Trained by
training/second_look.py."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from datasets.scenes import activity_crops, person_acts, pile_crops, truck_states
from vigil.catalogue import DetClass
from vigil.shipped import models_dir
from vision.second_look import ACTIVITY_MIN_P, PERSON_MIN_SCORE, PILE_MIN_P, activities_called, pile_verdicts


@dataclass(frozen=True)
class Task:
    crops: Callable[..., tuple[np.ndarray, np.ndarray]]  # (seed, n) -> crops, class indices
    classes: tuple[str, ...]
    crop_hw: tuple[int, int]
    out: Path
    train_seed: int
    heldout_seed: int  # held-out crops come from another seed: other backgrounds, looks, cameras
    what: str
    looks_at: str
    cue: str  # what tells the classes apart, a few pixels at the detector's input
    # crops from the shared datasets too: `crops` takes (seed, n, datasets_dir, split=) and `real` (datasets_dir,
    # split, seed) gives real crops, the training split's added to the training crops, the val split's scored apart
    real: Callable[..., tuple] | None = None
    # real tasks: the detector whose boxes of this class (down to detector_min_score) the real crops use
    detector: Path | None = None
    detector_class: str | None = None
    detector_min_score: float | None = None  # None: the cues' weak floor (what the second look gets to see)
    limits: str = "learned from rendered scenes only; real footage, night and other viewpoints are untested."
    # real tasks, for the card: what the real crops are, where each comes from (`real`'s kinds), what the look does
    # with a box at run time (probabilities -> {outcome: bool per crop}) and how the card says it
    real_text: str = ""
    real_heldout: str = "the val split's pictures"
    real_kinds: tuple[str, ...] = ()
    outcomes: Callable[[np.ndarray, tuple[str, ...]], dict[str, np.ndarray]] | None = None
    runtime_text: str = ""
    detector_text: str = ""


def _pile_outcomes(p: np.ndarray, classes: tuple[str, ...]) -> dict[str, np.ndarray]:
    raised, dropped = pile_verdicts(p[:, classes.index(pile_crops.PILES[1])])
    return {"raised": raised, "dropped": dropped}


def _activity_outcomes(p: np.ndarray, classes: tuple[str, ...]) -> dict[str, np.ndarray]:
    called = activities_called(p, classes)
    return {f"called {c}": called == k for k, c in enumerate(classes) if c != "none"}


def _rendered_people(seed: int, n: int, datasets_dir: Path | None = None, *, split: str = "train"):
    """The rendered activity crops (they need no shared data; the real ones come apart)."""
    return person_acts.person_crops(seed, n)


def _real_people(datasets_dir: Path | None, split: str, seed: int, **kw) -> tuple:
    """Real activity crops; the lab detector's held-out people sources stay unseen here too."""
    from training.recipe_data import HELD_OUT, SOURCES

    unseen = tuple(s for s in HELD_OUT["lab"] if DetClass.PERSON.value in SOURCES["lab"].get(s, ()))
    return activity_crops.real_activity_crops(datasets_dir, split, seed, unseen=unseen, **kw)


TASKS = {
    "load_state": Task(truck_states.truck_crops, truck_states.LOADS, truck_states.CROP_HW,
                       Path("models/site_states.onnx"), 7301, 7399, "load state of a detected dump truck",
                       "each dump-truck box, padded 6 %", "a tarp strip, a heap of soil"),
    "activity": Task(_rendered_people, person_acts.ACTS, person_acts.CROP_HW,
                     Path("models/lab_activity.onnx"), 7401, 7499, "what a detected person's hands are doing",
                     "the upper 60 % of each person box, a little wider, with a margin above the head",
                     "a cigarette, a cup", real=_real_people, detector=models_dir() / "lab.onnx",
                     detector_class=DetClass.PERSON.value, detector_min_score=PERSON_MIN_SCORE,
                     limits="one real source labels smoking (press photos, film stills, adverts: close-ups, few "
                            "CCTV views), so the real smoker figure is the same source's other photos; eating and "
                            "drinking are rendered only. Night is untested.",
                     real_text="every labelled smoking box of the smoking source twice (an activity region built "
                               "around it) and once more along each person box the detector finds around it, as "
                               "smoking; the labelled people of the sources that label people (taller than "
                               f"{activity_crops.MIN_PERSON_H} px, at most {activity_crops.PEOPLE_PER_PICTURE} a "
                               "picture) as none; the lab detector's held-out people source is never trained on",
                     real_heldout="the val split's pictures, and every picture of the lab detector's held-out "
                                  "people source",
                     real_kinds=activity_crops.REAL_KINDS, outcomes=_activity_outcomes,
                     runtime_text=f"a person gets an activity box when the look's surest class is one with p >= "
                                  f"{ACTIVITY_MIN_P}",
                     detector_text="Smokers as the look sees them: the person boxes {model} ({sha256}) finds "
                                   "(score >= {min_score}) around a smoking box frame the smoker crops the way the "
                                   "look sees them at run time"),
    "gloves": Task(person_acts.hand_crops, person_acts.HANDS, person_acts.HANDS_HW,
                   Path("models/lab_gloves.onnx"), 7501, 7599, "whether a detected person's hands are gloved",
                   "the lowest quarter of each person box (the hands at the bench), a little wider",
                   "a glove's colour where skin would be"),
    "goggles": Task(person_acts.head_crops, person_acts.EYES, person_acts.HEAD_HW,
                    Path("models/lab_goggles.onnx"), 7601, 7699, "whether a detected person wears goggles",
                    "the head: the middle 60 % of each person box's width, its top third and a little above",
                    "a thin frame and tinted lens over the eyes"),
    "pile": Task(pile_crops.pile_crops, pile_crops.PILES, pile_crops.PILE_HW, Path("models/site_piles.onnx"),
                 7801, 7899, "whether a detected debris pile is a heap of dumped waste",
                 "each debris-pile box, padded 6 %", "bags, rubble and litter heaped on the ground",
                 real=pile_crops.real_pile_crops, detector=models_dir() / "site.onnx",
                 detector_class=pile_crops.PILES[1],
                 limits="one real source labels piles (street garbage photos), so the real held-out figure is the "
                        "same source's other photos, not an unseen one; building rubble and soil heaps are rendered "
                        "only. Night and other viewpoints are untested.",
                 real_text="every labelled debris_pile box twice, and as none the other sources' labelled boxes and a "
                           "random box of each of their pictures",
                 real_kinds=pile_crops.REAL_KINDS, outcomes=_pile_outcomes,
                 runtime_text=f"a box is raised when the look says debris_pile with p >= {PILE_MIN_P}, dropped when "
                              "it says none that sure",
                 detector_text="Hard negatives: the boxes {model} ({sha256}) calls {class} (score >= {min_score}) "
                               "on the pictures of sources that do not label it, as none"),
}
