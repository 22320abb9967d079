"""What the series say about a camera that cannot connect or start, and about outbox jobs that fail and retry."""
from __future__ import annotations

import time
from pathlib import Path

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from api.app import create_app
from api.context import Services
from api.metrics import VigilMetrics
from vigil.config_loader import load_config
from vigil.outbox import Backoff, Lane, Outbox
from vigil.settings import Settings

CONFIG = """
data_dir: {tmp}/data
sites:
  works: {{name: Works, kind: site}}
cameras:
  far: {{site: works, source: "rtsp://viewer:${{CAM_PW}}@127.0.0.1:9/far"}}
  web: {{site: works, source: "http://127.0.0.1:9/not-a-camera.mjpg"}}
server:
  metrics: {{open: true}}
storage:
  database_url: sqlite:///{tmp}/vigil.db
"""


def samples(text: str) -> dict[tuple[str, tuple], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_cameras_that_cannot_connect_or_start_show_in_their_state_and_counters(tmp_path: Path):
    cfg = tmp_path / "vigil.yaml"
    cfg.write_text(CONFIG.format(tmp=tmp_path))
    env = {"CAM_PW": "cam-secret-pw"}
    services = Services.open(Settings.from_env(env, config_path=cfg), load_config(cfg, env))
    try:
        with TestClient(create_app(services, run_jobs=False)) as client:
            deadline, got = time.monotonic() + 60, {}
            while time.monotonic() < deadline:
                text = client.get("/metrics").text
                got = samples(text)
                if got.get(("vigil_camera_reconnects_total", (("camera", "far"), ("site", "works"))), 0) >= 1:
                    break
                time.sleep(0.5)
            assert "cam-secret-pw" not in text
        state = {labels: v for (name, labels), v in got.items() if name == "vigil_camera_state"}
        far = {dict(k)["state"]: v for k, v in state.items() if dict(k)["camera"] == "far"}
        web = {dict(k)["state"]: v for k, v in state.items() if dict(k)["camera"] == "web"}
        assert far["live"] == 0 and sum(far.values()) == 1 and (far["reconnecting"] or far["connecting"])
        assert web == {"connecting": 0, "live": 0, "stalled": 0, "reconnecting": 0, "offline": 1}
        assert got[("vigil_camera_reconnects_total", (("camera", "far"), ("site", "works")))] >= 1
        assert got[("vigil_camera_frames_analysed_total", (("camera", "web"), ("site", "works")))] == 0
        assert got[("vigil_runtime_up", ())] == 1
    finally:
        services.close()


def test_outbox_job_latency_and_failures_are_counted_per_lane_and_kind(tmp_path: Path):
    metrics = VigilMetrics(lambda: None)
    attempts = []

    def put_evidence(job) -> None:
        attempts.append(job.id)
        if len(attempts) == 1:
            raise OSError("the store is down (test)")

    outbox = Outbox(tmp_path / "outbox.sqlite", backoff=Backoff(base_s=0.01, cap_s=0.05))
    outbox.put("store", "evidence.put", {"alert_id": "a1"}, {"0": b"jpeg bytes"})
    outbox.start(metrics.observed_lanes({"store": Lane({"evidence.put": put_evidence})}))
    try:
        assert outbox.wait_idle(10)
    finally:
        outbox.close()
    got = samples(metrics.render(None)[0].decode())
    assert len(attempts) == 2
    assert got[("vigil_outbox_job_failures_total",
                (("error", "OSError"), ("kind", "evidence.put"), ("lane", "store")))] == 1
    assert got[("vigil_outbox_job_seconds_count", (("kind", "evidence.put"), ("lane", "store")))] == 1
