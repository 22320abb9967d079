"""Live cameras: `vigil serve` against ultralytics' own multi-stream loop, on N RTSP cameras of the real site clip.

Run: .venv/bin/python -m bench.bench_live [--quick] [--sizes 720p,1080p] [--write-docs]   (about 15 minutes)
Each row is a fresh process on the same cameras (720p25 or 1080p25 H.264, GOP 2 s, served by GStreamer's RTSP
server): `vigil serve` with its defaults (detect 2 fps) read through its own /metrics, its keyframe-rate mode (detect
0.5 fps: keyframe-only decode), with a 640x360 sub-stream for detection (`detect_source`), and ultralytics'
`YOLO(model).track(source=LIST.streams, stream=True, imgsz=320)` every frame and with `vid_stride` tuned to 2 fps;
the keyframe-rate and sub-stream modes again with `server.camera_processes: 2` (cameras in two child processes).
A subset: --modes key-procs --cameras 32,64 --sizes 720p.
CPU is the process tree's (/proc: the service and its camera processes, or the ultralytics loop), over `--seconds`
after `--warmup`. A camera is held when it is analysed at >= 95%
of the target rate and its lag does not grow. Timings are never pass/fail; see docs/BENCHMARKS.md.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from bench.live_media import FPS, RtspCameras, camera_stream, serve_rtsp, tree_cpu_s, tree_rss_mb
from bench.live_report import PLOT, Row, render, write_docs

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "out" / "live"


@dataclass(frozen=True)
class Mode:
    label: str
    kind: str  # vigil | ultra
    target_fps: float
    vid_stride: int = 1
    sub_stream: bool = False
    processes: int = 1  # server.camera_processes (Vigil)
    model: str = ""  # a detector file in models/ instead of the shipped one (Vigil), e.g. the int8 copy


VIGIL = Mode("Vigil, detect 2 fps", "vigil", 2.0)
VIGIL_SUB = Mode("Vigil, 2 fps, 360p sub-stream", "vigil", 2.0, sub_stream=True)
VIGIL_KEY = Mode("Vigil, keyframe rate (0.5 fps)", "vigil", 0.5)
VIGIL_SUB_PROCS = Mode("Vigil, 2 fps, 360p sub-stream, 2 processes", "vigil", 2.0, sub_stream=True, processes=2)
VIGIL_KEY_PROCS = Mode("Vigil, keyframe rate (0.5 fps), 2 processes", "vigil", 0.5, processes=2)
VIGIL_INT8 = Mode("Vigil, detect 2 fps, int8", "vigil", 2.0, model="site.int8.onnx")
VIGIL_SUB_INT8 = Mode("Vigil, 2 fps, 360p sub-stream, int8", "vigil", 2.0, sub_stream=True, model="site.int8.onnx")
VIGIL_KEY_INT8 = Mode("Vigil, keyframe rate (0.5 fps), int8", "vigil", 0.5, model="site.int8.onnx")
ULTRA_STRIDE = Mode("ultralytics, vid_stride=12", "ultra", FPS / 12, vid_stride=12)
ULTRA_ALL = Mode("ultralytics, every frame", "ultra", float(FPS))
MODES = {"vigil": VIGIL, "sub": VIGIL_SUB, "key": VIGIL_KEY, "sub-procs": VIGIL_SUB_PROCS,
         "key-procs": VIGIL_KEY_PROCS, "int8": VIGIL_INT8, "sub-int8": VIGIL_SUB_INT8, "key-int8": VIGIL_KEY_INT8,
         "ultra-stride": ULTRA_STRIDE, "ultra-all": ULTRA_ALL}
PLAN = {"720p": [(VIGIL, [12, 16]), (VIGIL_INT8, [16, 20]), (VIGIL_SUB, [16, 24]), (VIGIL_SUB_INT8, [24, 32]),
                 (VIGIL_SUB_PROCS, [24]), (VIGIL_KEY, [32, 64]), (VIGIL_KEY_INT8, [64]), (VIGIL_KEY_PROCS, [64]),
                 (ULTRA_STRIDE, [8, 12, 16]), (ULTRA_ALL, [4])],
        "1080p": [(VIGIL, [8]), (VIGIL_INT8, [8]), (ULTRA_STRIDE, [8])]}
QUICK = {"720p": [(VIGIL, [4]), (VIGIL_SUB, [4]), (VIGIL_KEY, [8]), (ULTRA_STRIDE, [4])]}


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- vigil serve --------------------------------------------------------------------------------------------------
def detector_entry(mode: Mode) -> dict:
    """The shipped site detector's config entry, with the mode's model file (models/) where it names one."""
    from vigil.shipped import models_dir, shipped_detector

    entry = shipped_detector("site")
    if entry is None:
        raise SystemExit("expected the shipped site detector in models/, found none")
    if mode.model:
        path = models_dir() / mode.model
        if not path.is_file():
            raise SystemExit(f"expected {path} (vigil recipe quantize --profile site), found nothing")
        entry = {**entry, "model": str(path)}
    return entry


def vigil_config(work: Path, urls: list[str], sub_urls: list[str] | None, mode: Mode, port: int) -> Path:
    cams = {}
    for i, url in enumerate(urls):
        cam: dict = {"site": "bench", "source": url, "detect": {"fps": mode.target_fps}}
        if sub_urls is not None:
            cam["detect_source"] = sub_urls[i]
        cams[f"cam{i:02d}"] = cam
    cfg = {"data_dir": str(work / "data"), "sites": {"bench": {"name": "Bench site", "kind": "site"}},
           "cameras": cams, "detectors": {"site": detector_entry(mode)},
           "storage": {"database_url": "sqlite:///vigil.db", "evidence": {"backend": "local", "path": "evidence"}},
           "server": {"port": port, "metrics": {"open": True}, "camera_processes": mode.processes}}
    path = work / "vigil.yaml"
    path.write_text(json.dumps(cfg, indent=1))  # YAML is a superset of JSON
    return path


def scrape(port: int) -> dict[tuple[str, str], float]:
    """/metrics as {(name, camera or ''): value}, summing other labels."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    out: dict[tuple[str, str], float] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        head, _, value = line.rpartition(" ")
        name, _, labels = head.partition("{")
        cam = ""
        for part in labels.rstrip("}").split(","):
            if part.startswith("camera="):
                cam = part.split("=", 1)[1].strip('"')
        key = (name, cam)
        try:
            out[key] = out.get(key, 0.0) + float(value)
        except ValueError:
            continue
    return out


