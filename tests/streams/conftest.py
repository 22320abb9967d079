"""Fixtures for streams tests: small H.264/H.265 clips made with ffmpeg, a real GStreamer RTSP server, a silent one."""
from __future__ import annotations

import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

SERVER_SCRIPT = Path(__file__).with_name("rtsp_server.py")
SYSTEM_PYTHON = "/usr/bin/python3"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_clip(out: Path, *, codec: str = "h264", size: str = "320x180", fps: int = 10, seconds: float = 8,
              gop: int = 10, source: str = "testsrc2") -> Path:
    """An MP4 test clip (no B-frames, fixed GOP) made with ffmpeg."""
    if shutil.which("ffmpeg") is None:
        pytest.fail("ffmpeg is not installed (Debian package ffmpeg); streams tests need it to make clips")
    enc = (["-c:v", "libx264", "-preset", "ultrafast", "-bf", "0", "-g", str(gop), "-keyint_min", str(gop),
            "-sc_threshold", "0"] if codec == "h264" else
           ["-c:v", "libx265", "-preset", "ultrafast",
            "-x265-params", f"log-level=error:keyint={gop}:min-keyint={gop}:scenecut=0:bframes=0"])
    cmd = ["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i", f"{source}=size={size}:rate={fps}",
           "-t", str(seconds), *enc, "-pix_fmt", "yuv420p", str(out)]
    subprocess.run(cmd, check=True, timeout=120)
    return out


def to_ts(mp4: Path, codec: str = "h264") -> Path:
    ts = mp4.with_suffix(".ts")
    bsf = "h264_mp4toannexb" if codec == "h264" else "hevc_mp4toannexb"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i", str(mp4), "-c", "copy", "-bsf:v", bsf,
                    "-f", "mpegts", str(ts)], check=True, timeout=60)
    return ts


@dataclass
class Media:
    h264_mp4: Path
    h264_ts: Path
    h265_mp4: Path
    h265_ts: Path


@pytest.fixture(scope="session")
def media(tmp_path_factory) -> Media:
    d = tmp_path_factory.mktemp("media")
    h264 = make_clip(d / "cam264.mp4", codec="h264")
    h265 = make_clip(d / "cam265.mp4", codec="h265")
    return Media(h264, to_ts(h264, "h264"), h265, to_ts(h265, "h265"))


class RtspServer:
    """A GStreamer RTSP server process on 127.0.0.1 serving looping MPEG-TS files; stop() and start() again."""

    def __init__(self, mounts: dict[str, tuple[Path, str]], port: int | None = None, silent: bool = False):
        self.mounts = mounts
        self.port = port or free_port()
        self.silent = silent
        self.proc: subprocess.Popen | None = None

    def url(self, mount: str) -> str:
        return f"rtsp://127.0.0.1:{self.port}/{mount}"

    def start(self, wait_s: float = 20.0) -> "RtspServer":
        if not Path(SYSTEM_PYTHON).exists():
            pytest.fail(f"{SYSTEM_PYTHON} is missing; the RTSP server needs Debian's python3-gi")
        args = (["--silent", str(self.port)] if self.silent else
                [str(self.port)] + [f"{m}={p}:{c}" for m, (p, c) in self.mounts.items()])
        self.proc = subprocess.Popen([SYSTEM_PYTHON, str(SERVER_SCRIPT), *args], stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if line.startswith("READY"):
                return self
            if not line and self.proc.poll() is not None:
                break
        output = self.proc.stdout.read() if self.proc.poll() is not None else "(still running, no READY)"
        self.stop()
        pytest.fail(f"could not start the RTSP server on 127.0.0.1:{self.port}: {output.strip()[-2000:]}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        if self.proc is not None and self.proc.stdout:
            self.proc.stdout.close()
        self.proc = None


@pytest.fixture
def rtsp_server(media):
    servers: list[RtspServer] = []

    def start(**extra) -> RtspServer:
        mounts = {"h264": (media.h264_ts, "h264"), "h265": (media.h265_ts, "h265")}
        server = RtspServer(mounts, **extra).start()
        servers.append(server)
        return server

    yield start
    for s in servers:
        s.stop()


@pytest.fixture
def silent_server():
    server = RtspServer({}, silent=True).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def toy_onnx() -> Path:
    """The vision tests' tiny real YOLO (fire = red square, smoke, person), trained once and cached."""
    import os
    import tempfile

    from tests.vision.toy_model import ToyRecipe, build_toy_model

    root = Path(os.environ.get("VIGIL_TEST_CACHE") or Path(tempfile.gettempdir()) / "vigil-test-cache")
    return build_toy_model(ToyRecipe(), root).onnx


def make_fire_video(out: Path, *, seconds: float = 10.0, fps: int = 10, fire: tuple[float, float] = (2.0, 7.0),
                    size: int = 96, gop: int = 10) -> Path:
    """A toy-world H.264 MP4: grey noisy background, a flickering red square (the toy model's fire) during
    `fire`."""
    import av
    import numpy as np

    from tests.vision.toy_model import draw_shape

    rng = np.random.default_rng(5)
    background = np.full((size, size, 3), 130, np.uint8)
    background = np.clip(background.astype(int) + rng.integers(0, 20, background.shape), 0, 255).astype(np.uint8)
    with av.open(str(out), "w") as c:
        s = c.add_stream("libx264", rate=fps)
        s.width = s.height = size
        s.pix_fmt = "yuv420p"
        s.options = {"g": str(gop), "bf": "0", "sc_threshold": "0", "preset": "ultrafast", "crf": "18"}
        for i in range(int(seconds * fps)):
            img = background.copy()
            if fire[0] <= i / fps < fire[1]:
                x1, y1, x2, y2 = draw_shape(img, 0, 30, 30, 30)
                flame = img[y1:y2, x1:x2].astype(int) + rng.integers(-40, 40, (y2 - y1, x2 - x1, 1))
                img[y1:y2, x1:x2] = np.clip(flame, 0, 255).astype(np.uint8)  # fire flickers (lab_fire checks)
            for pkt in s.encode(av.VideoFrame.from_ndarray(img, format="bgr24")):
                c.mux(pkt)
        for pkt in s.encode():
            c.mux(pkt)
    return out


def lab_config(tmp_path: Path, model: Path, source: str = "analysis"):
    from vigil.config_loader import parse_config

    text = f"""
data_dir: {tmp_path / 'data'}
sites:
  lab1: {{name: Test lab, kind: lab}}
cameras:
  cam1:
    site: lab1
    source: "{source}"
    detect: {{fps: 5, width: 96, height: 96}}
    motion: {{enabled: false}}
    record: {{pre_roll_s: 1, post_roll_s: 1}}
    rules:
      lab_fire: {{grace_s: 1.0, min_s: 0.5}}
detectors:
  lab: {{model: "{model}", imgsz: 64, conf: 0.25, threads: 1}}
"""
    return parse_config(text, base_dir=tmp_path)
