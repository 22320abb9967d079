"""INT8 copies of a shipped detector: static quantization calibrated on training images, judged on held-out sources.

The ONNX model's convolutions become int8 (QDQ, per-channel weights) and run about twice as fast on a CPU with
VNNI; the YOLO head's decoding (the grid, the box distribution, the final concat of boxes in pixels with class
scores in 0-1) stays float, because one int8 scale for both ranges wipes the class scores out (measured: held-out
AP50 0.0 when the head is quantized). Calibration uses the recipe's *training* sources only, letterboxed exactly
as the service does, so the held-out sources the card scores stay unseen.
"""
from __future__ import annotations

import contextlib
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Sequence

import cv2
import numpy as np

from vigil.errors import ModelError
from vision.backends.onnx import letterbox, to_tensor

PRECISION_KEY = "vigil_precision"
SOURCE_KEY = "vigil_quantized_from"
# Head nodes kept float: everything of the Detect layer that is not one of its convolutions (or their SiLU).
_HEAD = re.compile(r"^/model\.\d+/")


@dataclass(frozen=True)
class QuantizeOptions:
    imgsz: int = 320
    per_source: int = 40  # calibration images per training source
    threads: int = 1  # ONNX Runtime threads for the speed measurement


def calibration_images(profile: str, datasets_dir: Path, per_source: int) -> list[Path]:
    """Evenly spaced training images of each of the profile's training sources (never a held-out source)."""
    from training.recipe_data import HELD_OUT, SOURCES

    if profile not in SOURCES:
        raise ModelError(f"expected a profile among {', '.join(SOURCES)}, found {profile!r}")
    held_out = set(HELD_OUT.get(profile, ()))
    picked: list[Path] = []
    for source in SOURCES[profile]:
        if source in held_out:
            continue
        files = sorted((Path(datasets_dir) / source / "images" / "train").glob("*.jpg"))
        if files:
            step = max(1, len(files) // per_source)
            picked += files[::step][:per_source]
    if not picked:
        raise ModelError(f"{datasets_dir}: expected the shared datasets' training images (<source>/images/train/"
                         f"*.jpg) for profile {profile!r}, found none")
    return picked


def _detect_head(model) -> str:
    """The node-name prefix of the YOLO Detect layer: the layer feeding the graph's output."""
    out = model.graph.output[0].name
    for node in model.graph.node:
        if out in node.output:
            m = _HEAD.match(node.name)
            if m:
                return m.group(0)
    raise ModelError("expected an ultralytics YOLO export (output produced by a /model.N/ Detect layer), found "
                     f"output {out!r} from no such layer")


def _float_head_nodes(model, head: str) -> list[str]:
    return [n.name for n in model.graph.node
            if n.name.startswith(head) and n.op_type != "Conv" and "/act/" not in n.name]


class Calibration:
    """onnxruntime's CalibrationDataReader protocol: one image per call, made into the model's input exactly as
    at run time (`to_input`; default: the YOLO detector's letterbox), None at the end."""

    def __init__(self, input_name: str, images: Sequence[Path | np.ndarray], imgsz: int,
                 to_input: Callable[[np.ndarray], np.ndarray] | None = None):
        self._it: Iterator[Path | np.ndarray] = iter(images)
        self._name = input_name
        self._to_input = to_input or (lambda img: to_tensor([letterbox(img, imgsz)[0]]))

    def get_next(self) -> dict | None:
        for item in self._it:
            img = cv2.imread(str(item)) if isinstance(item, Path) else item
            if img is not None:
                return {self._name: self._to_input(img)}
        return None


def quantize_detector(src: Path, out: Path, images: Sequence[Path | np.ndarray], imgsz: int = 320) -> Path:
    """Write an int8 copy of the detector `src` at `out` (class names and metadata kept, plus its precision)."""
    import onnx
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    from vision.detector import file_sha256

    src, out = Path(src), Path(out)
    if src.resolve() == out.resolve():
        raise ModelError(f"{out}: expected an output path other than the model being quantized")
    try:
        model = onnx.load(str(src))
    except Exception as e:  # noqa: BLE001 - onnx raises its own untyped errors for bad files
        raise ModelError(f"{src}: expected an ONNX model, found: {e}") from None
    if any(p.key == PRECISION_KEY and p.value == "int8" for p in model.metadata_props):
        raise ModelError(f"{src}: expected a float model, found one already quantized to int8")
    head = _detect_head(model)
    input_name = model.graph.input[0].name
    if not images:
        raise ModelError("expected calibration images, found none")
    CalibrationDataReader.register(Calibration)
    out.parent.mkdir(parents=True, exist_ok=True)
    src, out = src.resolve(), out.resolve()
    images = [i.resolve() if isinstance(i, Path) else i for i in images]
    part = out.with_name(out.name + ".part")
    # onnxruntime's symbolic shape inference drops its scratch files in the working directory when it gives up
    # (it does on this dynamic-shape export, and carries on): run it inside a scratch folder of our own
    with tempfile.TemporaryDirectory(prefix="vigil-quant-") as tmp, contextlib.chdir(tmp):
        pre = Path(tmp) / "pre.onnx"
        quant_pre_process(str(src), str(pre), skip_symbolic_shape=True)
        quantize_static(str(pre), str(part), Calibration(input_name, images, imgsz),
                        quant_format=QuantFormat.QDQ, per_channel=True, activation_type=QuantType.QUInt8,
                        weight_type=QuantType.QInt8, nodes_to_exclude=_float_head_nodes(model, head))
    quant = onnx.load(str(part))
    del quant.metadata_props[:]
    for p in model.metadata_props:
        quant.metadata_props.add(key=p.key, value=p.value)
    quant.metadata_props.add(key=PRECISION_KEY, value="int8")
    quant.metadata_props.add(key=SOURCE_KEY, value=file_sha256(src))
    onnx.save(quant, str(part))
    part.replace(out)  # never a half-written model where a config may point
    return out


def is_int8(model: Path) -> bool:
    """Whether `model` is an int8 copy made here (its metadata says so)."""
    import onnx

    try:
        meta = onnx.load(str(model), load_external_data=False).metadata_props
    except Exception:  # noqa: BLE001 - not an ONNX file: not ours either
        return False
    return any(p.key == PRECISION_KEY and p.value == "int8" for p in meta)


def cpu_ms_per_frame(model: Path, imgsz: int = 320, threads: int = 1, frames: int = 40) -> float:
    """CPU milliseconds per letterboxed frame (batch 1), measured as process CPU time, not wall time."""
    from vision.backends.onnx import cpu_session

    session = cpu_session(str(model), threads)  # configured as the service runs it (idle threads sleep)
    x = np.random.default_rng(0).random((1, 3, imgsz, imgsz), dtype=np.float32)
    name = session.get_inputs()[0].name
    for _ in range(5):
        session.run(None, {name: x})
    t = time.process_time()
    for _ in range(frames):
        session.run(None, {name: x})
    return round((time.process_time() - t) / frames * 1000, 2)


def compare(profile: str, fp32: Path, int8: Path, datasets_dir: Path | None, opts: QuantizeOptions) -> dict:
    """Held-out-source AP50 per class and CPU per frame of the float model and its int8 copy, side by side."""
    from training.evaluate import default_heldout_sources, heldout_source_metrics
    from vision.detector import load_detector

    sources = default_heldout_sources(datasets_dir, profile)
    result: dict = {"imgsz": opts.imgsz, "threads": opts.threads, "model": Path(int8).name,
                    "calibration_per_source": opts.per_source}
    for tag, path in (("fp32", fp32), ("int8", int8)):
        row: dict = {"cpu_ms": cpu_ms_per_frame(path, opts.imgsz, opts.threads),
                     "bytes": Path(path).stat().st_size}
        if sources:
            det = load_detector(path, conf=0.001, imgsz=opts.imgsz, threads=2, profile=profile)
            res = heldout_source_metrics(det, profile, sources)
            per_class: dict[str, list[float]] = {}
            for by_class in res["heldout_sources"].values():
                for c, ap in by_class.items():
                    per_class.setdefault(c, []).append(ap)
            row["heldout_ap50"] = {c: round(float(np.mean(v)), 4) for c, v in sorted(per_class.items())}
            row["heldout_source_map50"] = res["heldout_source_map50"]
        result[tag] = row
    result["speedup"] = round(result["fp32"]["cpu_ms"] / max(result["int8"]["cpu_ms"], 1e-6), 2)
    return result
