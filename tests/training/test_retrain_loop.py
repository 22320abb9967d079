"""Done-when: reviewed alerts -> dataset -> CPU training -> evaluation -> gate -> promote -> a running
pipeline hot-reloads the model (violations carry its version) -> rollback returns to the old one."""
from __future__ import annotations

import shutil
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import av
import numpy as np
import pytest
import supervision as sv
import typer
from typer.testing import CliRunner

from api.cli_data import register
from api.context import Services
from api.service.model_watch import ModelWatcher
from tests.datasets.reviewed import seed_reviews
from tests.training.conftest import fire_cycle_boxes, fire_cycle_frames, fire_off_s, toy_shots
from training.registry import get_model, list_models
from vigil import audit
from vigil.catalogue import RULES, rules_for_profile
from vigil.config_loader import load_config
from vigil.db.models import User
from vigil.settings import Settings
from vigil.types import VideoFrame
from vision.analyzer import CameraAnalyzer
from vision.batcher import Batcher
from vision.detector import load_detector

FPS = 5.0
FIRE_ON_S = 5.0  # seconds of fire per cycle of the looped video
T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
TRIGGER = RULES["open_burning"]
SWAP_WAIT_CYCLES = 3  # media time a wait may take, in fire cycles: two whole bursts open within three
WALL_CAP_S = 300.0  # only a safety net for a stalled pipeline: the waits are measured in media time


def _write_video(frames: list[np.ndarray], path: Path) -> Path:
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=int(FPS), options={"g": "5", "bf": "0"})
        s.width, s.height, s.pix_fmt = frames[0].shape[1], frames[0].shape[0], "yuv420p"
        for i, img in enumerate(frames):
            f = av.VideoFrame.from_ndarray(img, format="bgr24")
            f.pts = i
            c.mux(s.encode(f))
        c.mux(s.encode(None))
    return path


def _decode(path: Path) -> list[np.ndarray]:
    with av.open(str(path), timeout=(5, 5)) as c:
        return [f.to_ndarray(format="bgr24") for f in c.decode(video=0)]


@dataclass(frozen=True)
class Swap:
    """A hot swap as the pipeline saw it: the media time already processed just before and just after it."""

    version: str
    before_pts: float
    after_pts: float

    @property
    def effective_pts(self) -> float:
        """Every frame from here on was submitted after the swap: the frame in flight during it is the last
        that may have gone to the old model."""
        return self.after_pts + 2 / FPS


def _frame(seq: int, img: np.ndarray) -> VideoFrame:
    pts = seq / FPS
    return VideoFrame(camera_id="cam", seq=seq, pts_s=pts, t_mono=pts, captured_at=T0 + timedelta(seconds=pts),
                      image=img, source_size=(img.shape[1], img.shape[0]))


class Pipeline:
    """A camera thread (decoded video, looped, motion gate + tracker + rules) and a detector thread (Batcher)."""

    def __init__(self, images: list[np.ndarray], batcher: Batcher, analyzer: CameraAnalyzer, cycle_s: float):
        self.images, self.batcher, self.analyzer, self.cycle_s = images, batcher, analyzer, cycle_s
        self.violations: list = []
        self.detected: list[tuple[float, str, float]] = []  # (pts, model version, best trigger-class confidence)
        self.swaps: list[Swap] = []
        self.pts = 0.0
        self.submitted = self.resolved = 0
        self.errors: list[BaseException] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._camera, daemon=True),
                         threading.Thread(target=self._detect, daemon=True)]

    def start(self):
        for t in self._threads:
            t.start()

    def swap(self, detector) -> None:
        """The ModelWatcher's swap callback: hand the batcher the new detector, noting where the media was."""
        before = self.pts
        self.batcher.swap(detector)
        self.swaps.append(Swap(detector.info.version, before, self.pts))

    def _detect(self):
        while not self._stop.is_set():
            self.batcher.step(timeout=0.05)

    def _camera(self):
        seq = 0
        try:
            while not self._stop.is_set():
                for img in self.images:
                    frame = _frame(seq, img)
                    pts = frame.pts_s
                    dets = info = None
                    if self.analyzer.wants_detection(frame):
                        self.submitted += 1
                        dets, info = self.batcher.submit("cam", img).result(timeout=60)
                        self.resolved += 1
                        fire = dets.confidence[np.isin(dets.data["class_name"], TRIGGER.classes)] if len(dets) else ()
                        self.detected.append((pts, info.version, float(max(fire, default=0.0))))
                    self.violations.extend(self.analyzer.update(frame, dets, info).violations)
                    self.pts = pts
                    seq += 1
                    time.sleep(0.004)
                    if self._stop.is_set():
                        return
        except BaseException as e:  # surfaced by the test
            self.errors.append(e)

    def opened_since(self, pts: float) -> list:
        return [v for v in list(self.violations) if v.phase == "open" and v.start_s >= pts]

    def wait_opened(self, since: float, n: int = 2, cycles: int = SWAP_WAIT_CYCLES) -> list:
        """The first `n` events opened at or after media time `since`; fails once the pipeline has played
        `cycles` whole fire cycles past it without them (or on an error, or past the wall-clock safety cap)."""
        until = since + cycles * self.cycle_s
        deadline = time.monotonic() + WALL_CAP_S
        while not self.errors:
            played = self.pts
            found = self.opened_since(since)
            if len(found) >= n:
                return found[:n]
            if played >= until or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        raise AssertionError(self._report(since, until, n))

    def _report(self, since: float, until: float, n: int) -> str:
        frames = [d for d in list(self.detected) if d[0] >= since]
        confident = [d for d in frames if d[2] >= TRIGGER.min_score]
        events = [(v.phase, v.start_s, v.end_s, v.model_version) for v in list(self.violations) if v.end_s >= since]
        return (f"fewer than {n} events opened at or after pts {since:.1f}: the pipeline reached pts {self.pts:.1f} "
                f"of {until:.1f} ({(self.pts - since) / self.cycle_s:.1f} fire cycles of {self.cycle_s:.0f} s); "
                f"{len(frames)} frames detected since, {len(confident)} with a trigger box >= {TRIGGER.min_score} "
                f"(models {sorted({d[1] for d in frames})}); events touching that time {events}; "
                f"errors {self.errors}")

    def stop(self):
        self._stop.set()
        for t in self._threads:
            t.join(10)
        self.batcher.close()


