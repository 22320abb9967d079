"""The evidence folder on a small, full filesystem (a 3 MB tmpfs, as root): alerts keep coming, evidence waits in
the outbox, /healthz warns; once space is freed the evidence lands, and nothing is lost or left ongoing."""
from __future__ import annotations

import os
import time

import pytest

from api.app import health
from api.service.runtime import start_runtime
from streams.recorder import RecorderConfig
from tests.faults.conftest import open_services, write_config
from tests.faults.rig import ClockFire, alerts, cameras_yaml, check_nothing_lost, wait_for
from vigil.outbox import Backoff

pytestmark = pytest.mark.slow  # real servers stopped and started, cameras paced in real time


@pytest.fixture
def small_fs(tmp_path):
    from tests.servers import small_tmpfs

    with small_tmpfs(tmp_path / "small", 3) as mount:
        yield mount


def _fill(folder) -> None:
    with open(folder / "filler", "wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass


def test_evidence_disk_full_keeps_alerts_and_spools_evidence(tmp_path, clip, small_fs):
    body = cameras_yaml({"gate": clip}).replace("min_free_mb: 0", "min_free_mb: 1")
    cfg, env = write_config(tmp_path, body, evidence_path=str(small_fs / "evidence"))
    services = open_services(cfg, env)
    _fill(small_fs)
    runtime = start_runtime(services, detectors={"site": ClockFire()}, backoff=Backoff(0.2, 2.0),
                            recorder_config=RecorderConfig(revision_interval_s=2), watch_models=False)
    try:
        wait_for(lambda: len(alerts(services)) >= 2, 60, "alerts while the evidence disk is full")
        assert runtime.outbox.pending("store") >= 1
        _, problems = health(services, runtime)
        assert any(p.startswith("evidence:") and "watermark" in p for p in problems), problems
        assert any(p.startswith("outbox store") and "No space left" in p for p in problems), problems
        os.unlink(small_fs / "filler")
        t0 = time.monotonic()
        wait_for(lambda: runtime.outbox.pending("store") == 0, 60, "the spooled evidence to land")
        recover_s = time.monotonic() - t0
    finally:
        runtime.stop()
    rows = check_nothing_lost(services, runtime.supervisor.recorder.opened, cfg, env)
    print(f"evidence disk full: {len(rows)} alerts of {runtime.supervisor.recorder.opened} events, spool drained "
          f"{recover_s:.1f} s after space was freed")
    services.close()
