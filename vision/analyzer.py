"""One camera's analysis: motion gate, masks, tracker and every rule of the camera, frame by frame."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
import supervision as sv

from vigil.catalogue import EXCLUSIVE_STATES, RuleSpec
from vigil.config import MotionConfig
from vigil.config_loader import LoadedConfig
from vigil.types import ModelInfo, VideoFrame, Violation
from vision.fire_cues import CueSettings, FireSmokeCues
from vision.motion import MotionGate, MotionResult
from vision.rules import Moment, Rule, build_rules
from vision.rules.base import overlap_of_smaller
from vision.second_look import CropClassifier, load_shared
from vision.still_people import ACTIVITIES, PersonMotion
from vision.tracking import CameraTracker
from vision.zones import MaskSet, Zone


@dataclass(frozen=True, eq=False)
class AnalysisResult:
    frame: VideoFrame
    detections: sv.Detections  # tracked (tracker_id), masks applied; carried forward on skipped frames
    violations: tuple[Violation, ...]
    motion: bool
    active_rules: tuple[str, ...]  # rules with an open event on this camera
    detected: bool = False  # the detector ran on this frame (False: skipped, detections carried forward)


SAME_OBJECT = 0.7  # two boxes overlapping this much (of the smaller one) are one object


def one_state_per_object(dets: sv.Detections) -> sv.Detections:
    """Drop the less confident of two boxes that give one object two exclusive states (EXCLUSIVE_STATES): the
    detector's NMS runs per class, so a truck whose load it is unsure of can come out covered and uncovered."""
    names = dets.data.get("class_name") if dets.data else None
    if names is None or len(dets) < 2:
        return dets
    names = np.asarray(names, dtype=str)
    drop = np.zeros(len(dets), dtype=bool)
    for group in EXCLUSIVE_STATES:
        idx = np.flatnonzero(np.isin(names, group))
        for i in sorted(idx, key=lambda k: -float(dets.confidence[k])):
            if drop[i]:
                continue
            rivals = [j for j in idx if j != i and not drop[j] and names[j] != names[i]]
            if rivals:
                same = overlap_of_smaller(dets.xyxy[i], dets.xyxy[rivals]) >= SAME_OBJECT
                drop[np.asarray(rivals)[same]] = True
    return dets[~drop] if drop.any() else dets


def second_looks(dets: sv.Detections, image: np.ndarray, classifiers) -> sv.Detections:
    """What one frame's detections become before anything looks at time: one state per object, then each
    second-look classifier's verdict on its boxes (the fire cues, which need frames over time, come after)."""
    dets = one_state_per_object(dets)
    for classifier in classifiers:
        dets = classifier.refine(dets, image)
    return dets


def cue_settings(dcfg) -> CueSettings | None:
    """The fire/smoke cue thresholds of a profile's detector config (None: no detector, or cues off)."""
    if dcfg is None or not dcfg.cues.enabled:
        return None
    c = dcfg.cues
    return CueSettings(conf=dcfg.conf, weak_conf=min(dcfg.conf, c.weak_conf), promote_score=c.promote_score,
                       flame_share=c.flame_share, promote_flicker=c.promote_flicker, veto_flicker=c.veto_flicker)


def empty_detections() -> sv.Detections:
    d = sv.Detections.empty()
    d.tracker_id = np.empty(0, int)
    d.data["class_name"] = np.array([], dtype=str)
    return d