def _config(tmp: Path, base_onnx: Path) -> Path:
    cfg = tmp / "vigil.yaml"
    cfg.write_text(f"""
data_dir: data
sites: {{yard: {{name: Yard, kind: site}}}}
cameras: {{cam: {{site: yard, source: video.mp4}}}}
detectors: {{site: {{model: {base_onnx.name}, imgsz: 64}}}}
training: {{eval_scene_seeds: [9901], eval_scene_s: 12}}
""")
    return cfg


def _cli(args: list[str], cfg: Path, ok: bool = True):
    app = typer.Typer()
    register(app)
    res = CliRunner().invoke(app, [*args, "--config", str(cfg)])
    if ok:
        assert res.exit_code == 0, (args, res.output, res.exception)
    return res


def _swap_and_check(watcher, pipe, expected: str) -> None:
    assert watcher.check() == ["site"]
    assert watcher.check() == []  # nothing new: no second swap
    swap = pipe.swaps[-1]
    assert swap.version == expected
    opened = pipe.wait_opened(swap.effective_pts)
    # the events wholly after the swap carry the new model, and so did every frame detected from then on
    assert {v.model_version for v in opened} == {expected}, [(v.start_s, v.model_version) for v in opened]
    after = {v for pts, v, _ in list(pipe.detected) if pts >= swap.effective_pts}
    assert after == {expected}, (swap, after)
    before = [v for pts, v, _ in list(pipe.detected) if pts <= swap.before_pts]
    assert before and before[-1] != expected, (swap, before[-3:])  # the swap changed the model


def _scripted(box: tuple | None, score: float) -> sv.Detections:
    """What a detector sure of the fire square returns for one frame (`score` for its box)."""
    if box is None:
        return sv.Detections(xyxy=np.empty((0, 4)), confidence=np.empty(0), class_id=np.empty(0, int),
                             data={"class_name": np.array([], dtype=str)})
    return sv.Detections(xyxy=np.array([box], float), confidence=np.array([score]), class_id=np.array([0]),
                         data={"class_name": np.array([TRIGGER.classes[0]])})


@pytest.mark.parametrize("last_score", [TRIGGER.min_score - 0.1, TRIGGER.min_score + 0.05, 0.95])
def test_every_fire_burst_of_the_looped_video_opens_its_own_event(tmp_path, last_score):
    """The retrain test below counts events per fire burst. When a burst ends the motion gate sees no motion and
    the last detector frame's box is carried forward, so how sure a model is of that frame must not decide whether
    two bursts merge into one event: the video's fire stays out long enough."""
    images = _decode(_write_video(fire_cycle_frames(fps=FPS, on_s=FIRE_ON_S), tmp_path / "video.mp4"))
    boxes = fire_cycle_boxes(fps=FPS, on_s=FIRE_ON_S)
    analyzer = CameraAnalyzer("cam", rules=rules_for_profile("site"), fps=FPS)
    bursts, opened = [], []
    for seq in range(2 * len(images)):  # looped twice, as the pipeline does
        i = seq % len(images)
        frame = _frame(seq, images[i])
        if boxes[i] is not None and boxes[i - 1] is None:
            bursts.append(frame.pts_s)
        dets = None
        if analyzer.wants_detection(frame):
            last_of_burst = boxes[i] is not None and boxes[(i + 1) % len(boxes)] is None
            dets = _scripted(boxes[i], last_score if last_of_burst else 0.9)
        opened += [v.start_s for v in analyzer.update(frame, dets).violations if v.phase == "open"]
    assert len(bursts) == 6
    assert len(opened) == len(bursts) and all(b <= o < b + 1 for b, o in zip(bursts, opened)), (bursts, opened)


