"""Second look: small classifiers that look again at the detector's boxes, cut from the decoded frame at full
resolution, where the detector (at its 320 px input) sees too few pixels.

- `load_state` (site): is a dump truck covered, uncovered or empty? Decides `dump_truck` vs
  `dump_truck_uncovered`; the detector only guesses at a tarp strip or a heap of soil a few pixels high.
- `activity` (lab): what are a person's hands doing at their face: nothing, eating or drinking, smoking? Adds an
  `eating_drinking` / `smoking` box where the detector missed one; a cigarette is a pixel or two wide to it.
- `gloves` (lab): are the person's hands at the bench gloved or bare? Adds a `gloves` box where the detector
  missed gloves, and drops the detector's `gloves` boxes on hands it sees bare (dark skin taken for dark gloves).
- `pile` (site): is a debris-pile box a heap of dumped waste? Raises the detector's faint pile boxes it is sure of
  (a heap of bags 60 px wide is a blur of 30 px to the detector, scored 0.1-0.3 frame after frame) and drops the
  ones it is sure are not (on real pictures without heaps, about half of what the detector boxes as one).
- `goggles` (lab): does the person wear goggles? The same for a `goggles` box over their head (the detector boxed
  eyes as goggles now and then, and a hand at the face hides them).

The task, the classes and the crop size are in each ONNX file's metadata. See training/second_look.py."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import supervision as sv

from vigil.catalogue import DetClass, class_id
from vigil.crops import CROP_PAD, activity_region, crop_resized, hands_region, head_region
from vigil.errors import ModelError
from vision.rules.base import overlap_of_smaller

TRUCK_STATES = {"covered": DetClass.DUMP_TRUCK.value, "uncovered": DetClass.DUMP_TRUCK_UNCOVERED.value,
                "empty": DetClass.DUMP_TRUCK.value}
ACTIVITIES = ("none", DetClass.EATING_DRINKING.value, DetClass.SMOKING.value)
HANDS = ("bare", DetClass.GLOVES.value)
EYES = ("bare", DetClass.GOGGLES.value)
PILES = ("none", DetClass.DEBRIS_PILE.value)
TASK_CLASSES = {"load_state": tuple(TRUCK_STATES), "activity": ACTIVITIES, "gloves": HANDS, "goggles": EYES,
                "pile": PILES}
# tasks that say whether a person wears an item: (the item's class, the part of the person box they look at)
WORN = {"gloves": (DetClass.GLOVES.value, hands_region), "goggles": (DetClass.GOGGLES.value, head_region)}
SAME_OBJECT = 0.7  # two truck boxes overlapping this much (of the smaller one) are one truck
PERSON_MIN_SCORE = 0.4  # people the activity classifier looks at
ACTIVITY_MIN_P = 0.5
WORN_MIN_P = 0.7  # the gloves / goggles classifier overrules the detector only when it is sure
PILE_MIN_P = 0.8  # the pile classifier raises a faint pile box / drops one only when it is this sure
TRUCK_SURE_P = 0.7  # a truck state this sure no longer discounts the detector's truck score


def pile_verdicts(p_heap: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """What the pile look does with boxes whose crops it gives these heap probabilities: (raised, dropped)."""
    p_heap = np.asarray(p_heap, np.float32)
    return p_heap >= PILE_MIN_P, 1.0 - p_heap >= PILE_MIN_P


def activities_called(probs: np.ndarray, classes: tuple[str, ...]) -> np.ndarray:
    """The activity the look calls for each person (an index into `classes`), -1 where it calls none: its surest
    class, when that is an activity at ACTIVITY_MIN_P or more."""
    best = probs.argmax(1)
    called = (best != classes.index("none")) & (probs.max(1) >= ACTIVITY_MIN_P)
    return np.where(called, best, -1)


def to_input(crops: np.ndarray) -> np.ndarray:
    """(N, H, W, 3) BGR uint8 crops -> (N, 3, H, W) RGB float32 in 0..1."""
    return np.ascontiguousarray(crops[..., ::-1].transpose(0, 3, 1, 2), dtype=np.float32) / 255.0


@dataclass(frozen=True)
class CropClassifier:
    """An ONNX crop classifier on ONNX Runtime; metadata `vigil_task`, `vigil_classes`, `vigil_crop_hw`."""

    path: str
    sha256: str
    task: str
    classes: tuple[str, ...]
    crop_hw: tuple[int, int]
    session: object

    @classmethod
    def load(cls, path: str | Path, *, threads: int = 1) -> "CropClassifier":
        from vision.backends.onnx import cpu_session
        from vision.detector import file_sha256

        p = Path(path)
        if p.suffix.lower() != ".onnx" or not p.is_file():
            found = "nothing" if not p.exists() else "a folder" if p.is_dir() else p.suffix or "no suffix"
            raise ModelError(f"{p}: expected a second-look classifier .onnx file, found {found}")
        session = cpu_session(str(p), threads)
        meta = session.get_modelmeta().custom_metadata_map
        task = meta.get("vigil_task", "")
        if task not in TASK_CLASSES:
            raise ModelError(f"{p}: expected metadata vigil_task, one of {', '.join(TASK_CLASSES)}, found {task!r}")
        classes = tuple(c for c in meta.get("vigil_classes", "").split(",") if c)
        if sorted(classes) != sorted(TASK_CLASSES[task]):
            raise ModelError(f"{p}: expected metadata vigil_classes {','.join(TASK_CLASSES[task])} for task {task}, "
                             f"found {meta.get('vigil_classes')!r}")
        try:
            hw = tuple(int(v) for v in meta.get("vigil_crop_hw", "").split(","))
        except ValueError:
            hw = ()
        if len(hw) != 2 or min(hw) < 8:
            raise ModelError(f"{p}: expected metadata vigil_crop_hw 'H,W', found {meta.get('vigil_crop_hw')!r}")
        return cls(str(p), file_sha256(p), task, classes, (hw[0], hw[1]), session)

    @property
    def version(self) -> str:
        return self.sha256[:12]

    def probabilities(self, crops: np.ndarray) -> np.ndarray:
        """(N, len(classes)) softmax probabilities of (N, H, W, 3) BGR crops."""
        if len(crops) == 0:
            return np.zeros((0, len(self.classes)), np.float32)
        logits = self.session.run(None, {self.session.get_inputs()[0].name: to_input(crops)})[0]  # type: ignore[attr-defined]
        e = np.exp(logits - logits.max(1, keepdims=True))
        return e / e.sum(1, keepdims=True)

    def crop(self, image: np.ndarray, box) -> np.ndarray:
        """What this classifier looks at for a detector box: the padded box, or a region of a person's box (the
        activity region, the hands at the bench, the head)."""
        if self.task == "activity":
            return crop_resized(image, activity_region(box), self.crop_hw, pad=0.0)
        if self.task in WORN:
            return crop_resized(image, WORN[self.task][1](box), self.crop_hw, pad=0.0)
        return crop_resized(image, box, self.crop_hw, pad=CROP_PAD)

    def refine(self, dets: sv.Detections, image: np.ndarray) -> sv.Detections:
        """The detections after this classifier's second look (the input itself when it has nothing to do)."""
        names = dets.data.get("class_name") if dets.data else None
        if names is None or len(dets) == 0:
            return dets
        names = np.asarray(names, dtype=str)
        if self.task == "load_state":
            return self._trucks(dets, names, image)
        if self.task in WORN:
            return self._worn(dets, names, image)
        if self.task == "pile":
            return self._piles(dets, names, image)
        return self._activities(dets, names, image)

    def _piles(self, dets: sv.Detections, names: np.ndarray, image: np.ndarray) -> sv.Detections:
        """Each debris-pile box the classifier is sure shows a heap becomes as sure as the classifier (never less
        than the detector's score); one it is sure shows no heap is dropped; the rest stand as they are. The
        probability is kept in `data["second_p"]` (NaN for every other box)."""
        piles = np.flatnonzero(names == DetClass.DEBRIS_PILE.value)
        if len(piles) == 0:
            return dets
        probs = self.probabilities(np.stack([self.crop(image, dets.xyxy[i]) for i in piles]))
        k = self.classes.index(DetClass.DEBRIS_PILE.value)
        confidence = np.array(dets.confidence, dtype=np.float32)
        second_p = np.array(dets.data["second_p"], np.float32) if "second_p" in dets.data \
            else np.full(len(dets), np.nan, np.float32)
        keep = np.ones(len(dets), bool)
        raised, dropped = pile_verdicts(probs[:, k])
        second_p[piles] = probs[:, k]
        confidence[piles[raised]] = np.maximum(confidence[piles[raised]], probs[raised, k])
        keep[piles[dropped]] = False
        return _kept(dets, keep, confidence, second_p=second_p)

    def _trucks(self, dets: sv.Detections, names: np.ndarray, image: np.ndarray) -> sv.Detections:
        """Each truck (its state boxes merged, the most confident kept) gets the class of the state its crop
        shows. Its confidence stays the detector's truck confidence where the classifier is sure of the state
        (p >= TRUCK_SURE_P: two opinions that agree on a truck's state do not make it less of a truck); where it is
        unsure, the truck confidence times that state's probability."""
        group = set(TRUCK_STATES.values())
        idx = [i for i in np.argsort(-dets.confidence) if names[i] in group]
        if not idx:
            return dets
        trucks: list[int] = []
        for i in idx:  # a box repeating a kept truck in another state is dropped
            if not trucks or overlap_of_smaller(dets.xyxy[i], dets.xyxy[trucks]).max() < SAME_OBJECT:
                trucks.append(i)
        probs = self.probabilities(np.stack([self.crop(image, dets.xyxy[i]) for i in trucks]))
        ids = {str(n): int(c) for n, c in zip(names, dets.class_id)}  # the model's own ids where it has them
        keep = np.array([n not in group for n in names])
        keep[trucks] = True
        out = dets[keep]
        pos = {i: k for k, i in enumerate(np.flatnonzero(keep))}
        new_names = np.asarray(out.data["class_name"], dtype=object)
        second_p = np.full(len(out), np.nan, np.float32)
        for t, p in zip(trucks, probs):
            s = int(np.argmax(p))
            k = pos[t]
            new_names[k] = TRUCK_STATES[self.classes[s]]
            out.class_id[k] = ids.get(new_names[k], class_id(new_names[k]))
            out.confidence[k] = float(dets.confidence[t]) * (1.0 if p[s] >= TRUCK_SURE_P else float(p[s]))
            second_p[k] = float(p[s])
        out.data["class_name"] = new_names.astype(str)
        out.data["second_p"] = second_p
        return out

    def _activities(self, dets: sv.Detections, names: np.ndarray, image: np.ndarray) -> sv.Detections:
        """A person whose crop shows eating/drinking or smoking gets a box of that class over their activity
        region (confidence: person score times the activity's probability); where the detector boxed that
        activity there, faintly, its box gets that confidence instead. Nothing is removed."""
        people, probs, regions = self._people(dets, names, image, activity_region)
        boxes, scores, found = [], [], []
        confidence = dets.confidence
        for i, p, box, s in zip(people, probs, regions, activities_called(probs, self.classes)):
            if s < 0:
                continue
            act = self.classes[s]
            score = float(dets.confidence[i]) * float(p[s])
            same = np.flatnonzero(names == act)
            if len(same):
                near = same[overlap_of_smaller(box, dets.xyxy[same]) >= 0.5]
                if len(near):  # the detector saw it too, perhaps faintly: its box stands, as sure as the second look
                    if confidence is dets.confidence:
                        confidence = dets.confidence.copy()
                    confidence[near] = np.maximum(confidence[near], score)
                    continue
            boxes.append(box)
            scores.append(score)
            found.append(act)
        if confidence is not dets.confidence:
            dets = sv.Detections(xyxy=dets.xyxy, confidence=confidence, class_id=dets.class_id,
                                 tracker_id=dets.tracker_id, data=dict(dets.data))
        return _with_added(dets, names, boxes, scores, found)

    def _people(self, dets: sv.Detections, names: np.ndarray, image: np.ndarray,
                region) -> tuple[list, np.ndarray, list]:
        """The confident people, their class probabilities, and their regions clipped to the image."""
        people = [i for i in range(len(dets)) if names[i] == DetClass.PERSON.value
                  and dets.confidence[i] >= PERSON_MIN_SCORE]
        if not people:
            return [], np.zeros((0, len(self.classes))), []
        probs = self.probabilities(np.stack([self.crop(image, dets.xyxy[i]) for i in people]))
        H, W = image.shape[:2]
        regions = []
        for i in people:
            x1, y1, x2, y2 = region(dets.xyxy[i])
            regions.append(np.array([max(0.0, x1), max(0.0, y1), min(float(W), x2), min(float(H), y2)], np.float32))
        return people, probs, regions

    def _worn(self, dets: sv.Detections, names: np.ndarray, image: np.ndarray) -> sv.Detections:
        """People the classifier is sure wear the item (gloves: on the hands at the bench; goggles: on the head)
        get a box of it over that region where the detector had none, and the detector's surest box of it there
        becomes as sure as the second look; the detector's boxes of it centred in the region of someone it is sure
        goes without are dropped (dark skin taken for dark gloves). Each person it looked at carries its
        probability of the item in `data["p_<item>"]` (NaN for every other box): the absence rule counts them as
        without the item only when that is low (white gloves on a white coat at a white bench are hard to see, and
        not seeing gloves is not seeing bare hands)."""
        item, region_of = WORN[self.task]
        people, probs, regions = self._people(dets, names, image, region_of)
        k = self.classes.index(item)
        boxes_of_item = np.flatnonzero(names == item)
        centres = (dets.xyxy[boxes_of_item, :2] + dets.xyxy[boxes_of_item, 2:]) / 2 if len(boxes_of_item) \
            else np.zeros((0, 2))
        drop = np.zeros(len(dets), bool)
        confidence: np.ndarray = np.array(dets.confidence, dtype=np.float32)
        p_item = np.full(len(dets), np.nan, np.float32)
        boxes, scores = [], []
        for i, p, r in zip(people, probs, regions):
            p_item[i] = float(p[k])
            inside = boxes_of_item[(centres[:, 0] >= r[0]) & (centres[:, 0] <= r[2]) & (centres[:, 1] >= r[1])
                                   & (centres[:, 1] <= r[3])] if len(boxes_of_item) else boxes_of_item
            score = float(dets.confidence[i]) * float(p[k])
            if p[k] >= WORN_MIN_P and len(inside) == 0:
                boxes.append(r)
                scores.append(score)
            elif p[k] >= WORN_MIN_P:  # the detector's surest box there stands for the item (the others keep theirs)
                best = inside[int(np.argmax(confidence[inside]))]
                confidence[best] = max(float(confidence[best]), score)
            elif 1.0 - p[k] >= WORN_MIN_P:
                drop[inside] = True
        out = _kept(dets, ~drop, confidence, **{f"p_{item}": p_item})
        return _with_added(out, np.asarray(out.data["class_name"], dtype=str), boxes, scores, [item] * len(boxes))


