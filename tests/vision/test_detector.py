"""Detector backends on a real (tiny, trained-here) YOLO: shapes, names, batching, ONNX vs ultralytics, no torch."""
from __future__ import annotations

import subprocess
import sys

import cv2
import numpy as np
import pytest

from tests.vision.toy_model import TOY_CLASSES, draw_shape
from vigil.errors import ModelError
from vision.backends.onnx import letterbox, parse_names
from vision.detector import file_sha256, load_detector

pytestmark = pytest.mark.slow
LOW_CONF = 0.05  # low, so the equality checks compare many boxes


def match(a, b, tol_px=1.0, tol_score=2e-3):
    """Each detection of `a` has one in `b` with the same class, box within tol_px and score within tol_score."""
    assert len(a) == len(b)
    for i in range(len(a)):
        d = np.abs(b.xyxy - a.xyxy[i]).max(axis=1) + 1000 * (b.class_id != a.class_id[i])
        j = int(np.argmin(d))
        assert d[j] <= tol_px, (a.xyxy[i], b.xyxy)
        assert abs(float(b.confidence[j]) - float(a.confidence[i])) <= tol_score


def test_onnx_model_info_and_output_shapes(toy_model, toy_images):
    det = load_detector(toy_model.onnx, imgsz=toy_model.recipe.imgsz, conf=LOW_CONF, profile="site")
    assert det.info.classes == TOY_CLASSES  # read from the ONNX metadata ultralytics wrote
    assert det.info.version == file_sha256(toy_model.onnx)[:12] and det.info.name == "site"
    assert det.info.imgsz == toy_model.recipe.imgsz
    results = det.detect(toy_images)
    assert len(results) == len(toy_images)
    assert sum(len(r) for r in results) > 0
    for img, r in zip(toy_images, results):
        h, w = img.shape[:2]
        assert r.xyxy.shape == (len(r), 4) and r.confidence.shape == (len(r),)
        assert (r.xyxy[:, [0, 2]] >= 0).all() and (r.xyxy[:, [0, 2]] <= w).all()
        assert (r.xyxy[:, [1, 3]] >= 0).all() and (r.xyxy[:, [1, 3]] <= h).all()
        assert (r.confidence > LOW_CONF).all()
        assert list(r.data["class_name"]) == [TOY_CLASSES[c] for c in r.class_id]


def test_boxes_land_on_the_object_in_image_pixels(toy_model):
    # A non-square frame: letterbox padding and scaling back must put the box on the drawn square.
    img = np.full((120, 200, 3), 130, np.uint8)
    truth = np.array(draw_shape(img, TOY_CLASSES.index(TOY_CLASSES[0]), 120, 50, 32), np.float32)
    r = load_detector(toy_model.onnx, imgsz=toy_model.recipe.imgsz, conf=0.1).detect([img])[0]
    fire = r[r.data["class_name"] == TOY_CLASSES[0]]
    assert len(fire) >= 1
    best = fire.xyxy[int(np.argmax(fire.confidence))]
    inter = np.prod(np.clip(np.minimum(best[2:], truth[2:]) - np.maximum(best[:2], truth[:2]), 0, None))
    union = np.prod(best[2:] - best[:2]) + np.prod(truth[2:] - truth[:2]) - inter
    assert inter / union >= 0.5, (best, truth)  # a wrong pad or gain would miss by ~40 px


def test_batch_gives_the_same_detections_as_one_by_one(toy_model, toy_images):
    det = load_detector(toy_model.onnx, imgsz=toy_model.recipe.imgsz, conf=LOW_CONF)
    together = det.detect(toy_images)
    for img, batched in zip(toy_images, together):
        match(det.detect([img])[0], batched, tol_px=1e-2, tol_score=1e-4)


def test_static_batch_export_loops_with_the_same_result(toy_model, toy_images):
    static = load_detector(toy_model.onnx_static, imgsz=toy_model.recipe.imgsz, conf=LOW_CONF)
    dynamic = load_detector(toy_model.onnx, imgsz=toy_model.recipe.imgsz, conf=LOW_CONF)
    assert static.static_batch == 1 and not static.dynamic_batch and dynamic.dynamic_batch
    for a, b in zip(static.detect(toy_images), dynamic.detect(toy_images)):
        match(a, b, tol_px=1e-2, tol_score=1e-4)


def test_onnx_and_ultralytics_agree_on_the_same_model(toy_model, toy_images):
    onnx = load_detector(toy_model.onnx, imgsz=toy_model.recipe.imgsz, conf=LOW_CONF)
    ultra = load_detector(toy_model.pt, imgsz=toy_model.recipe.imgsz, conf=LOW_CONF)
    assert ultra.info.classes == onnx.info.classes
    a, b = onnx.detect(toy_images), ultra.detect(toy_images)
    assert sum(len(r) for r in a) > 0
    for ra, rb in zip(a, b):
        match(ra, rb)
        assert list(rb.data["class_name"]) == [TOY_CLASSES[c] for c in rb.class_id]


def test_onnx_path_never_imports_torch(toy_model):
    code = (
        "import sys, numpy as np\n"
        "from vision.detector import load_detector\n"
        "import vision.batcher, vision.analyzer, vision.annotate\n"
        f"d = load_detector({str(toy_model.onnx)!r}, imgsz={toy_model.recipe.imgsz})\n"
        "d.detect([np.zeros((90, 160, 3), np.uint8)] * 2)\n"
        "bad = [m for m in ('torch', 'ultralytics', 'torchvision') if m in sys.modules]\n"
        "assert not bad, bad\n"
        "print('clean')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "clean" in out.stdout, out.stderr[-2000:]


@pytest.mark.parametrize("name, content, expect", [
    ("model.txt", b"x", "expected a model file ending in"),
    ("model.onnx", b"not an onnx model", "expected an ONNX model"),
    ("missing.onnx", None, "found nothing"),
])
def test_bad_model_files_fail_clearly(tmp_path, name, content, expect):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ModelError, match=expect):
        load_detector(path)


@pytest.mark.parametrize("raw, expect", [
    ("{0: 'fire', 1: 'smoke'}", ("fire", "smoke")),
    ("['a', 'b']", ("a", "b")),
    (None, ModelError),
    ("not a dict", ModelError),
])
def test_parse_names_from_metadata(raw, expect):
    if expect is ModelError:
        with pytest.raises(ModelError):
            parse_names(raw)
    else:
        assert parse_names(raw) == expect


def test_letterbox_matches_ultralytics_geometry():
    img = np.zeros((360, 640, 3), np.uint8)
    out, box = letterbox(img, 320)
    assert out.shape == (320, 320, 3)
    assert (box.pad_x, box.pad_y) == (0, 70) and box.gain_x == pytest.approx(0.5)
    assert (out[:70] == 114).all() and (out[70:250] == 0).all() and (out[250:] == 114).all()
    assert cv2.mean(out)[0] > 0
