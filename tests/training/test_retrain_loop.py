"""Done-when: reviewed alerts -> dataset -> CPU training -> evaluation -> gate -> promote -> a running
pipeline hot-reloads the model (violations carry its version) -> rollback returns to the old one."""
from __future__ import annotations

import shutil
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import av
import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from api.cli_data import register
from api.context import Services
from api.service.model_watch import ModelWatcher
from tests.datasets.reviewed import seed_reviews
from tests.training.conftest import fire_cycle_frames, toy_shots
from training.registry import get_model, list_models
from vigil import audit
from vigil.catalogue import rules_for_profile
from vigil.config_loader import load_config
from vigil.db.models import User
from vigil.settings import Settings
from vigil.types import VideoFrame
from vision.analyzer import CameraAnalyzer
from vision.batcher import Batcher
from vision.detector import load_detector

FPS = 5.0


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


class Pipeline:
    """A camera thread (decoded video, looped, motion gate + tracker + rules) and a detector thread (Batcher)."""

    def __init__(self, images: list[np.ndarray], batcher: Batcher, analyzer: CameraAnalyzer):
        self.images, self.batcher, self.analyzer = images, batcher, analyzer
        self.violations: list = []
        self.pts = 0.0
        self.submitted = self.resolved = 0
        self.errors: list[BaseException] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._camera, daemon=True),
                         threading.Thread(target=self._detect, daemon=True)]

    def start(self):
        for t in self._threads:
            t.start()

    def _detect(self):
        while not self._stop.is_set():
            self.batcher.step(timeout=0.05)

    def _camera(self):
        t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
        seq = 0
        try:
            while not self._stop.is_set():
                for img in self.images:
                    pts = seq / FPS
                    frame = VideoFrame(camera_id="cam", seq=seq, pts_s=pts, t_mono=pts,
                                       captured_at=t0 + timedelta(seconds=pts), image=img,
                                       source_size=(img.shape[1], img.shape[0]))
                    dets = info = None
                    if self.analyzer.wants_detection(frame):
                        self.submitted += 1
                        dets, info = self.batcher.submit("cam", img).result(timeout=60)
                        self.resolved += 1
                    self.violations.extend(self.analyzer.update(frame, dets, info).violations)
                    self.pts = pts
                    seq += 1
                    time.sleep(0.004)
                    if self._stop.is_set():
                        return
        except BaseException as e:  # surfaced by the test
            self.errors.append(e)

    def opened_after(self, pts: float) -> list:
        return [v for v in list(self.violations) if v.phase == "open" and v.start_s > pts]

    def wait_open_after(self, pts: float, timeout: float = 90.0) -> list:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self.errors:
            found = self.opened_after(pts)
            if len(found) >= 2:
                return found
            time.sleep(0.2)
        raise AssertionError(f"no violations opened after pts {pts} (errors: {self.errors})")

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
    at = pipe.pts + 0.5  # a frame in flight may still see the old model
    assert watcher.check() == ["site"]
    assert watcher.check() == []  # nothing new: no second swap
    opened = pipe.wait_open_after(at)
    assert {v.model_version for v in opened} == {expected}, [(v.start_s, v.model_version) for v in opened]


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
    images = _decode(_write_video(fire_cycle_frames(), tmp_path / "video.mp4"))
    batcher = Batcher(load_detector(base, imgsz=64, profile="site"), max_batch=4, max_wait_ms=5)
    pipe = Pipeline(images, batcher, CameraAnalyzer("cam", rules=rules_for_profile("site"), fps=FPS))
    watcher = ModelWatcher(services, lambda profile, det: batcher.swap(det))
    assert watcher.check() == []  # nothing promoted yet: the config model stays
    pipe.start()
    try:
        first = pipe.wait_open_after(0.0)
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
