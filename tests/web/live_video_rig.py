"""A served app with many 25 fps file cameras for the live-video tests and bench: small looping clips (a different
hue each, GOP 1 s), a scripted detector (a person and a covered dump truck: boxes to draw, no rule fires), a zone on
every camera, an unreachable RTSP camera and a disabled one."""
from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Sequence

import numpy as np
import supervision as sv

from vigil.catalogue import PROFILE_CLASSES
from vision.detector import ModelInfo

FPS = 25


def make_clips(out: Path, n: int, size: str = "320x180", seconds: int = 4) -> list[Path]:
    """n looping camera clips at 25 fps, GOP 25 (a keyframe a second), no B-frames, a different hue each."""
    out.mkdir(parents=True, exist_ok=True)
    clips = []
    for i in range(n):
        clip = out / f"clip{i}.mp4"
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=size={size}:rate={FPS}",
                        "-t", str(seconds), "-vf", f"hue=h={i * 23}", "-c:v", "libx264", "-preset", "ultrafast",
                        "-bf", "0", "-g", str(FPS), "-keyint_min", str(FPS), "-sc_threshold", "0",
                        "-pix_fmt", "yuv420p", str(clip)], check=True, timeout=120)
        clips.append(clip)
    return clips


class PersonAndTruck:
    """vision's Detector protocol, scripted: a person walking across the picture and a covered dump truck."""

    def __init__(self, profile: str = "site"):
        classes = PROFILE_CLASSES[profile]
        self.info = ModelInfo(name="scripted-person-truck", version="1", profile=profile, classes=classes,
                              path="(scripted)", sha256="0" * 64)
        self.ids = (classes.index("person"), classes.index("dump_truck"))
        self.calls = 0

    def detect(self, images: Sequence[np.ndarray]) -> list[sv.Detections]:
        out = []
        for img in images:
            h, w = img.shape[:2]
            self.calls += 1
            x = 0.1 + 0.05 * (self.calls % 8)
            xyxy = np.array([[x * w, 0.25 * h, (x + 0.12) * w, 0.8 * h], [0.55 * w, 0.35 * h, 0.92 * w, 0.75 * h]],
                            np.float32)
            out.append(sv.Detections(xyxy=xyxy, confidence=np.array([0.91, 0.78], np.float32),
                                     class_id=np.array(self.ids), data={"class_name": np.array(["person",
                                                                                                "dump_truck"])}))
        return out


ZONE = "{polygon: [[0.02, 0.55], [0.5, 0.55], [0.5, 0.97], [0.02, 0.97]]}"


def config_yaml(tmp_path: Path, clips: Sequence[Path], extra: str = "") -> str:
    """cam01..camNN (the clips, detect fps 1: keyframes only), an unreachable RTSP camera, a disabled one, and
    `extra` camera entries."""
    cams = "".join(f'  cam{i:02d}: {{name: "Yard {i}", site: works, source: "{clip}", detect: {{fps: 1}}, '
                   f'zones: {{loading_bay: {ZONE}}}}}\n' for i, clip in enumerate(clips, 1))
    return f"""data_dir: {tmp_path}/data
sites:
  works: {{name: Riverside Works, kind: site}}
  lab3: {{name: "Chemistry lab 3", kind: lab}}
cameras:
{cams}  spare: {{name: Spare, site: works, source: "{clips[0]}", enabled: false}}
  bench: {{name: Lab 3 bench, site: lab3, source: "rtsp://127.0.0.1:9/bench"}}
{extra}storage:
  database_url: sqlite:///{tmp_path}/vigil.db
  evidence: {{backend: local, path: evidence}}
"""


def serve_cameras(tmp_path: Path, n: int, detector: bool = True, size: str = "320x180", extra: str = ""):
    """n 25 fps file cameras, an unreachable and a disabled one, served by uvicorn: (server, services, clips)."""
    from api.app import create_app
    from api.context import Services
    from tests.servers import free_port
    from tests.web.conftest import LiveServer
    from tests.web.seed import add_role_users
    from vigil.config_loader import load_config
    from vigil.settings import Settings

    clips = make_clips(tmp_path / "clips", n, size=size)
    cfg = tmp_path / "vigil.yaml"
    cfg.write_text(config_yaml(tmp_path, clips, extra))
    services = Services.open(Settings.from_env({}, config_path=cfg), load_config(cfg, {}))
    add_role_users(services)
    options = {"detectors": {"site": PersonAndTruck()}} if detector else {}
    server = LiveServer(create_app(services, run_cameras=True, run_jobs=False, runtime_options=options),
                        free_port()).start()
    return server, services, clips


def resizing_clip(out: Path) -> Path:
    """A looping MPEG-TS whose picture size changes mid-file (320x180 for 2 s, then 256x144 for 2 s), its
    timestamps continuous across the change (the concat demuxer)."""
    out.mkdir(parents=True, exist_ok=True)
    parts = []
    for name, size in (("big", "320x180"), ("small", "256x144")):
        part = out / f"{name}.mp4"
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=size={size}:rate={FPS}",
                        "-t", "2", "-c:v", "libx264", "-preset", "ultrafast", "-bf", "0", "-g", str(FPS),
                        "-sc_threshold", "0", "-pix_fmt", "yuv420p", str(part)], check=True, timeout=120)
        parts.append(f"file '{part}'\n")
    (out / "list.txt").write_text("".join(parts))
    joined = out / "resizing.ts"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "concat", "-safe", "0", "-i", str(out / "list.txt"),
                    "-c", "copy", "-bsf:v", "h264_mp4toannexb", "-f", "mpegts", str(joined)], check=True, timeout=120)
    return joined
