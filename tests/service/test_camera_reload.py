"""A camera reconfigured in the running service (what the UI's zone editor does): that camera alone restarts with
the new config, its event under way is closed then and there (not left open, nor closed by its grace later), the
new mask changes which events fire, and the other camera, its pipeline and its event run on untouched."""
from __future__ import annotations

import time

from sqlalchemy import select

from api.service.camera_config import CameraEdit, edit_camera
from api.service.runtime import start_runtime
from tests.service.conftest import SITES
from tests.streams.conftest import make_clip
from tests.web.test_zones_browser import FireOnTheRight, wait_until
from vigil.db.models import Alert, AuditEntry

CAMERAS = """
cameras:
  a: {site: works, source: a.mp4, motion: {idle_check_s: 0.5}, rules: {open_burning: {min_s: 1, grace_s: 60}}}
  b: {site: works, source: b.mp4, motion: {idle_check_s: 0.5}, rules: {open_burning: {min_s: 1, grace_s: 60}}}
"""
EVERYWHERE = [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]


def alerts(services, camera: str) -> list[Alert]:
    with services.sessions() as s:
        return list(s.scalars(select(Alert).where(Alert.camera_id == camera)))


def analysed(runtime, camera: str) -> int:
    return next((c.analysed for c in runtime.supervisor.stats().cameras if c.status.camera_id == camera), 0)


def test_a_mask_applied_to_a_running_camera_closes_its_event_and_stops_new_ones(make_services, tmp_path):
    for name in ("a", "b"):
        make_clip(tmp_path / f"{name}.mp4", seconds=4, fps=10, gop=10)
    services = make_services(SITES + CAMERAS)
    runtime = start_runtime(services, detectors={"site": FireOnTheRight()}, watch_models=False)
    try:
        wait_until("both cameras to alert", lambda: alerts(services, "a") and alerts(services, "b"), timeout=90)
        b_pipeline = runtime.supervisor.pipeline("b")
        started = time.monotonic()
        edit_camera(services, runtime, CameraEdit("a", {"masks": [EVERYWHERE]}, "ada", "camera.zones"))
        # closed by the restart, long before its 60 s grace would have closed it
        wait_until("a's alert to close", lambda: not any(x.ongoing for x in alerts(services, "a")), timeout=20)
        assert time.monotonic() - started < 30
        count, frames = len(alerts(services, "a")), analysed(runtime, "a")
        wait_until("a to analyse 20 frames with the mask", lambda: analysed(runtime, "a") >= frames + 20)
        assert len(alerts(services, "a")) == count  # the mask drops the fire: no new event
        assert runtime.supervisor.pipeline("b") is b_pipeline
        assert any(x.ongoing for x in alerts(services, "b"))  # b's event went on undisturbed
        assert services.loaded.config.cameras["a"].masks and runtime.supervisor.loaded.config.cameras["a"].masks
        with services.sessions() as s:
            entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "camera.zones")).one()
        assert (entry.actor, entry.target_id) == ("ada", "a")
    finally:
        runtime.stop()
