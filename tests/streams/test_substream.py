"""A camera's sub-stream for detection (`detect_source`), its main stream for evidence: frames come from one,
the ring (clips, live video) from the other, and either failing is the camera's own error."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from streams.pipeline import CameraPipeline, PipelineConfig
from streams.source import parse_source
from tests.servers import free_port, wait_for
from tests.streams.conftest import make_clip

ROOT = Path(__file__).resolve().parents[2]


def _pipe(main: Path, sub: Path | str) -> CameraPipeline:
    return CameraPipeline("cam", parse_source(str(main), as_camera=True),
                          PipelineConfig(detect_fps=5, detect_size=(160, 90), pre_roll_s=10, queue_size=100,
                                         backoff_base_s=0.1, backoff_cap_s=0.2),
                          detect_spec=parse_source(str(sub), as_camera=True))


def test_frames_come_from_the_sub_stream_and_clips_from_the_main_one(tmp_path):
    main = make_clip(tmp_path / "main.mp4", size="640x360", fps=10, seconds=3)
    sub = make_clip(tmp_path / "sub.mp4", size="192x108", fps=10, seconds=3)
    pipe = _pipe(main, sub)
    pipe.start()
    try:
        wait_for(lambda: len(pipe.frames) >= 5 and pipe.ring.duration_s() >= 1.5, 20, "frames and footage")
        assert pipe.status().state == "live"
        frames = [f for f in iter(lambda: pipe.frames.get(0), None)]
        assert {f.source_size for f in frames} == {(192, 108)}  # decoded from the sub-stream
        span = pipe.ring.span(0.0, 1.0)
        assert span.packets and {p.info.width for p in span.packets} == {640}  # evidence keeps the main stream
        st = pipe.status()
        assert st.decoded < st.packets * 2 and st.packets > 0
    finally:
        assert pipe.stop(10)
    assert not pipe.alive


def test_a_sub_stream_that_cannot_be_read_is_the_cameras_error_and_the_main_stream_goes_on(tmp_path):
    main = make_clip(tmp_path / "main.mp4", size="320x180", fps=10, seconds=3)
    pipe = _pipe(main, f"rtsp://127.0.0.1:{free_port()}/sub")  # nothing listens there
    pipe.start()
    try:
        wait_for(lambda: pipe.ring.duration_s() >= 1.0 and pipe.status().last_error, 20, "footage and an error")
        st = pipe.status()
        assert st.state != "live" and "/sub" in (st.last_error or "")
        assert len(pipe.frames) == 0  # nothing to analyse without the detection stream
    finally:
        pipe.stop(10)


@pytest.mark.parametrize("source, found", [("ftp://cam/sub", "scheme 'ftp'"), ("/no/such/sub.mp4", "detect_source")])
def test_config_check_names_the_sub_stream_it_cannot_use(tmp_path, source, found):
    cfg = tmp_path / "vigil.yaml"
    main = make_clip(tmp_path / "main.mp4", seconds=1)
    cfg.write_text(f"sites:\n  s1: {{name: Site one}}\ncameras:\n  gate: {{site: s1, source: {main}, "
                   f"detect_source: \"{source}\"}}\n")
    out = subprocess.run([sys.executable, "-m", "api.cli", "config", "check", str(cfg)], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode != 0 and found in out.stderr and "gate" in out.stderr, out.stderr
