"""Batching frames from many cameras into one inference; thread-safe, owns no thread of its own."""
from __future__ import annotations

import threading
import time
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from vigil.errors import VigilError
from vigil.types import ModelInfo
from vision.detector import Detector


class BatcherClosedError(VigilError):
    """The batcher was closed; the frame was not (and will not be) detected."""


class BatchObserver(Protocol):
    """The port a batcher reports each inference to (the service's metrics); called on the detector thread."""

    def batch_done(self, name: str, frames: int, seconds: float) -> None: ...


@dataclass(frozen=True, eq=False)
class _Pending:
    key: str
    image: np.ndarray
    future: Future
    submitted: float  # time.monotonic()


class Batcher:
    """Cameras `submit` frames; `workers` loops call `step`, each running one inference for up to `max_batch` frames
    (two single-threaded inferences at once use two cores; each camera waits for its frame, so its order holds).

    A batch is run as soon as `max_batch` frames wait, or when the oldest has waited `max_wait_ms`.
    Each future resolves to `(sv.Detections, ModelInfo)` of the model that saw that frame.
    """

    def __init__(self, detector: Detector, max_batch: int = 8, max_wait_ms: float = 30.0, *, name: str = "",
                 observer: BatchObserver | None = None, workers: int = 1):
        if max_batch < 1:
            raise ValueError(f"max_batch must be at least 1, found {max_batch}")
        if workers < 1:
            raise ValueError(f"workers must be at least 1, found {workers}")
        if max_wait_ms < 0:
            raise ValueError(f"max_wait_ms must be >= 0, found {max_wait_ms}")
        self.max_batch = max_batch
        self.max_wait_s = max_wait_ms / 1000.0
        self._detector = detector
        self._queue: deque[_Pending] = deque()
        self._cond = threading.Condition()
        self._closed = False
        # at most `workers` inferences at once, however many threads call step (ONNX Runtime's run is thread-safe)
        self._run_lock = threading.BoundedSemaphore(workers)
        self.workers = workers
        self.name = name  # the profile whose model this batcher runs, as reported to the observer
        self._observer = observer
        self.batches = 0
        self.frames = 0
        self.failures = 0  # batches whose inference raised

    @property
    def info(self) -> ModelInfo:
        return self._detector.info

    @property
    def pending(self) -> int:
        with self._cond:
            return len(self._queue)

    def submit(self, key: str, image: np.ndarray) -> Future:
        """Queue one BGR frame; the future gives `(sv.Detections, ModelInfo)` or the inference's exception."""
        future: Future = Future()
        with self._cond:
            if self._closed:
                future.set_exception(BatcherClosedError(f"batcher closed; frame of {key!r} not detected"))
                return future
            self._queue.append(_Pending(key, image, future, time.monotonic()))
            self._cond.notify_all()
        return future

    def swap(self, detector: Detector) -> None:
        """Hot reload: the next batch runs on `detector`; frames already queued are kept."""
        with self._cond:
            self._detector = detector

    def _take(self, timeout: float) -> tuple[list[_Pending], Detector]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                now = time.monotonic()
                if self._queue:
                    full = len(self._queue) >= self.max_batch
                    ripe = now - self._queue[0].submitted >= self.max_wait_s
                    if full or ripe or self._closed or now >= deadline:
                        n = min(self.max_batch, len(self._queue))
                        return [self._queue.popleft() for _ in range(n)], self._detector
                    wait = min(self._queue[0].submitted + self.max_wait_s, deadline) - now
                else:
                    if self._closed or now >= deadline:
                        return [], self._detector
                    wait = deadline - now
                self._cond.wait(max(wait, 0.0))

    def step(self, timeout: float = 0.1) -> int:
        """Gather one batch (waiting at most `timeout` s), run it, resolve its futures; returns frames done."""
        with self._run_lock:
            items, detector = self._take(timeout)
            items = [p for p in items if p.future.set_running_or_notify_cancel()]
            if not items:
                return 0
            t0 = time.perf_counter()
            try:
                results = detector.detect([p.image for p in items])
                if len(results) != len(items):
                    raise VigilError(f"detector returned {len(results)} results for {len(items)} images")
            except Exception as e:  # every waiting camera must learn of the failure
                self.failures += 1
                for p in items:
                    p.future.set_exception(e)
                return len(items)
            for p, dets in zip(items, results):
                p.future.set_result((dets, detector.info))
            self.batches += 1
            self.frames += len(items)
            if self._observer is not None:
                self._observer.batch_done(self.name, len(items), time.perf_counter() - t0)
            return len(items)

    def close(self) -> None:
        """Refuse new frames and fail the pending ones with a clear error."""
        with self._cond:
            self._closed = True
            pending = list(self._queue)
            self._queue.clear()
            self._cond.notify_all()
        for p in pending:
            if p.future.set_running_or_notify_cancel():
                p.future.set_exception(BatcherClosedError(f"batcher closed before frame of {p.key!r} was detected"))
