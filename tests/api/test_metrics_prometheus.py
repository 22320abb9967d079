"""/metrics scraped by a real Prometheus (Debian's package) from the service served by uvicorn on 127.0.0.1.

A file camera loops a generated clip; the one scripted part is the detector (a fire box on every frame), so that
the rules confirm an open-burning event and every stage has something to count. Prometheus scrapes with the
metrics token, and a second job without it, which the service must refuse.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Sequence

import httpx
import numpy as np
import pytest
import supervision as sv
from prometheus_client.parser import text_string_to_metric_families

from tests.streams.conftest import make_clip
from tests.web.conftest import LiveServer
from vigil.catalogue import PROFILE_CLASSES
from vigil.types import ModelInfo

TOKEN = "metrics-token-5d1c8e0f7a"
pytestmark = pytest.mark.slow


class FireEverywhere:
    """vision's Detector protocol, scripted: one confident fire box in the middle of every frame."""

    def __init__(self):
        classes = PROFILE_CLASSES["site"]
        self.info = ModelInfo(name="scripted-fire", version="1", profile="site", classes=classes,
                              path="(scripted)", sha256="0" * 64)
        self.fire = classes.index("fire")

    def detect(self, images: Sequence[np.ndarray]) -> list[sv.Detections]:
        out = []
        for img in images:
            h, w = img.shape[:2]
            out.append(sv.Detections(xyxy=np.array([[0.3 * w, 0.3 * h, 0.6 * w, 0.7 * h]], np.float32),
                                     confidence=np.array([0.9], np.float32), class_id=np.array([self.fire]),
                                     data={"class_name": np.array(["fire"])}))
        return out


CONFIG = """
data_dir: {tmp}/data
sites:
  works: {{name: Riverside Works, kind: site}}
cameras:
  gate:
    site: works
    source: {clip}
    motion: {{idle_check_s: 0.5}}
    rules:
      open_burning: {{min_s: 1, grace_s: 2}}
    record: {{pre_roll_s: 1, post_roll_s: 1}}
server:
  metrics: {{token_env: VIGIL_METRICS_TOKEN}}
storage:
  database_url: sqlite:///{tmp}/vigil.db
"""


@pytest.fixture(scope="module")
def served(tmp_path_factory, prometheus):
    """The service with one camera, served by uvicorn, and a Prometheus scraping it (with and without the token)."""
    from api.app import create_app
    from api.context import Services
    from tests.servers import free_port
    from vigil.config_loader import load_config
    from vigil.settings import Settings

    tmp = tmp_path_factory.mktemp("metrics")
    clip = make_clip(tmp / "gate.mp4", seconds=6, fps=10, gop=10)
    cfg = tmp / "vigil.yaml"
    cfg.write_text(CONFIG.format(tmp=tmp, clip=clip))
    env = {"VIGIL_METRICS_TOKEN": TOKEN}
    services = Services.open(Settings.from_env(env, config_path=cfg), load_config(cfg, env))
    app = create_app(services, run_jobs=False, runtime_options={"detectors": {"site": FireEverywhere()}})
    server = LiveServer(app, free_port()).start()
    try:
        (tmp / "token").write_text(TOKEN)
        target = {"static_configs": [{"targets": [f"127.0.0.1:{server.port}"]}], "metrics_path": "/metrics"}
        prom = prometheus([{"job_name": "vigil", "authorization": {"credentials_file": str(tmp / "token")},
                            **target}, {"job_name": "vigil-no-token", **target}])
        yield server, prom
    finally:
        server.stop()
        services.close()


def query(prom, promql: str) -> list[dict]:
    r = httpx.get(f"{prom.url}/api/v1/query", params={"query": promql}, timeout=10)
    r.raise_for_status()
    body = r.json()
    assert body["status"] == "success", body
    return body["data"]["result"]


