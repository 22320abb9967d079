"""The supervisor over real RTSP cameras and a looping file camera, with no detector: ingest, add/remove, stop."""
from __future__ import annotations

import threading
import time

from streams.supervisor import Supervisor
from vigil.config_loader import parse_config
from vigil.types import ClipRequest

from tests.streams.test_rtsp import wait_for


class Collect:
    def __init__(self):
        self.events = []

    def on_violation(self, event) -> None:
        self.events.append(event)


def config_for(sources: dict[str, str], tmp_path):
    cams = "\n".join(f"  {cid}:\n    site: s1\n    source: \"{src}\"\n    detect: {{fps: 2, width: 160, height: 96}}\n"
                     f"    record: {{pre_roll_s: 2, post_roll_s: 1}}" for cid, src in sources.items())
    text = f"data_dir: {tmp_path}\nsites:\n  s1:\n    name: Test site\n    kind: site\ncameras:\n{cams}\n"
    return parse_config(text, base_dir=tmp_path)


def vigil_threads() -> set[str]:
    return {t.name for t in threading.enumerate() if t.name.startswith("vigil-")}


def test_supervisor_runs_cameras_adds_removes_and_stops_cleanly(rtsp_server, media, tmp_path):
    server = rtsp_server()
    loaded = config_for({"a": server.url("h264"), "b": server.url("h265"), "f": str(media.h264_mp4)}, tmp_path)
    before = vigil_threads()
    states = []
    sup = Supervisor(loaded, Collect(), detectors={}, on_state=states.append)
    sup.start()
    try:
        assert wait_for(lambda: all(s.state == "live" for s in sup.status().values()), 20), sup.status()
        assert wait_for(lambda: all(sup.latest(c) is not None for c in ("a", "b", "f")), 10)
        assert sup.latest("b").frame.image.shape == (90, 160, 3)  # 320x180 keeps 16:9 in the 160x96 box
        assert {"vigil-reader-a", "vigil-analyze-a", "vigil-reader-f", "vigil-evidence"} - vigil_threads() \
            <= {"vigil-evidence"}  # evidence workers start on demand
        sup.remove_camera("a")
        assert "a" not in sup.status()
        assert not {"vigil-reader-a", "vigil-analyze-a"} & vigil_threads()
        sup.add_camera("a")
        assert wait_for(lambda: sup.status()["a"].state == "live", 20)
        t = sup.latest("f").frame.pts_s
        clip = sup.cut_clip(ClipRequest("f", "e1", t - 0.5, t, 1.0, 0.5), timeout=10)
        assert clip.packets > 0 and clip.data[4:8] == b"ftyp"
    finally:
        sup.stop(timeout=10)
    assert vigil_threads() - before == set()
    assert {s.state for s in states} >= {"live", "offline"}


def test_file_camera_loops_with_a_monotonic_timeline(tmp_path):
    from tests.streams.conftest import make_clip

    clip = make_clip(tmp_path / "short.mp4", seconds=1.5, fps=10, gop=5)
    loaded = config_for({"f": str(clip)}, tmp_path)
    sup = Supervisor(loaded, Collect(), detectors={}, pipeline_overrides={"queue_size": 2})
    sup.start()
    try:
        seen = []
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and (not seen or seen[-1] < 3.6):
            r = sup.latest("f")
            if r is not None and (not seen or r.frame.pts_s != seen[-1]):
                seen.append(r.frame.pts_s)
            time.sleep(0.05)
        assert seen and seen[-1] >= 3.6, seen  # played past the 1.5 s file twice over: it loops
        assert all(b > a for a, b in zip(seen, seen[1:]))
        assert sup.status()["f"].state == "live" and sup.status()["f"].reconnects == 0
    finally:
        sup.stop()