def run_vigil(mode: Mode, cameras: RtspCameras, n: int, size: str, warmup: float, seconds: float) -> Row:
    work = Path(tempfile.mkdtemp(prefix="vigil-live-", dir=OUT))
    port = free_port()
    urls = [cameras.url(f"{size}_{i}") for i in range(n)]
    subs = [cameras.url(f"360p_{i}") for i in range(n)] if mode.sub_stream else None
    cfg = vigil_config(work, urls, subs, mode, port)
    env = {**os.environ, "VIGIL_BOOTSTRAP_ADMIN_PASSWORD": "bench-password-123"}
    log = open(work / "serve.log", "w")
    proc = subprocess.Popen([str(Path(sys.executable).with_name("vigil")), "serve", "-c", str(cfg)], cwd=work,
                            stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                m = scrape(port)
                if sum(v for (k, _), v in m.items() if k == "vigil_camera_frames_analysed_total") >= n:
                    break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"vigil serve did not start analysing {n} cameras; see {work / 'serve.log'}")
            time.sleep(1)
        time.sleep(warmup)
        m0, c0, t0 = scrape(port), tree_cpu_s(proc.pid), time.monotonic()
        time.sleep(seconds)
        m1, c1, t1 = scrape(port), tree_cpu_s(proc.pid), time.monotonic()
        rss = tree_rss_mb(proc.pid)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()
    wall = t1 - t0
    cams = [f"cam{i:02d}" for i in range(n)]

    def d(name: str, cam: str = "") -> float:
        return m1.get((name, cam), 0.0) - m0.get((name, cam), 0.0)
    fps = [d("vigil_camera_frames_analysed_total", c) / wall for c in cams]
    lag0 = [m0.get(("vigil_camera_lag_seconds", c), 0.0) for c in cams]
    lag1 = [m1.get(("vigil_camera_lag_seconds", c), 0.0) for c in cams]
    det_n = d("vigil_detector_latency_seconds_count")
    batches = d("vigil_detector_batch_size_count")
    skipped = sum(d("vigil_camera_frames_motion_skipped_total", c) for c in cams)
    analysed = sum(d("vigil_camera_frames_analysed_total", c) for c in cams)
    decoded = sum(d("vigil_camera_frames_decoded_total", c) for c in cams)
    frames_detected = d("vigil_detector_batch_size_sum")  # per frame, as ultralytics reports its inference
    det_ms = 1000 * d("vigil_detector_latency_seconds_sum") / frames_detected if det_n and frames_detected else None
    return Row(mode.label, size, n, mode.target_fps, wall, (c1 - c0) / wall, fps, max(lag1),
               max(lag1) - max(lag0) > 1.0, rss, det_ms,
               d("vigil_detector_batch_size_sum") / batches if batches else None,
               skipped / analysed if analysed else None, decoded / wall / n)


