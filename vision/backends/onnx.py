"""ONNX Runtime detector: letterbox, batched inference, NMS in numpy/cv2; never imports torch."""
from __future__ import annotations

import ast
from pathlib import Path
from dataclasses import dataclass
from typing import Sequence

import cv2
import numpy as np
import supervision as sv

from vigil.errors import ModelError
from vigil.types import ModelInfo

PAD_VALUE = 114  # ultralytics' letterbox grey
MAX_DET = 300


@dataclass(frozen=True)
class Letterbox:
    """How one image was fitted into the square model input (ultralytics' LetterBox, centred)."""

    gain_x: float
    gain_y: float
    pad_x: int
    pad_y: int
    width: int
    height: int

    def to_image(self, xyxy: np.ndarray) -> np.ndarray:
        """Boxes (n, 4) in the model input's pixels -> the original image's pixels, clipped to it (a new array)."""
        out = np.empty_like(xyxy)
        out[:, [0, 2]] = ((xyxy[:, [0, 2]] - self.pad_x) / self.gain_x).clip(0, self.width)
        out[:, [1, 3]] = ((xyxy[:, [1, 3]] - self.pad_y) / self.gain_y).clip(0, self.height)
        return out


def letterbox(image: np.ndarray, size: int) -> tuple[np.ndarray, Letterbox]:
    """Resize keeping aspect ratio and pad to size x size, exactly as ultralytics does (auto=False)."""
    h, w = image.shape[:2]
    r = min(size / h, size / w)
    new_w, new_h = max(round(w * r), 1), max(round(h * r), 1)
    dw, dh = (size - new_w) / 2, (size - new_h) / 2
    top, bottom = round(dh - 0.1), round(dh + 0.1)
    left, right = round(dw - 0.1), round(dw + 0.1)
    out = image if (w, h) == (new_w, new_h) else cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    out = cv2.copyMakeBorder(out, top, bottom, left, right, cv2.BORDER_CONSTANT, value=(PAD_VALUE,) * 3)
    return out, Letterbox(new_w / w, new_h / h, left, top, w, h)


def to_tensor(images: Sequence[np.ndarray]) -> np.ndarray:
    """Stack letterboxed BGR images into an NCHW float32 RGB tensor in 0-1."""
    batch = np.stack(images)[..., ::-1].transpose(0, 3, 1, 2)
    return np.ascontiguousarray(batch, dtype=np.float32) / 255.0


def parse_names(raw: str | None) -> tuple[str, ...]:
    """Class names from ultralytics' metadata: the repr of a dict {0: 'fire', 1: 'smoke'}."""
    if not raw:
        raise ModelError("expected ONNX metadata 'names' (written by ultralytics' export), found none")
    try:
        names = ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        raise ModelError(f"expected ONNX metadata 'names' to be a dict literal, found {raw[:80]!r}") from None
    if isinstance(names, dict):
        return tuple(str(names[i]) for i in sorted(names))
    if isinstance(names, (list, tuple)):
        return tuple(str(n) for n in names)
    raise ModelError(f"expected ONNX metadata 'names' as a dict or list, found {type(names).__name__}")


