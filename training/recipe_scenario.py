"""Scenario check: a detector + the camera analyzer over freshly rendered scenes, compared with their ground truth."""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import av

from datasets.scenes import render_scene
from vigil.config import VigilConfig
from vigil.config_loader import LoadedConfig
from vigil.shipped import SHIPPED
from vision.analyzer import CameraAnalyzer
from vision.detector import profile_detector
from vision.replay import frames_from_images, match_events, replay

# never used in training, nor looked at while tuning rules or the second-look classifiers (20001-20006,
# 20101-20106, 20501-20506, 20601-20606, 20701-20724 and 20901-20924 were): 24 scenes of 150 s, one camera-hour
# per profile
SCENARIO_SEEDS = {"site": tuple(range(20201, 20225)), "lab": tuple(range(20801, 20825))}
SCENARIO_S = 150.0
CAMERA = "scenario"


# the second-look classifiers each profile runs by default (the demo config names the same files)
SECOND_LOOK = {p: tuple(Path("models") / c for c in entry["classifiers"]) for p, entry in SHIPPED.items()}
PEOPLE = {p: Path("models") / entry["people"] for p, entry in SHIPPED.items() if "people" in entry}


@dataclass(frozen=True)
class Beside:
    """What runs beside the detector: second-look classifiers, the fire cues, a people detector (vision.people)."""

    second_look: tuple[Path, ...] = ()
    cues: bool = True
    people: Path | None = None

    @classmethod
    def shipped(cls, profile: str) -> "Beside":
        """What the profile runs by default (SHIPPED)."""
        return cls(SECOND_LOOK.get(profile, ()), True, PEOPLE.get(profile))

    def summary(self) -> dict:
        return {"second_look": [Path(c).name for c in self.second_look], "fire_cues": self.cues,
                "people": Path(self.people).name if self.people else None}


def scenario_config(profile: str, model: Path | None = None, beside: Beside = Beside()) -> LoadedConfig:
    """A one-camera config with the catalogue's default rules for `profile` (and its detector, when given: one
    ONNX Runtime thread, as scenes run side by side)."""
    detectors = {profile: {"model": str(Path(model).resolve()), "cues": {"enabled": beside.cues}, "threads": 1,
                           "classifiers": [str(Path(c).resolve()) for c in beside.second_look],
                           "people": str(Path(beside.people).resolve()) if beside.people else None}} if model else {}
    cfg = VigilConfig.model_validate({
        "sites": {"scenario": {"name": "scenario", "kind": profile}},
        "cameras": {CAMERA: {"site": "scenario", "source": "scenario.mp4", "profile": profile}},
        "detectors": detectors,
    })
    return LoadedConfig(config=cfg, path=None, base_dir=Path.cwd().resolve())


def _frames(video: Path, fps: float):
    """Decoded BGR frames sampled at the analysis rate."""
    with av.open(str(video), timeout=(5, 5)) as c:
        stream = c.streams.video[0]
        next_t = 0.0
        for frame in c.decode(stream):
            t = float(frame.pts * stream.time_base)
            if t + 1e-6 >= next_t:
                next_t += 1.0 / fps
                yield frame.to_ndarray(format="bgr24")


def run_scene(profile: str, model: Path, scene_dir: Path, *, seed: int, duration_s: float, imgsz: int = 320,
              datasets_dir: Path | None = None, beside: Beside = Beside()) -> dict:
    """One scene: render (cached), analyse at the camera's detect fps, match events with the ground truth."""
    gt_path = scene_dir / "ground_truth.json"
    if not gt_path.exists():
        render_scene(profile, seed, duration_s, scene_dir, labels=False, datasets_dir=datasets_dir)
    expected = json.loads(gt_path.read_text())
    loaded = scenario_config(profile, model, beside)
    fps = loaded.config.cameras[CAMERA].detect.fps
    analyzer = CameraAnalyzer.from_config(loaded, CAMERA)
    detector = profile_detector(loaded, profile, imgsz=imgsz)
    assert detector is not None  # the scenario config names the model
    summary = replay(analyzer, detector, frames_from_images(CAMERA, _frames(scene_dir / "video.mp4", fps), fps=fps))
    found = summary.spans()
    tp, fp, miss = match_events(found, expected)
    per_rule = {}
    for rule in sorted({e["rule"] for e in expected} | {f[0] for f in found}):
        per_rule[rule] = dict(zip(("tp", "fp", "miss"), match_events([f for f in found if f[0] == rule],
                                                                     [e for e in expected if e["rule"] == rule])))
    required = sum(1 for e in expected if not e.get("optional"))  # optional: cut short by the video's end
    return {"seed": seed, "duration_s": duration_s, "expected": required, "found": len(found), "tp": tp,
            "fp": fp, "miss": miss, "per_rule": per_rule,
            "events": [{"rule": r, "start": round(s, 1), "end": round(e, 1)} for r, s, e in found],
            "skip_ratio": summary.stats.get("skip_ratio")}


def scenario_check(profile: str, model: Path, work_dir: Path, *, seeds: tuple[int, ...] | None = None,
                   duration_s: float = SCENARIO_S, imgsz: int = 320, datasets_dir: Path | None = None,
                   beside: Beside = Beside()) -> dict:
    """Recall of ground-truth violations and false violations per camera-hour over unseen scenes."""
    seeds = seeds or SCENARIO_SEEDS[profile]
    scenes = [run_scene(profile, model, Path(work_dir) / f"{profile}_{s}_{duration_s:g}s", seed=s,
                        duration_s=duration_s, imgsz=imgsz, datasets_dir=datasets_dir, beside=beside)
              for s in seeds]
    tot = Counter()
    for sc in scenes:
        tot.update({k: sc[k] for k in ("tp", "fp", "miss", "expected")})
    hours = len(scenes) * duration_s / 3600
    per_rule: dict[str, Counter] = {}
    for sc in scenes:
        for rule, c in sc["per_rule"].items():
            per_rule.setdefault(rule, Counter()).update(c)
    return {"profile": profile, "seeds": list(seeds), "camera_hours": round(hours, 3), **beside.summary(),
            "recall": round(tot["tp"] / max(1, tot["tp"] + tot["miss"]), 3),
            "false_per_camera_hour": round(tot["fp"] / hours, 2), "tp": tot["tp"], "fp": tot["fp"],
            "miss": tot["miss"], "per_rule": {r: dict(c) for r, c in per_rule.items()}, "scenes": scenes}
