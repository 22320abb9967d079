"""A profile's detector with a people detector beside it: one Detector whose person boxes are both models'.

Every lab rule hangs on a person track, and a detector trained here from scratch finds people poorly on cameras
none of its sources come from (person AP50 0.13 on the lab's held-out source). Joined with a COCO-trained person
detector (models/people.onnx) it finds them at 0.59 there (models/people.md). Its person boxes join the
detector's; where both box one person (IoU >= MERGE_IOU), the surer box stays. The detector's other classes pass
untouched, and its ModelInfo stays the model of record (promotion, hot reload and the registry are about that
model), with the people detector's version beside it for the evidence.
"""
from __future__ import annotations

import dataclasses
from typing import Sequence, cast

import numpy as np
import supervision as sv

from vigil.catalogue import DetClass
from vision.detector import Detector

MERGE_IOU = 0.5
PERSON = DetClass.PERSON.value


def join_people(dets: sv.Detections, people: sv.Detections, person_id: int) -> sv.Detections:
    """`dets` with `people`'s person boxes joined to its own (class `person_id`); overlapping person boxes are one."""
    names = dets.data.get("class_name", np.array([], str))
    is_person = names == PERSON
    found = sv.Detections(xyxy=people.xyxy, confidence=people.confidence,
                          class_id=np.full(len(people), person_id, int),
                          data={"class_name": np.full(len(people), PERSON)})
    persons = sv.Detections.merge([cast(sv.Detections, dets[is_person]), found])
    if len(persons) > 1:
        persons = persons.with_nms(threshold=MERGE_IOU, class_agnostic=True)
    joined = sv.Detections.merge([cast(sv.Detections, dets[~is_person]), persons])
    if "class_name" not in joined.data:  # supervision drops the columns of a merge of empty Detections
        joined.data["class_name"] = np.array([], dtype=str)
    return joined


class WithPeople:
    """`detector` whose person boxes include `people`'s (a NanoDetPeople, or any Detector boxing `person`)."""

    def __init__(self, detector: Detector, people: Detector):
        if PERSON not in detector.info.classes:
            raise ValueError(f"a people detector joins a detector with a {PERSON!r} class; "
                             f"{detector.info.name} has {', '.join(detector.info.classes)}")
        self.detector, self.people = detector, people
        self._person_id = detector.info.classes.index(PERSON)
        self.info = dataclasses.replace(detector.info, people=people.info.version)

    def detect(self, images: Sequence[np.ndarray]) -> list[sv.Detections]:
        found = self.people.detect(images)
        return [join_people(d, p, self._person_id) for d, p in zip(self.detector.detect(images), found)]