@pytest.mark.slow
def test_reviews_to_promoted_model_hot_reloaded_and_rolled_back(tmp_path, site_toy_model):
    base = shutil.copyfile(site_toy_model.onnx, tmp_path / "base.onnx")
    cfg = _config(tmp_path, base)
    services = Services.open(Settings.from_env(environ={}, config_path=cfg))
    seed_reviews(services.sessions, services.store, services.signer, seeds=tuple(range(100, 109)), frames=4,
                 size=(96, 96), shots=toy_shots)

    _cli(["dataset", "build", "--profile", "site", "--user", "dana"], cfg)
    _cli(["train", "--dataset", "site-v1", "--epochs", "2", "--imgsz", "64", "--batch", "8",
          "--base", str(site_toy_model.pt), "--lr0", "0.00002", "--user", "dana"], cfg)
    v1 = get_model(services.sessions, 1)
    ev = v1.metrics["evaluation"]
    assert v1.version == "v1" and v1.status == "candidate" and v1.path == services.data_dir / "models/site/v1.onnx"
    assert ev["baseline"] is None and ev["candidate"]["map50"] > 0.1  # fine-tuned, it still finds the fire
    assert {"map50", "map50_95", "per_class", "false_violations_per_hour"} <= set(ev["candidate"])

    # a running pipeline on the config's model
    loaded = load_config(cfg)
    images = _decode(_write_video(fire_cycle_frames(fps=FPS, on_s=FIRE_ON_S), tmp_path / "video.mp4"))
    batcher = Batcher(load_detector(base, imgsz=64, profile="site"), max_batch=4, max_wait_ms=5)
    pipe = Pipeline(images, batcher, CameraAnalyzer("cam", rules=rules_for_profile("site"), fps=FPS),
                    cycle_s=FIRE_ON_S + fire_off_s())
    watcher = ModelWatcher(services, lambda profile, det: pipe.swap(det))
    assert watcher.check() == []  # nothing promoted yet: the config model stays
    pipe.start()
    try:
        first = pipe.wait_opened(0.0)
        assert {v.model_version for v in first} == {batcher.info.sha256[:12]}
        assert {v.rule for v in first} == {"open_burning"}

        out = _cli(["model", "promote", "1", "--user", "dana"], cfg)
        assert "no promoted model yet" in out.output
        _swap_and_check(watcher, pipe, "v1")

        # a second model, fine-tuned from the promoted one; the gate compares both on the same frozen test split
        _cli(["train", "--dataset", "site-v1", "--epochs", "2", "--imgsz", "64", "--batch", "8", "--base", "promoted",
              "--lr0", "0.00002"],
             cfg)
        v2 = get_model(services.sessions, 2)
        e2 = v2.metrics["evaluation"]
        assert e2["baseline_version"] == "v1" and e2["candidate"]["test_split"] == e2["baseline"]["test_split"]
        res = _cli(["model", "promote", "2", "--user", "dana"], cfg, ok=False)
        worse = e2["candidate"]["map50"] < e2["baseline"]["map50"]
        if worse:
            assert res.exit_code == 1 and "is worse than promoted v1" in res.output
            denied = _cli(["model", "promote", "2", "--force", "--user", "dana"], cfg, ok=False)
            assert denied.exit_code != 0 and "admin" in str(denied.exception)
            with services.sessions() as s:
                s.add(User(username="boss", password_hash="x", role="admin"))
                s.commit()
            assert "(forced)" in _cli(["model", "promote", "2", "--force", "--user", "boss"], cfg).output
        else:
            assert res.exit_code == 0 and "is not worse than promoted v1" in res.output
        _swap_and_check(watcher, pipe, "v2")

        out = _cli(["model", "rollback", "--profile", "site", "--user", "dana"], cfg)
        assert "site now runs v1" in out.output
        _swap_and_check(watcher, pipe, "v1")
    finally:
        pipe.stop()
    assert not pipe.errors and pipe.submitted == pipe.resolved > 0  # no frame lost across three swaps
    assert [m.status for m in list_models(services.sessions, "site")] == ["promoted", "rejected"]
    with services.sessions() as s:
        report = audit.verify_chain(s)
        actions = [e.action for e in s.query(audit.AuditEntry).order_by(audit.AuditEntry.id)]
    assert report.ok
    assert actions.count("model.register") == 2 and actions.count("model.promote") == 2 and "model.rollback" in actions
    services.close()
