"""Dead webhook deliveries are sent again from the CLI; pending ones survive a restart; a camera that stays down
is notified like an alert."""
from __future__ import annotations

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from api.cli import app as cli_app
from api.service.runtime import start_runtime
from streams.recorder import RecorderConfig
from tests.faults.conftest import open_services, write_config
from tests.faults.rig import ClockFire, alerts, cameras_yaml, wait_for
from tests.service.helpers import start_hook
from vigil.db.models import NotificationDelivery
from vigil.outbox import Backoff

pytestmark = pytest.mark.slow  # real servers stopped and started, cameras paced in real time


def _deliveries(services) -> list[tuple[str, str, str]]:
    with services.sessions() as s:
        return [(d.channel, d.status, (d.payload or {}).get("event")) for d in
                s.scalars(select(NotificationDelivery).order_by(NotificationDelivery.id))]


def _start(services):
    return start_runtime(services, detectors={"site": ClockFire()}, backoff=Backoff(0.2, 2.0),
                         recorder_config=RecorderConfig(revision_interval_s=2), watch_models=False)


def test_dead_retried_pending_survive_restart_and_camera_down_notified(tmp_path, clip):
    hook = start_hook({"/dead": [500], "/slow": [500]})
    body = cameras_yaml({"good": clip, "bad": "rtsp:/host/typo"}).replace(
        "min_free_mb: 0", "min_free_mb: 0, camera_down_notify_s: 1") + (
        f"notifications:\n  webhooks:\n    dead: {{url: '{hook.url('/dead')}', max_attempts: 1}}\n"
        f"    slow: {{url: '{hook.url('/slow')}', max_attempts: 10}}\n"
        "grading: {quiet_grades: []}\n")  # a blue site's alerts would otherwise wait for the daily digest
    cfg, env = write_config(tmp_path, body)
    services = open_services(cfg, env)
    runtime = _start(services)
    try:
        wait_for(lambda: alerts(services), 60, "an alert")
        wait_for(lambda: {("webhook:dead", "dead", "alert.new"), ("webhook:dead", "dead", "camera.down")}
                 <= set(_deliveries(services)), 30, "dead deliveries for the alert and the camera")
        hook.script["/dead"] = [200]
        result = CliRunner().invoke(cli_app, ["notify", "retry", "-c", str(cfg)], env=env)
        assert result.exit_code == 0 and "dead deliveries marked pending" in result.output, result.output
        wait_for(lambda: not [d for d in _deliveries(services) if d[0] == "webhook:dead" and d[1] != "sent"], 30,
                 "the retried deliveries to be sent")
        assert ("webhook:slow", "pending", "alert.new") in _deliveries(services)
    finally:
        runtime.stop()
    pending = [d for d in _deliveries(services) if d[1] == "pending"]
    assert pending and all(d[0] == "webhook:slow" for d in pending)
    hook.script["/slow"] = [200]
    runtime = _start(services)  # the restart: pending deliveries are sent
    try:
        wait_for(lambda: len([d for d in _deliveries(services) if d[0] == "webhook:slow" and d[1] == "sent"])
                 >= len(pending), 30, "the pending deliveries to be sent after the restart")
    finally:
        runtime.stop()
    events = [p for p, _, _ in hook.received]
    assert events.count("/dead") >= 2
    hook.server.shutdown()
    services.close()