# -- ultralytics ----------------------------------------------------------------------------------------------------
def run_ultra(mode: Mode, cameras: RtspCameras, n: int, size: str, warmup: float, seconds: float) -> Row:
    from vigil.shipped import models_dir

    work = Path(tempfile.mkdtemp(prefix="ultra-live-", dir=OUT))
    urls = [cameras.url(f"{size}_{i}") for i in range(n)]
    streams = work / "cams.streams"
    streams.write_text("\n".join(urls) + "\n")
    counts = work / "counts.json"
    log = open(work / "ultra.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "bench.live_ultra_child", str(models_dir() / "site.onnx"),
                             str(streams), str(mode.vid_stride), str(counts)], cwd=REPO, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)

    def sample() -> dict:
        return json.loads(counts.read_text())
    try:
        deadline = time.monotonic() + 120
        while not counts.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the ultralytics loop did not start on {n} cameras; see {work / 'ultra.log'}")
            time.sleep(1)
        time.sleep(warmup)
        s0, c0, t0 = sample(), tree_cpu_s(proc.pid), time.monotonic()
        time.sleep(seconds)
        s1, c1, t1 = sample(), tree_cpu_s(proc.pid), time.monotonic()
        rss = tree_rss_mb(proc.pid)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(30)
        log.close()
    wall = s1["t"] - s0["t"] if s1["t"] > s0["t"] else t1 - t0
    keys = sorted(set(s1["counts"]))
    fps = [(s1["counts"].get(k, 0) - s0["counts"].get(k, 0)) / wall for k in keys] + [0.0] * (n - len(keys))
    frames = s1["frames"] - s0["frames"]
    infer = (s1["infer_ms"] - s0["infer_ms"]) / frames if frames else None
    return Row(mode.label, size, n, mode.target_fps, wall, (c1 - c0) / (t1 - t0), fps, None, False, rss, infer, None,
               None, None)


def subset(plan: dict, modes: str, cameras: str) -> dict:
    """The plan's rows of these modes (MODES keys) and camera counts; empty strings keep all."""
    unknown = [m for m in modes.split(",") if m and m not in MODES]
    if unknown:
        raise SystemExit(f"--modes: expected some of {', '.join(MODES)}, found {', '.join(unknown)}")
    keep = {MODES[m] for m in modes.split(",") if m}
    counts = {int(n) for n in cameras.split(",") if n}
    out = {size: [(mode, [n for n in ns if not counts or n in counts]) for mode, ns in rows
                  if not keep or mode in keep] for size, rows in plan.items()}
    out = {size: [(mode, ns) for mode, ns in rows if ns] for size, rows in out.items()}
    if not any(out.values()):
        raise SystemExit("--modes/--cameras: no row of the plan is left")
    return {size: rows for size, rows in out.items() if rows}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a few small rows (a smoke run)")
    ap.add_argument("--sizes", default="720p,1080p", help="main-stream sizes, comma-separated (720p, 1080p)")
    ap.add_argument("--modes", default="", help=f"only these modes, comma-separated ({', '.join(MODES)})")
    ap.add_argument("--cameras", default="", help="only these camera counts, comma-separated (e.g. 32,64)")
    ap.add_argument("--warmup", type=float, default=10.0)
    ap.add_argument("--seconds", type=float, default=25.0)
    ap.add_argument("--shared", type=Path, default=REPO.parent / "shared", help="the team's shared folder")
    ap.add_argument("--write-docs", action="store_true", help="rewrite the live section of docs/BENCHMARKS.md")
    args = ap.parse_args(argv)
    plan = QUICK if args.quick else {s: PLAN[s] for s in args.sizes.split(",")}
    plan = subset(plan, args.modes, args.cameras)
    OUT.mkdir(parents=True, exist_ok=True)
    most = max(n for rows in plan.values() for _, ns in rows for n in ns)
    media = {s: camera_stream(s, OUT / "media", args.shared) for s in [*plan, "360p"]}
    mounts = {f"{s}_{i}": path for s, path in media.items() for i in range(most)}
    rows: list[Row] = []
    cameras = serve_rtsp(mounts, free_port())
    try:
        for size, modes in plan.items():
            for mode, ns in modes:
                for n in ns:
                    run = run_vigil if mode.kind == "vigil" else run_ultra
                    row = run(mode, cameras, n, size, args.warmup, args.seconds)
                    rows.append(row)
                    print(row.line(), flush=True)
                    if not row.held and mode.kind == "ultra":
                        break  # it fell behind: more cameras only fall further
    finally:
        cameras.stop()
    command = ".venv/bin/python -m bench.bench_live " + " ".join(argv if argv is not None else sys.argv[1:])
    table = render(rows, command.strip(), PLOT if args.write_docs else OUT / "bench_live.png")  # docs: whole runs
    print("\n" + table)
    if args.write_docs:
        write_docs(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