def _kept(dets: sv.Detections, keep: np.ndarray, confidence: np.ndarray, **columns: np.ndarray) -> sv.Detections:
    """The `keep` boxes of `dets` with new confidences and per-box `columns` added to (or replacing) its data."""
    return sv.Detections(xyxy=dets.xyxy[keep], confidence=confidence[keep], class_id=dets.class_id[keep],
                         tracker_id=dets.tracker_id[keep] if dets.tracker_id is not None else None,
                         data={name: np.asarray(col)[keep] for name, col in {**dets.data, **columns}.items()})


def _with_added(dets: sv.Detections, names: np.ndarray, boxes: list, scores: list, classes: list) -> sv.Detections:
    """`dets` with boxes of `classes` added (the model's class ids where it has them)."""
    if not boxes:
        return dets
    ids = {str(n): int(c) for n, c in zip(names, dets.class_id)}
    extra = {k: np.full(len(classes), np.nan, np.float32) for k in dets.data if k != "class_name"}
    added = sv.Detections(xyxy=np.stack(boxes), confidence=np.asarray(scores, np.float32),
                          class_id=np.array([ids.get(c, class_id(c)) for c in classes], int),
                          data={"class_name": np.asarray(classes, dtype=str), **extra})
    return sv.Detections.merge([dets, added])


_SHARED: dict[tuple[str, float], CropClassifier] = {}


def load_shared(path: str | Path) -> CropClassifier:
    """One loaded classifier per file (and version of it) for all the cameras that use it; a session's `run` is
    thread-safe."""
    p = Path(path)
    key = (str(p.resolve()), p.stat().st_mtime if p.is_file() else 0.0)
    if key not in _SHARED:
        _SHARED[key] = CropClassifier.load(p)
    return _SHARED[key]
