"""The runtime without a model file: cameras still ingest and go live, the bus reports it, stop leaves no threads."""
from __future__ import annotations

import threading
import time

from api.service.events import EventBus
from api.service.runtime import start_runtime
from tests.service.conftest import SITES
from tests.streams.conftest import make_clip


def _vigil_threads() -> set[str]:
    return {t.name for t in threading.enumerate() if t.name.startswith("vigil-")}


def test_runtime_runs_a_relative_file_camera_without_a_model_and_stops_cleanly(make_services, tmp_path):
    make_clip(tmp_path / "cam.mp4", seconds=3, fps=10, gop=10)
    services = make_services(SITES + """
cameras:
  yard: {site: works, source: cam.mp4}
detectors:
  site: {model: models/missing.onnx}
""")
    before = _vigil_threads()
    bus = EventBus()
    sub = bus.subscribe()
    runtime = start_runtime(services, events=bus)
    try:
        assert services.events is runtime.events
        deadline, states = time.monotonic() + 30, []
        while time.monotonic() < deadline and "live" not in states:
            ev = sub.get(0.5)
            if ev and ev[0] == "camera.state":
                states.append(ev[1]["state"])
        assert "live" in states, states
        assert runtime.camera_states()["yard"].state == "live"
        deadline = time.monotonic() + 10
        while runtime.latest("yard") is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert runtime.latest("yard").frame.image.shape == (180, 320, 3)  # a 320x180 camera is never upscaled
    finally:
        runtime.stop()
    assert services.events is None
    assert _vigil_threads() - before == set()