def decode(pred: np.ndarray, box: Letterbox, *, conf: float, iou: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One image's raw output (4 + nc, anchors) -> xyxy in the image's pixels, scores, class ids after NMS."""
    scores_all = pred[4:]
    class_id = scores_all.argmax(axis=0)
    score = scores_all[class_id, np.arange(scores_all.shape[1])]
    keep = score > conf
    if not keep.any():
        return np.empty((0, 4), np.float32), np.empty(0, np.float32), np.empty(0, int)
    cx, cy, bw, bh = pred[:4, keep]
    score, class_id = score[keep], class_id[keep]
    xywh = np.stack([cx - bw / 2, cy - bh / 2, bw, bh], axis=1)
    idx = cv2.dnn.NMSBoxesBatched(xywh.tolist(), score.tolist(), class_id.tolist(), conf, iou)
    idx = np.asarray(idx, dtype=int).reshape(-1)[:MAX_DET]
    xywh, score, class_id = xywh[idx], score[idx], class_id[idx]
    xyxy = box.to_image(np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], axis=1))
    return xyxy.astype(np.float32), score.astype(np.float32), class_id.astype(int)


def make_detections(xyxy: np.ndarray, score: np.ndarray, class_id: np.ndarray,
                    classes: tuple[str, ...]) -> sv.Detections:
    names = np.array([classes[i] for i in class_id], dtype=str) if len(class_id) else np.array([], dtype=str)
    return sv.Detections(xyxy=xyxy.reshape(-1, 4).astype(np.float32), confidence=score.astype(np.float32),
                         class_id=class_id.astype(int), data={"class_name": names})


def cpu_session(path: str, threads: int):
    """An ONNX Runtime CPU session for a model many cameras share (a clear ModelError for a bad file)."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    # Many cameras share two cores: idle intra-op threads must sleep, not spin (bench: -30% CPU per camera).
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    opts.add_session_config_entry("session.inter_op.allow_spinning", "0")
    try:
        return ort.InferenceSession(path, sess_options=opts, providers=["CPUExecutionProvider"])
    except Exception as e:  # onnxruntime raises its own untyped errors for bad files
        raise ModelError(f"{path}: expected an ONNX model ONNX Runtime can load, found: {e}") from None


class OnnxDetector:
    """A YOLO model exported by ultralytics, run with ONNX Runtime on the CPU."""

    def __init__(self, session, info: ModelInfo, *, conf: float, iou: float):
        self._session = session
        self.info = info
        self.conf, self.iou = conf, iou
        inp = session.get_inputs()[0]
        self._input = inp.name
        batch_dim = inp.shape[0]
        self.dynamic_batch = not isinstance(batch_dim, int)
        self.static_batch = 1 if self.dynamic_batch else int(batch_dim)
        h = inp.shape[2]
        if isinstance(h, int) and h != info.imgsz:
            # A static-shape export fixes the input size; honour it rather than fail at run time.
            self.info = ModelInfo(**{**info.__dict__, "imgsz": int(h)})

    @classmethod
    def load(cls, path: str, *, conf: float, iou: float, imgsz: int, threads: int, name: str | None,
             version: str | None, profile: str | None, sha256: str) -> "OnnxDetector":
        session = cpu_session(path, threads)
        meta = session.get_modelmeta().custom_metadata_map
        classes = parse_names(meta.get("names"))
        info = ModelInfo(name=name or profile or Path(path).stem,
                         version=version or meta.get("vigil_version") or sha256[:12], profile=profile or "",
                         classes=classes, path=path, sha256=sha256, imgsz=imgsz)
        return cls(session, info, conf=conf, iou=iou)

    def _infer(self, tensor: np.ndarray) -> np.ndarray:
        if self.dynamic_batch or len(tensor) == self.static_batch:
            return self._session.run(None, {self._input: tensor})[0]
        # A static-batch export: run in chunks of its batch size, padding the last one (slower, but correct).
        n, step, outs = len(tensor), self.static_batch, []
        for i in range(0, n, step):
            chunk = tensor[i:i + step]
            if len(chunk) < step:
                chunk = np.concatenate([chunk, np.zeros((step - len(chunk), *chunk.shape[1:]), chunk.dtype)])
            outs.append(self._session.run(None, {self._input: chunk})[0])
        return np.concatenate(outs)[:n]

    def detect(self, images: Sequence[np.ndarray]) -> list[sv.Detections]:
        if len(images) == 0:
            return []
        boxed = [letterbox(img, self.info.imgsz) for img in images]
        out = self._infer(to_tensor([b[0] for b in boxed]))
        result = []
        for pred, (_, box) in zip(out, boxed):
            xyxy, score, cls = decode(pred, box, conf=self.conf, iou=self.iou)
            result.append(make_detections(xyxy, score, cls, self.info.classes))
        return result