class CameraAnalyzer:
    """Motion gate + tracker + masks/zones + rules for one camera. Not thread-safe: one caller per camera."""

    def __init__(self, camera_id: str, *, rules: Sequence[RuleSpec], zones: Mapping[str, Zone] | None = None,
                 masks: Sequence[Sequence[tuple[float, float]]] = (), motion: MotionConfig | None = None,
                 fps: float = 2.0, second_look: Sequence[CropClassifier] = (), cues: CueSettings | None = None):
        self.camera_id = camera_id
        self.second_look = tuple(second_look)  # classifiers that look again at the detector's boxes
        self.cues = FireSmokeCues(cues) if cues is not None else None  # fire/smoke colour, flicker, drift
        self.zones: dict[str, Zone] = dict(zones or {})
        self.rules: list[Rule] = build_rules(rules, self.zones)
        # which person tracks have moved: the rules about people do not judge a picture of one (vision.still_people)
        about_people = any(r.kind == "absence" or set(r.classes) & set(ACTIVITIES) for r in rules)
        self.person_motion = PersonMotion() if about_people else None
        self.masks = MaskSet(masks)
        self.motion_config = motion or MotionConfig()
        self.gate = MotionGate(threshold=self.motion_config.threshold, min_area=self.motion_config.min_area,
                               max_area=self.motion_config.max_area, mask=self.motion_config.mask)
        min_score = min((r.min_score for r in rules), default=0.3)
        self.tracker = CameraTracker(lost_s=max(10.0, 2 * self.motion_config.idle_check_s), fps=fps,
                                     activation=float(np.clip(min_score - 0.1, 0.1, 0.6)))
        self._last_detect_s: float | None = None
        self._motion: tuple[int, MotionResult] | None = None  # (frame seq, result) of the latest frame
        self._last_dets = empty_detections()
        self._people = ""  # the people detector whose boxes joined the last detections (vision.people)
        self._frames = self._detected = 0
        self._motion_s = 0.0

    @classmethod
    def from_config(cls, loaded: LoadedConfig, camera_id: str, *,
                    second_look: Sequence[CropClassifier] | None = None) -> "CameraAnalyzer":
        """The camera's analyzer; `second_look` overrides the profile detector's configured `classifiers`."""
        cfg = loaded.config
        if camera_id not in cfg.cameras:
            raise KeyError(f"camera {camera_id!r} is not in the config (cameras: {', '.join(cfg.cameras) or 'none'})")
        cam = cfg.cameras[camera_id]
        zones = {name: Zone(name, tuple(tuple(p) for p in z.polygon), z.anchor, z.no_dumping)
                 for name, z in cam.zones.items()}
        dcfg = cfg.detectors.get(cfg.camera_profile(camera_id))
        if second_look is None:
            second_look = [load_shared(loaded.resolve(c)) for c in (dcfg.classifiers if dcfg is not None else [])]
        return cls(camera_id, rules=cfg.camera_rules(camera_id), zones=zones,
                   masks=[[tuple(p) for p in poly] for poly in cam.masks], motion=cam.motion, fps=cam.detect.fps,
                   second_look=second_look, cues=cue_settings(dcfg))

    @property
    def zone_polygons(self) -> dict[str, list[tuple[float, float]]]:
        """Zones as relative polygons, for `annotate(zones=...)`."""
        return {name: list(z.polygon) for name, z in self.zones.items()}

    def _motion_of(self, frame: VideoFrame) -> MotionResult:
        if self._motion is None or self._motion[0] != frame.seq:
            t0 = time.perf_counter()
            self._motion = (frame.seq, self.gate.update(frame.image))
            self._motion_s += time.perf_counter() - t0
        return self._motion[1]

    def wants_detection(self, frame: VideoFrame) -> bool:
        """Run the detector on this frame? Motion, the first frame, `idle_check_s` since the last run, or a rule
        with a candidate forming (seen at an idle check, it needs frames to be confirmed or to fade: faint smoke
        drifts too slowly to count as motion)."""
        motion = self._motion_of(frame)
        if not self.motion_config.enabled or self._last_detect_s is None or motion.motion:
            return True
        if frame.pts_s - self._last_detect_s >= self.motion_config.idle_check_s:
            return True
        return any(r.forming(frame.pts_s) for r in self.rules)

    def update(self, frame: VideoFrame, dets: sv.Detections | None, model: ModelInfo | None = None) -> AnalysisResult:
        """Advance the camera by one frame; `dets` None means the detector skipped it (still frame)."""
        motion = self._motion_of(frame)
        self._frames += 1
        h, w = frame.image.shape[:2]
        if dets is not None:
            self._detected += 1
            self._last_detect_s = frame.pts_s
            self._people = model.people if model is not None else ""
            dets = second_looks(dets, frame.image, self.second_look)
            if self.cues is not None:
                dets = self.cues.refine(dets, frame.image, frame.pts_s)
            kept = self.masks.apply(dets, w, h)
            self._last_dets = self.tracker.update(kept, frame.pts_s)
            if self._last_dets.tracker_id is None:
                self._last_dets.tracker_id = np.full(len(self._last_dets), -1, int)
        if self.person_motion is not None:  # every frame: a small movement the gate does not wake the detector for
            self.person_motion.mark(self._last_dets, motion.small, w, h, frame.pts_s)
        now = Moment(self.camera_id, frame.pts_s, frame.captured_at, frame.image, w, h, dets is not None, model)
        violations: list[Violation] = []
        for rule in self.rules:
            violations.extend(rule.update(self._last_dets, now))
        if self.second_look:  # the evidence says which classifiers looked again at the boxes
            for v in violations:
                v.thresholds["second_look"] = {c.task: c.version for c in self.second_look}
        if self._people:  # and which people detector's person boxes joined the detector's
            for v in violations:
                v.thresholds["people_detector"] = self._people
        if self.cues is not None:
            for v in violations:
                v.thresholds["fire_cues"] = dict(self.cues.s.__dict__)
        active = tuple(r.spec.name for r in self.rules if r.active)
        return AnalysisResult(frame, self._last_dets, tuple(violations), motion.motion, active, dets is not None)

    @property
    def stats(self) -> dict:
        skipped = self._frames - self._detected
        return {"frames": self._frames, "detected": self._detected, "skipped": skipped,
                "skip_ratio": skipped / self._frames if self._frames else 0.0,
                "motion_ms_per_frame": 1000 * self._motion_s / self._frames if self._frames else 0.0}
