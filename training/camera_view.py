"""What the operator of a camera the model never saw gets from it: per held-out source and class, how many of the
images that show the class the detector reports it on at all (at the service's confidence), how many of the images
that do not show it it reports it on anyway, and AP50 beside AP at looser IoU.

AP50 asks for the detector's box to overlap the labeller's by half. Sources disagree on what one box is (a whole
burning area, or each flame; a crowd, or each person): a detector that finds the thing but boxes it the other way
scores low AP50 and high AP at IoU 0.1. An event opens on a camera when the class is reported at all, frame after
frame, so the image-level rates are the closer measure of what an operator sees; AP50 stays the headline.

    python -m training.camera_view --profile site --extra-datasets /work/extra-datasets --card
"""
from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from training.evaluate import class_indices, source_images
from training.metrics import DetectionTally
from training.model_card import fmt, rerender
from training.recipe_data import DataPlan
from training.recipe_scenario import Beside, scenario_config
from training.recipe_sources import load_extra_sources
from vigil.catalogue import PROFILE_CLASSES
from vigil.config import DetectorConfig
from vigil.errors import TrainingError, VigilError

LOOSE_IOU = (0.3, 0.1)
SERVICE = DetectorConfig.model_fields  # the service's defaults (conf)


@dataclass(frozen=True)
class HeldOutSource:
    name: str
    folder: Path
    labelled: tuple[str, ...]  # the profile classes this source labels completely


@dataclass
class ImageCounts:
    """Per class: images that show it and how many of those the detector reports it on; the same for images that
    do not show it."""

    showing: int = 0
    reported_showing: int = 0
    without: int = 0
    reported_without: int = 0

    def add(self, shows: bool, reported: bool) -> None:
        if shows:
            self.showing += 1
            self.reported_showing += reported
        else:
            self.without += 1
            self.reported_without += reported

    def summary(self) -> dict:
        return {"images_showing": self.showing, "reported_on_showing": self.reported_showing,
                "found_share": round(self.reported_showing / self.showing, 4) if self.showing else None,
                "images_without": self.without, "reported_on_without": self.reported_without,
                "false_share": round(self.reported_without / self.without, 4) if self.without else None}


def source_view(detector, source: HeldOutSource, profile: str, conf: float) -> dict:
    """One source: per class it labels, AP50 and AP at LOOSE_IOU (every box the detector gives, as for AP), and the
    image-level counts of boxes at `conf` (what the service keeps)."""
    classes = tuple(c for c in PROFILE_CLASSES[profile] if c in source.labelled)
    if not classes:
        raise TrainingError(f"{source.name}: expected it to label a {profile} class, found it labels "
                            f"{', '.join(source.labelled) or 'none'}")
    tally = DetectionTally(classes, pr_conf=conf, extra_iou=LOOSE_IOU)
    counts = {c: ImageCounts() for c in classes}
    for _, img, gt, gt_cls in source_images(source.folder, classes):
        dets = detector.detect([img])[0]
        keep, pred_cls = class_indices(dets, classes)
        conf_kept = dets.confidence[keep]
        tally.add(dets.xyxy[keep], conf_kept, pred_cls, gt, gt_cls)
        reported = set(pred_cls[conf_kept >= conf].tolist())
        for k, c in enumerate(classes):
            counts[c].add(bool(np.any(gt_cls == k)), k in reported)
    if tally.images == 0:
        raise TrainingError(f"{source.folder}: expected images under images/train or images/val, found none")
    per_class = tally.summary()["per_class"]
    out = {}
    for c in classes:
        ap = per_class.get(c)
        out[c] = {"ap50": ap["ap50"] if ap else None, "ap_at_iou": ap["ap_at_iou"] if ap else None,
                  **counts[c].summary()}
    return out


class StillPipeline:
    """The service's per-frame chain on a still image: the detector (with the people detector, where the profile
    runs one), one state per object and the second looks. No fire cues: they judge frames over time."""

    def __init__(self, detector, classifiers=()):
        self.detector, self.classifiers = detector, tuple(classifiers)

    def detect(self, images):
        from vision.analyzer import second_looks

        return [second_looks(d, img, self.classifiers) for img, d in zip(images, self.detector.detect(images))]


def camera_view(detector, sources: list[HeldOutSource], profile: str, conf: float) -> dict:
    return {"conf": conf, "loose_iou": list(LOOSE_IOU),
            "sources": {s.name: source_view(detector, s, profile, conf) for s in sources}}


def held_out_sources(profile: str, names: list[str], datasets_dir: Path | None,
                     extra_dirs: tuple[Path, ...]) -> list[HeldOutSource]:
    """The named sources, found in the shared datasets or the --extra-datasets folders, with the classes they label."""
    extra = {e.name: e for e in load_extra_sources(extra_dirs)} if extra_dirs else {}
    known = DataPlan(profile, datasets_dir, extra=tuple(extra.values())).sources()
    out = []
    for name in names:
        if name not in known:
            raise TrainingError(f"held-out source {name!r}: expected a {profile} source ({', '.join(known)}); "
                                "an extra source needs --extra-datasets")
        folder = extra[name].root if name in extra else Path(datasets_dir or "") / name
        if not (folder / "images").is_dir():
            raise TrainingError(f"{folder}: expected the source's images/ folder, found none "
                                f"({'--datasets' if name not in extra else 'its --extra-datasets folder'} wrong?)")
        out.append(HeldOutSource(name, folder, tuple(known[name])))
    return out


