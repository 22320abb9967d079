"""The batcher with a real ONNX detector: many cameras, one inference per batch, hot swap, close."""
from __future__ import annotations

import threading

import numpy as np
import pytest

from vision.batcher import Batcher, BatcherClosedError
from vision.detector import load_detector

pytestmark = pytest.mark.slow


@pytest.fixture
def detector(toy_model):
    return load_detector(toy_model.onnx, imgsz=toy_model.recipe.imgsz, conf=0.05, name="toy", version="v1")


def test_frames_from_many_cameras_are_batched_and_routed(detector, toy_images):
    batcher = Batcher(detector, max_batch=4, max_wait_ms=200)
    futures: dict[str, object] = {}

    def camera(i: int):
        futures[f"cam{i}"] = batcher.submit(f"cam{i}", toy_images[i])

    threads = [threading.Thread(target=camera, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    done = 0
    while done < 8:
        done += batcher.step(timeout=1.0)
    assert batcher.batches == 2 and batcher.frames == 8
    for i in range(8):
        dets, info = futures[f"cam{i}"].result(timeout=1)
        expected = detector.detect([toy_images[i]])[0]
        assert info.version == "v1"
        assert len(dets) == len(expected)
        np.testing.assert_allclose(np.sort(dets.confidence), np.sort(expected.confidence), atol=1e-4)


def test_a_lone_frame_goes_after_max_wait(detector, toy_images):
    batcher = Batcher(detector, max_batch=8, max_wait_ms=20)
    fut = batcher.submit("cam", toy_images[0])
    assert batcher.step(timeout=2.0) == 1
    assert fut.done() and batcher.step(timeout=0.01) == 0


def test_swap_applies_from_the_next_batch(toy_model, detector, toy_images):
    batcher = Batcher(detector, max_batch=1, max_wait_ms=0)
    first = batcher.submit("cam", toy_images[0])
    batcher.step()
    newer = load_detector(toy_model.onnx, imgsz=toy_model.recipe.imgsz, name="toy", version="v2")
    queued = batcher.submit("cam", toy_images[1])  # queued before the swap, run after it: not lost
    batcher.swap(newer)
    batcher.step()
    assert first.result()[1].version == "v1" and queued.result()[1].version == "v2"
    assert batcher.info.version == "v2"


def test_close_fails_pending_and_later_frames(detector, toy_images):
    batcher = Batcher(detector)
    pending = batcher.submit("cam", toy_images[0])
    batcher.close()
    with pytest.raises(BatcherClosedError, match="cam"):
        pending.result(timeout=1)
    with pytest.raises(BatcherClosedError):
        batcher.submit("cam", toy_images[0]).result(timeout=1)


def test_an_inference_error_reaches_every_camera_in_the_batch(detector, toy_images):
    batcher = Batcher(detector, max_batch=2, max_wait_ms=0)
    good = batcher.submit("a", toy_images[0])
    bad = batcher.submit("b", np.zeros((0, 0, 3), np.uint8))  # an empty frame: the real backend refuses it
    batcher.step()
    for fut in (good, bad):
        with pytest.raises(Exception):
            fut.result(timeout=1)
    assert batcher.submit("a", toy_images[0]) and batcher.step() == 1  # the batcher keeps working


class RecordedBatches:
    """The BatchObserver port, recording what it is told (the service's metrics implement it)."""

    def __init__(self):
        self.calls: list[tuple[str, int, float]] = []

    def batch_done(self, name: str, frames: int, seconds: float) -> None:
        self.calls.append((name, frames, seconds))


def test_each_inference_is_reported_to_the_observer_and_failures_are_counted(detector, toy_images):
    seen = RecordedBatches()
    batcher = Batcher(detector, max_batch=4, max_wait_ms=0, name="site", observer=seen)
    for i in range(3):
        batcher.submit(f"cam{i}", toy_images[i])
    assert batcher.step(timeout=1.0) == 3
    batcher.submit("bad", np.zeros((0, 0, 3), np.uint8))  # the real backend refuses an empty frame
    batcher.step()
    assert [(name, frames) for name, frames, _ in seen.calls] == [("site", 3)]  # a failed inference is no latency
    assert seen.calls[0][2] > 0
    assert (batcher.batches, batcher.frames, batcher.failures) == (1, 3, 1)


class CountingDetector:
    """The real detector, counting how many of its inferences run at the same time."""

    def __init__(self, detector):
        self.detector, self.info = detector, detector.info
        self.running = self.most = 0
        self._lock = threading.Lock()

    def detect(self, images):
        with self._lock:
            self.running += 1
            self.most = max(self.most, self.running)
        try:
            for _ in range(5):  # long enough for a second worker to start while this one runs
                out = self.detector.detect(images)
            return out
        finally:
            with self._lock:
                self.running -= 1


@pytest.mark.parametrize("workers", [1, 2])
def test_workers_bound_the_inferences_run_at_once(detector, toy_images, workers):
    counting = CountingDetector(detector)
    batcher = Batcher(counting, max_batch=1, max_wait_ms=0, workers=workers)
    futures = [batcher.submit(f"cam{i}", toy_images[i % len(toy_images)]) for i in range(8)]
    threads = [threading.Thread(target=lambda: [batcher.step(0.05) for _ in range(8)]) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert all(f.result(timeout=1)[1] == detector.info for f in futures)  # every frame detected once
    assert counting.most == workers  # three threads stepping, never more inferences than workers
    with pytest.raises(ValueError, match="workers must be at least 1"):
        Batcher(detector, workers=0)