def wait_for(prom, promql: str, timeout: float = 120) -> list[dict]:
    """Poll Prometheus until `promql` returns a sample; fail with what Prometheus last saw of its targets."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = query(prom, promql)
        if result:
            return result
        time.sleep(1)
    targets = httpx.get(f"{prom.url}/api/v1/targets", timeout=10).json()["data"]["activeTargets"]
    seen = [(t["labels"]["job"], t["health"], t["lastError"]) for t in targets]
    pytest.fail(f"Prometheus never returned {promql!r} within {timeout} s; targets: {seen}")


def test_prometheus_scrapes_camera_detector_and_alert_series(served):
    _, prom = served
    assert wait_for(prom, 'up{job="vigil"} == 1', 60)
    live = wait_for(prom, 'vigil_camera_state{job="vigil", camera="gate", state="live"} == 1')
    assert live[0]["metric"]["site"] == "works"
    assert query(prom, 'vigil_camera_state{job="vigil", camera="gate", state="offline"}')[0]["value"][1] == "0"
    latency = wait_for(prom, 'vigil_detector_latency_seconds_count{job="vigil", profile="site"} > 0')
    assert float(latency[0]["value"][1]) >= 1
    alerts = wait_for(prom, 'vigil_alerts_total{job="vigil", rule="open_burning", site="works"} >= 1')
    assert alerts[0]["metric"]["rule"] == "open_burning"
    # fps analysed, as a dashboard computes it: frames went on being analysed between scrapes
    assert wait_for(prom, 'rate(vigil_camera_frames_analysed_total{job="vigil", camera="gate"}[10s]) > 0')
    # the alert's evidence went through the outbox's store lane into the evidence folder
    assert wait_for(prom, 'vigil_outbox_job_seconds_count{job="vigil", lane="store", kind="evidence.put"} >= 1')


def test_a_scrape_without_the_token_is_refused(served):
    _, prom = served
    wait_for(prom, 'up{job="vigil"} == 1', 60)
    down = wait_for(prom, 'up{job="vigil-no-token"} == 0', 60)
    assert down
    targets = httpx.get(f"{prom.url}/api/v1/targets", timeout=10).json()["data"]["activeTargets"]
    refused = [t for t in targets if t["labels"]["job"] == "vigil-no-token"]
    assert refused and "401" in refused[0]["lastError"], refused
    assert not query(prom, '{job="vigil-no-token", __name__=~"vigil_.*"}')


# every family the service exports while a camera and a detector run: (name, type)
SERIES = [
    ("vigil_build_info", "gauge"), ("vigil_runtime_up", "gauge"),
    ("vigil_camera_state", "gauge"), ("vigil_camera_state_since_timestamp_seconds", "gauge"),
    ("vigil_camera_packets", "counter"), ("vigil_camera_received_bytes", "counter"),
    ("vigil_camera_frames_decoded", "counter"), ("vigil_camera_frames_emitted", "counter"),
    ("vigil_camera_frames_dropped", "counter"), ("vigil_camera_frames_analysed", "counter"),
    ("vigil_camera_frames_detected", "counter"), ("vigil_camera_frames_motion_skipped", "counter"),
    ("vigil_camera_reconnects", "counter"), ("vigil_camera_thread_restarts", "counter"),
    ("vigil_camera_fps", "gauge"), ("vigil_camera_lag_seconds", "gauge"),
    ("vigil_camera_motion_skip_ratio", "gauge"), ("vigil_camera_queue_depth", "gauge"),
    ("vigil_camera_buffer_bytes", "gauge"), ("vigil_camera_buffer_seconds", "gauge"),
    ("vigil_detector_latency_seconds", "histogram"), ("vigil_detector_batch_size", "histogram"),
    ("vigil_detector_failures", "counter"), ("vigil_detector_queue_depth", "gauge"),
    ("vigil_alerts", "counter"), ("vigil_events_open", "gauge"), ("vigil_recorder_errors", "counter"),
    ("vigil_outbox_jobs", "gauge"), ("vigil_outbox_bytes", "gauge"), ("vigil_outbox_oldest_job_age_seconds", "gauge"),
    ("vigil_outbox_head_attempts", "gauge"), ("vigil_outbox_max_bytes", "gauge"),
    ("vigil_outbox_refused", "counter"), ("vigil_evidence_refused", "counter"),
    ("vigil_outbox_job_seconds", "histogram"), ("vigil_outbox_job_failures", "counter"),
    ("process_resident_memory_bytes", "gauge"), ("process_cpu_seconds", "counter"),
]


def test_the_exposition_names_every_series_with_its_type(served):
    server, prom = served
    wait_for(prom, 'vigil_alerts_total{job="vigil"} >= 1')
    r = httpx.get(f"{server.url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain; version=0.0.4")
    families = {f.name: f for f in text_string_to_metric_families(r.text)}
    assert {(name, families[name].type) for name, _ in SERIES if name in families} == set(SERIES), \
        sorted({name for name, _ in SERIES} - set(families))
    # prometheus-client adds a `_created` timestamp beside each histogram and labelled counter
    vigil_names = {n for n in families if n.startswith("vigil_") and not n.endswith("_created")}
    assert vigil_names == {n for n, _ in SERIES if n.startswith("vigil_")}, "a series exported but not listed here"
    states = {s.labels["state"]: s.value for s in families["vigil_camera_state"].samples
              if s.labels["camera"] == "gate"}
    assert set(states) == {"connecting", "live", "stalled", "reconnecting", "offline"}
    assert sum(states.values()) == 1


DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_every_dashboard_query_runs_on_prometheus_over_exported_series(served):
    _, prom = served
    wait_for(prom, 'vigil_outbox_job_seconds_count{job="vigil", kind="evidence.put"} >= 1')
    time.sleep(2)  # a rate over the dashboard's window needs two scrapes after the first evidence write
    dashboard = json.loads((DOCS / "grafana-vigil.json").read_text())
    exported = {name for name, _ in SERIES}
    answered = {}
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            expr = target["expr"].replace("$__rate_interval", "1m").replace("$camera", ".*")
            used = {re.sub(r"_(total|bucket|count|sum)$", "", m) for m in re.findall(r"\b(?:vigil|process)_\w+", expr)}
            assert used <= exported, (panel["title"], used - exported)
            answered[panel["title"]] = answered.get(panel["title"], False) or bool(query(prom, expr))
    assert {title for title, ok in answered.items() if ok} >= {
        "Cameras by state", "fps in (packets)", "fps decoded", "fps analysed", "Analysis lag", "Detector latency",
        "Detector batch size", "Alerts by rule and site", "Evidence write latency"}, answered


def test_the_documented_scrape_config_passes_promtool(tmp_path):
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool is not installed (Debian package prometheus; `make install`)")
    text = (DOCS / "METRICS.md").read_text()
    block = next(b for b in re.findall(r"```yaml\n(.*?)```", text, re.S) if "scrape_configs:" in b)
    token = tmp_path / "token"
    token.write_text(TOKEN)
    conf = tmp_path / "prometheus.yml"
    conf.write_text(block.replace("/etc/prometheus/vigil-metrics.token", str(token)))
    done = subprocess.run([promtool, "check", "config", str(conf)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_prometheus_that_cannot_start_fails_with_its_reason(tmp_path):
    from tests.servers import ServerStartError, start_prometheus

    with pytest.raises(ServerStartError, match="not a valid duration string"):
        start_prometheus(tmp_path, [{"job_name": "broken", "scrape_interval": "soon",
                                     "static_configs": [{"targets": ["127.0.0.1:9"]}]}])