def _share(k: int, n: int) -> str:
    return f"{k} of {n} ({100 * k / n:.0f} %)" if n else "n/a (none)"


def _beside(b: dict) -> str:
    parts = ([f"people detector `{b['people']}` (its boxes from {b.get('people_conf', 'its threshold')})"]
             if b.get("people") else []) + \
            ([f"second looks {', '.join(f'`{c}`' for c in b['second_look'])}"] if b.get("second_look") else [])
    return ("with " + " and ".join(parts) if parts else "the detector alone") + \
        "; no fire cues, which judge frames over time"


def card_section(v: dict) -> list[str]:
    """The model card's section for a recorded view (metrics.camera_view)."""
    loose = [f"{t:g}" for t in v["loose_iou"]]
    lines = ["", "### On cameras it never saw: is the class reported at all, and do the boxes agree?", "",
             f"The same held-out sources through what the service runs on each frame ({v['imgsz']} input; "
             + _beside(v.get("beside") or {}) + f"). Reported: a box of the class at confidence >= {v['conf']} "
             "(the service's threshold) anywhere in the image. AP at a looser IoU counts a box that overlaps the "
             "labeller's less than half: sources disagree on what one box is (a whole burning area or each flame), "
             "so a detector that finds the thing but boxes it the other way scores low AP50 and high AP at IoU "
             "0.1.", "",
             "| source | class | AP50 | " + " | ".join(f"AP at IoU {t}" for t in loose)
             + " | images showing it, reported on | images without it, reported on |",
             "|---|---|---|" + "---|" * len(loose) + "---|---|"]
    for src, row in v["sources"].items():
        for c, r in row.items():
            at = r.get("ap_at_iou") or {}
            lines.append(f"| {src} | {c} | {fmt(r['ap50'])} | " + " | ".join(fmt(at.get(t)) for t in loose)
                         + f" | {_share(r['reported_on_showing'], r['images_showing'])} | "
                         f"{_share(r['reported_on_without'], r['images_without'])} |")
    return lines + ["", "(`python -m training.camera_view --card`; an image \"without\" a class is one of that "
                    "source's images whose labels do not show it.)"]


def main(argv: list[str] | None = None) -> int:
    from vision.detector import load_detector, profile_detector
    from vision.second_look import CropClassifier

    ap = argparse.ArgumentParser(prog="python -m training.camera_view", description=__doc__.split("\n\n")[0])
    ap.add_argument("--profile", required=True, choices=sorted(PROFILE_CLASSES))
    ap.add_argument("--model", default=None, help="default: models/<profile>.onnx")
    ap.add_argument("--source", action="append", default=[],
                    help="a held-out source to score (repeatable; default: the card's held-out sources)")
    ap.add_argument("--conf", type=float, default=SERVICE["conf"].default,
                    help="the service's detector confidence (config: conf)")
    ap.add_argument("--imgsz", type=int, default=None, help="default: the card's image size")
    ap.add_argument("--datasets", type=Path, default=Path("../shared/datasets"))
    ap.add_argument("--extra-datasets", action="append", type=Path, default=[],
                    help="the --extra-datasets folder a held-out source came from (repeatable)")
    ap.add_argument("--alone", action="store_true",
                    help="the detector file alone (default: with what the profile runs beside it: the people "
                         "detector and second-look classifiers of vigil.shipped)")
    ap.add_argument("--card", action="store_true", help="record the view in models/<profile>.json and re-render")
    args = ap.parse_args(argv)
    if not 0 < args.conf < 1:
        raise SystemExit(f"--conf: expected a confidence between 0 and 1, found {args.conf}")
    model = Path(args.model or f"models/{args.profile}.onnx")
    js = model.with_suffix(".json")
    card = json.loads(js.read_text()) if js.is_file() else None
    names = args.source or ((card or {}).get("training") or {}).get("held_out") or []
    if not names:
        raise SystemExit(f"expected --source NAME, or a card {js} that names its held-out sources; found neither")
    datasets = args.datasets if args.datasets.is_dir() else None
    try:
        sources = held_out_sources(args.profile, names, datasets, tuple(args.extra_datasets))
    except VigilError as e:  # an unknown or missing source, a bad extra manifest
        raise SystemExit(str(e)) from None
    imgsz = args.imgsz or ((card or {}).get("training") or {}).get("imgsz") or 320
    beside = Beside() if args.alone else Beside.shipped(args.profile)
    loaded = scenario_config(args.profile, model, beside)  # the profile's config, as the service builds it

    def every_box(path, **kw):  # AP wants every box; the image-level counts keep those at --conf
        return load_detector(path, **{**kw, "conf": 0.001, "threads": 2})

    detector = profile_detector(loaded, args.profile, imgsz=imgsz, loader=every_box)  # + people, at people_conf
    pipeline = StillPipeline(detector, [CropClassifier.load(c, threads=2) for c in beside.second_look])
    dcfg = loaded.config.detectors[args.profile]
    res = {"model": str(model), "imgsz": imgsz, "beside": beside.summary() | {"fire_cues": False} | (
               {"people_conf": dcfg.people_conf} if beside.people else {}),
           **camera_view(pipeline, sources, args.profile, args.conf)}
    print(json.dumps(res, indent=1))
    if args.card:
        if card is None:
            raise SystemExit(f"--card: expected the model's card at {js}, found none")
        card["metrics"]["camera_view"] = res
        js.write_text(json.dumps(card, indent=1, ensure_ascii=False) + "\n")
        rerender(model.parent, args.profile, datasets)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
