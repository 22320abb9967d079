"""Decode CPU per camera-second at 720p and 1080p: every frame (naive) vs decimated vs keyframe-only; memory.

Run: .venv/bin/python -m bench.bench_decode [--seconds 10]   (about a minute on 2 cores)
Clips are made with ffmpeg at run time (testsrc2, H.264, 25 fps, GOP 2 s, ~3/6 Mbit/s) under bench/out/.
"""
from __future__ import annotations

import argparse
import resource
import subprocess
import threading
import time
from pathlib import Path

from streams.decoder import FrameDecoder
from streams.ring import PacketRing
from streams.source import SourceSession, parse_source

OUT = Path(__file__).resolve().parent / "out"
SIZES = {"720p": ("1280x720", "3M"), "1080p": ("1920x1080", "6M")}
# (label, detect fps, decoder mode); "naive" decodes and converts every frame, as a per-frame loop would
MODES = [("naive: every frame decoded + converted", 25.0, "all"),
         ("decimated: decode all, convert 5 fps", 5.0, "all"),
         ("decimated: decode all, convert 2 fps", 2.0, "all"),
         ("keyframe-only (0.5 fps)", 0.5, "auto")]


def make_clip(name: str, size: str, rate: str, seconds: float) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    out = OUT / f"decode_{name}_{seconds:g}s.mp4"
    if not out.exists():
        subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=size={size}:rate=25",
                        "-t", str(seconds), "-c:v", "libx264", "-preset", "veryfast", "-b:v", rate, "-g", "50",
                        "-keyint_min", "50", "-sc_threshold", "0", "-bf", "0", "-pix_fmt", "yuv420p", str(out)],
                       check=True)
    return out


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def run(clip: Path, fps: float, mode: str, pre_roll_s: float = 5.0) -> dict:
    spec = parse_source(str(clip), as_camera=False)
    session = SourceSession(spec, segment=0, base_s=0.0)
    decoder = FrameDecoder("bench", fps, (640, 360), mode=mode)
    ring = PacketRing(pre_roll_s, 64 * 1024 * 1024)
    rss0 = rss_mb()
    cpu0 = time.process_time()
    last = 0.0
    peak_ring = 0
    for pkt in session.packets(threading.Event()):
        decoder.feed(pkt)
        ring.push(pkt)
        peak_ring = max(peak_ring, ring.nbytes)
        last = pkt.t_s
    cpu = time.process_time() - cpu0
    session.close()
    media_s = last + 1 / 25
    return {"cpu_per_cam_s": cpu / media_s, "decoded": decoder.decoded, "emitted": decoder.emitted,
            "mode": decoder.mode, "ring_mb": peak_ring / 1e6, "rss_delta_mb": rss_mb() - rss0, "media_s": media_s}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=10.0, help="length of each generated clip")
    args = ap.parse_args()
    started = time.monotonic()
    print("| resolution | mode | decoded frames | frames to vision | CPU core-s per camera-s | vs naive "
          "| ring buffer MB (5 s pre-roll) | RSS delta MB |")
    print("|---|---|---|---|---|---|---|---|")
    for name, (size, rate) in SIZES.items():
        clip = make_clip(name, size, rate, args.seconds)
        naive = None
        for label, fps, mode in MODES:
            r = run(clip, fps, mode)
            naive = naive or r["cpu_per_cam_s"]
            print(f"| {name} | {label} | {r['decoded']} | {r['emitted']} | {r['cpu_per_cam_s']:.4f} "
                  f"| {r['cpu_per_cam_s'] / naive:.2f} | {r['ring_mb']:.2f} | {r['rss_delta_mb']:+.1f} |", flush=True)
    print(f"\npeak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB; "
          f"took {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
