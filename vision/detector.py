"""The detector interface and `load_detector`, which picks the backend by the model file's suffix."""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Callable, Protocol, Sequence, runtime_checkable

import numpy as np
import supervision as sv

from vigil.catalogue import UNIFIED_CLASSES
from vigil.errors import ModelError
from vigil.types import ModelInfo

BACKENDS = {".onnx": "onnx", ".pt": "ultralytics"}


@runtime_checkable
class Detector(Protocol):
    """Finds objects in BGR images; one `sv.Detections` per image, in that image's pixels."""

    info: ModelInfo

    def detect(self, images: Sequence[np.ndarray]) -> list[sv.Detections]: ...


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _check_profile(info: ModelInfo, profile: str | None) -> None:
    if profile is None:
        return
    unknown = [c for c in info.classes if c not in UNIFIED_CLASSES]
    if unknown:
        raise ModelError(f"{info.path}: expected class names from the catalogue ({', '.join(UNIFIED_CLASSES)}) "
                         f"for profile {profile!r}, found unknown {', '.join(unknown)}")


def load_detector(path: str | Path, *, conf: float = 0.25, iou: float = 0.45, imgsz: int = 320, threads: int = 1,
                  name: str | None = None, version: str | None = None, profile: str | None = None) -> Detector:
    """Load a model file: `.onnx` runs on ONNX Runtime (no torch), `.pt` on ultralytics.

    `version` defaults to the model's metadata or the file's sha256[:12]; `name` to the profile or file stem.
    """
    p = Path(path)
    backend = BACKENDS.get(p.suffix.lower())
    if backend is None:
        raise ModelError(f"{p}: expected a model file ending in {' or '.join(BACKENDS)}, found {p.suffix or 'no suffix'!r}")
    if not p.is_file():
        raise ModelError(f"{p}: expected a model file, found {'a folder' if p.is_dir() else 'nothing'} at that path")
    if imgsz % 32 or imgsz < 32:
        raise ModelError(f"{p}: expected imgsz a positive multiple of 32, found {imgsz}")
    kw = dict(conf=conf, iou=iou, imgsz=imgsz, threads=threads, name=name, version=version, profile=profile,
              sha256=file_sha256(p))
    if backend == "onnx":
        from vision.backends.onnx import OnnxDetector

        detector = OnnxDetector.load(str(p), **kw)
    else:
        from vision.backends.ultra import UltralyticsDetector

        detector = UltralyticsDetector.load(str(p), **kw)
    _check_profile(detector.info, profile)
    return detector


def profile_detector(loaded, profile: str, *, model_path: str | Path | None = None, imgsz: int | None = None,
                     name: str | None = None, version: str | None = None,
                     loader: Callable[..., Detector] | None = None, check_classes: bool = True) -> Detector | None:
    """The one "detector for this profile" factory (service start, hot reload, offline analysis, supervisor).

    `model_path` (a promoted model, or `vigil analyze --model`) else the config's `detectors.<profile>.model`;
    the threshold (`load_conf`: low enough for the fire cues), IoU, threads and input size from that detector
    config, the loader's defaults where there is none; `imgsz` overrides the size (a promoted model's own). With
    `people` in that config, the people detector's person boxes join the detector's (vision.people). None
    when neither a path nor a config names a model. `check_classes=False` takes a model whose class names are
    not the catalogue's (benches comparing with a stock COCO model).
    """
    dcfg = loaded.config.detectors.get(profile)
    if model_path is None:
        if dcfg is None:
            return None
        model_path = loaded.resolve(dcfg.model)
    kw: dict = dict(conf=dcfg.load_conf, iou=dcfg.iou, threads=dcfg.threads) if dcfg is not None else {}
    size = imgsz or (dcfg.imgsz if dcfg is not None else 320)
    detector = (loader or load_detector)(model_path, imgsz=size, name=name, version=version,
                                         profile=profile if check_classes else None, **kw)
    if dcfg is None or dcfg.people is None:
        return detector
    from vision.backends.nanodet import NanoDetPeople
    from vision.people import WithPeople

    people = NanoDetPeople.load(loaded.resolve(dcfg.people), conf=dcfg.people_conf, threads=dcfg.threads)
    try:
        return WithPeople(detector, people)
    except ValueError as e:
        raise ModelError(f"detectors.{profile}.people: {e}") from None
