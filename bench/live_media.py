"""Live cameras for the live bench: the real site clip as 720p25/1080p25/360p25 H.264 loops (GOP 2 s), served over
RTSP by the GStreamer test server (tests/streams/rtsp_server.py, Debian's python3-gi), one mount per camera.

Needs ../shared/videos/construction_site_cctv.mp4 (the team's shared folder; absent outside it: the bench says so).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RTSP_SCRIPT = REPO / "tests" / "streams" / "rtsp_server.py"
SYSTEM_PYTHON = "/usr/bin/python3"
# name -> (width, height, video bitrate): what IP cameras send on their main and sub streams
SIZES = {"1080p": (1920, 1080, "5M"), "720p": (1280, 720, "3M"), "360p": (640, 360, "512k")}
FPS = 25
GOP_S = 2


def shared_clip(shared_dir: Path) -> Path:
    clip = shared_dir / "videos" / "construction_site_cctv.mp4"
    if not clip.is_file():
        raise SystemExit(f"expected the real site clip at {clip} (the team's ../shared folder); found nothing there. "
                         f"Pass --shared DIR where videos/construction_site_cctv.mp4 lives.")
    return clip


def camera_stream(size: str, out_dir: Path, shared_dir: Path) -> Path:
    """An MPEG-TS loop of the real clip at `size`, 25 fps, GOP 2 s (made once with ffmpeg, cached)."""
    if size not in SIZES:
        raise SystemExit(f"expected a size among {', '.join(SIZES)}, found {size!r}")
    w, h, rate = SIZES[size]
    out = out_dir / f"site_{size}_{FPS}fps_gop{GOP_S}s.ts"
    if out.is_file() and out.stat().st_size > 0:
        return out
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".part.ts")
    gop = FPS * GOP_S
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i", str(shared_clip(shared_dir)), "-an",
                    "-vf", f"scale={w}:{h},fps={FPS}", "-c:v", "libx264", "-preset", "veryfast", "-profile:v", "main",
                    "-b:v", rate, "-maxrate", rate, "-bufsize", rate, "-g", str(gop), "-keyint_min", str(gop),
                    "-sc_threshold", "0", "-bsf:v", "h264_mp4toannexb", "-f", "mpegts", str(tmp)], check=True)
    os.replace(tmp, out)
    return out


@dataclass
class RtspCameras:
    """One GStreamer RTSP server process; `url(mount)` for each camera's stream."""

    port: int
    proc: subprocess.Popen

    def url(self, mount: str) -> str:
        return f"rtsp://127.0.0.1:{self.port}/{mount}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def serve_rtsp(mounts: dict[str, Path], port: int, wait_s: float = 30.0) -> RtspCameras:
    """Serve each mount's MPEG-TS file looping (every mount its own media: N cameras are N streams)."""
    if not Path(SYSTEM_PYTHON).exists() or shutil.which("gst-launch-1.0") is None:
        raise SystemExit(f"the live bench needs {SYSTEM_PYTHON} with python3-gi and GStreamer's RTSP server "
                         f"(`make install` installs them); not found")
    proc = subprocess.Popen([SYSTEM_PYTHON, str(RTSP_SCRIPT), str(port), *(f"{m}={p}:h264" for m, p in mounts.items())],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + wait_s
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line.startswith("READY"):
            return RtspCameras(port, proc)
        if not line and proc.poll() is not None:
            break
    proc.kill()
    raise SystemExit(f"the RTSP server did not start on 127.0.0.1:{port}: {proc.stdout.read()[-2000:]}")


def _tree(pid: int) -> list[int]:
    """`pid` and every process below it (from /proc: children, grandchildren, ...)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue  # gone meanwhile
        parents.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(parents.get(p, ()))
    return out


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process and its threads, and of its children it has waited for (/proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def _tree_sum(pid: int, of) -> float:
    total = 0.0
    for p in _tree(pid):
        try:
            total += of(p)
        except OSError:
            continue  # ended meanwhile (its CPU counts in its parent's waited-for children once reaped)
    return total


def tree_cpu_s(pid: int) -> float:
    """CPU seconds of a process and every process below it (a service's camera processes count)."""
    return _tree_sum(pid, process_cpu_s)


def process_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and every process below it (pages they share count once per process)."""
    return _tree_sum(pid, process_rss_mb)
