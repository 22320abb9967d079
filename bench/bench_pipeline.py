"""Cameras per box: N paced cameras through Vigil's Supervisor vs a naive decode-everything-detect-everything loop.

Run: .venv/bin/python -m bench.bench_pipeline [--quick] [--write-docs]   (about 5 minutes on 2 busy cores)
Each measurement runs in a fresh process (bench/pipeline_child.py), so memory, threads and ONNX Runtime pools do not mix.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from bench.pipeline_child import ChildSpec


# -- the parent: plan, scenes, table, docs ------------------------------------------------------------------------
REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "out"
DOCS = REPO / "docs" / "BENCHMARKS.md"
SECTION = "## Pipeline: cameras per box"
SCENE_S = 30  # each demo scene is rendered once (cached in bench/out/scenes) and loops like a camera
# (label, child mode, cameras): the same detector (vision.detector.load_detector) in every row
PLAN = [("Vigil", "vigil", 1), ("Vigil", "vigil", 4), ("Vigil", "vigil", 8), ("naive", "naive", 1),
        ("naive", "naive", 4)]
QUICK_PLAN = [("Vigil", "vigil", 1), ("Vigil", "vigil", 4), ("naive", "naive", 1)]


def pick_models() -> tuple[dict[str, str], str, bool]:
    """models/site.onnx + models/lab.onnx when both exist, else yolo11n (untrained, same compute) at imgsz 320."""
    real = {p: REPO / "models" / f"{p}.onnx" for p in ("site", "lab")}
    if all(p.is_file() for p in real.values()):
        return {k: str(v) for k, v in real.items()}, "models/site.onnx + models/lab.onnx (trained Vigil models)", True
    from bench.bench_detect import build_models

    path = str(build_models((320,))["onnx320"])
    return ({"site": path, "lab": path}, "yolo11n built from yolo11n.yaml (untrained weights: the same compute as a "
            "trained one), ONNX, imgsz 320, dynamic batch, for both profiles (models/site.onnx and models/lab.onnx "
            "were not there yet)", False)


def scenes(n: int) -> list[tuple[str, str]]:
    """n cameras alternating site/lab demo scenes (640x360, 10 fps, GOP 1 s), a different seed each."""
    from datasets.scenes import demo_source_path

    out = []
    for i in range(n):
        profile, seed = ("site" if i % 2 == 0 else "lab"), i // 2 + 1
        out.append((profile, str(demo_source_path(f"demo:{profile}?seed={seed}&duration={SCENE_S}", OUT / "scenes"))))
    return out


def run_child(spec: ChildSpec) -> dict:
    arg = json.dumps(spec.__dict__)
    timeout = spec.warmup + spec.seconds + 120
    proc = subprocess.run([sys.executable, "-m", "bench.pipeline_child", arg], cwd=REPO,
                          capture_output=True, text=True, timeout=timeout)
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    raise RuntimeError(f"expected a RESULT line from the {spec.mode} run with {len(spec.cameras)} cameras, found "
                       f"none (exit {proc.returncode}); stderr tail:\n{proc.stderr[-2000:]}")


def summarize(label: str, n: int, r: dict) -> dict:
    per_cam = r["cpu_s"] / max(r["media_s"], 1e-9)
    return {"label": label, "n": n, "cores": r["cpu_s"] / r["wall_s"], "per_cam": per_cam, "box": 2.0 / per_cam,
            "realtime": r["media_s"] / (n * r["wall_s"]), "skip": 1 - r["detected"] / max(r["analysed"], 1), **r}


def machine_info() -> dict:
    import av
    import onnxruntime

    model = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                  if ln.startswith("model name")), "unknown CPU")
    mem = next(int(ln.split()[1]) for ln in Path("/proc/meminfo").read_text().splitlines() if ln.startswith("MemTotal"))
    return {"cpu": model, "cores": os.cpu_count(), "usable_cores": len(os.sched_getaffinity(0)),
            "mem_gb": round(mem / 1024 ** 2, 1), "python": platform.python_version(), "onnxruntime": onnxruntime.__version__,
            "pyav": av.__version__, "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}


def _ratio(row: dict, rows: list[dict]) -> str:
    base = next((x for x in rows if x["label"] == "Vigil" and x["n"] == row["n"]), None)
    return "-" if base is None or row is base else f"{row['per_cam'] / base['per_cam']:.1f}x"


def tables(rows: list[dict]) -> str:
    out = ["| mode | cameras | CPU cores used | CPU core-s per camera-s | vs Vigil (same N) | est. cameras per "
           "2-core box | frames decoded | frames to vision | detector frames | motion skip ratio | dropped | "
           "realtime | RSS MB | load avg (1 min) |", "|---|" * 1 + "---|" * 13]
    for r in rows:
        out.append(f"| {r['label']} | {r['n']} | {r['cores']:.2f} | {r['per_cam']:.4f} | {_ratio(r, rows)} | "
                   f"{r['box']:.0f} | {r['decoded']} | {r['to_vision']} | {r['detected']} | {r['skip']:.2f} | "
                   f"{r['dropped']} | {r['realtime']:.2f} | {r['rss_mb']:.0f} | {r['load'][0]:.1f}-{r['load'][1]:.1f} |")
    groups = ("reader", "analyze", "detect", "naive_loop", "native", "other")
    out += ["", "CPU by thread, core-s per camera-s (reader: demux + decode + ring; analyze: motion gate, tracker, "
            "rules; detect: batcher loop, letterbox, ONNX Runtime caller; native: threads Python did not start, i.e. "
            "the ONNX Runtime pool and codec threads; naive_loop: decode + convert + resize + detect in one thread):",
            "", "| mode | cameras | " + " | ".join(groups) + " |", "|---|---|" + "---|" * len(groups)]
    for r in rows:
        cells = [f"{r['threads'].get(g, 0.0) / max(r['media_s'], 1e-9):.4f}" for g in groups]
        out.append(f"| {r['label']} | {r['n']} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def reading(rows: list[dict]) -> str:
    lines = []
    for n in sorted({r["n"] for r in rows}):
        v = next((r for r in rows if r["label"] == "Vigil" and r["n"] == n), None)
        nv = next((r for r in rows if r["label"] == "naive" and r["n"] == n), None)
        if v and nv:
            behind = "" if nv["realtime"] >= 0.95 else (
                f" The naive loop fell behind ({nv['realtime']:.2f}x real time), so its figure is a lower bound "
                f"and this box did not carry even {n} naive cameras.")
            lines.append(f"- {n} camera(s): naive {nv['per_cam']:.3f} vs Vigil {v['per_cam']:.4f} core per camera, "
                         f"**{nv['per_cam'] / v['per_cam']:.1f}x**; a 2-core box carries ~{nv['box']:.0f} naive vs "
                         f"~{v['box']:.0f} Vigil cameras.{behind}")
    vig = sorted((r for r in rows if r["label"] == "Vigil"), key=lambda r: r["n"])
    if len(vig) >= 2:
        a, b = vig[0], vig[-1]
        lines.append(f"- Vigil from {a['n']} to {b['n']} cameras: {(b['cores'] - a['cores']) / (b['n'] - a['n']):.4f} "
                     f"core and {(b['rss_mb'] - a['rss_mb']) / (b['n'] - a['n']):.1f} MB RSS per added camera "
                     f"(memory includes the detector's ONNX Runtime arena growing with the batch size).")
        lines.append(f"- Where Vigil's CPU goes at {b['n']} cameras: detector (detect + native threads) "
                     f"{(b['threads'].get('detect', 0) + b['threads'].get('native', 0)) / b['cpu_s']:.0%}, readers "
                     f"{b['threads'].get('reader', 0) / b['cpu_s']:.0%}, analyzers {b['threads'].get('analyze', 0) / b['cpu_s']:.0%}.")
    modes = sorted({m for r in vig for m in r.get("decode_modes", [])})
    if "all" in modes:
        lines.append(f"- Vigil's decoders ran in mode {'/'.join(modes)}: with a 1 s GOP and detect fps 2, keyframes "
                     "alone are too few, so every frame is decoded and only the kept 2 fps are converted and resized; "
                     "keyframe-only decoding engages when the GOP is at most 1/detect fps (see Decode below).")
    return "\n".join(lines)


def markdown(rows: list[dict], info: dict, model: str, command: str, spec: dict) -> str:
    return f"""{SECTION}

Command (one full run about {spec['total_min']:.0f} min; `--quick` runs a smaller plan, `--all` also runs the decode
and detector benches, `--write-docs` rewrites this section):

```
{command}
```

Each row is a fresh process: N cameras, each a demo scene file ({SCENE_S} s, 640x360, 10 fps, H.264 GOP 1 s,
site and lab scenes alternating, a different seed each) looped and paced at native speed like a live camera.
"Vigil" runs them through `streams.supervisor.Supervisor` with its defaults (detect fps {spec['detect_fps']:g},
motion gate on, one batched detector per profile, ring buffers, analyzers with the shipped second-look
classifiers and, for lab cameras, the people detector beside the lab detector when the real models run, a counting
violation sink).
"naive" is what a plain PyAV + ONNX user writes: per camera a thread that decodes every frame, converts it to
BGR, resizes to 640x360 and runs the same ONNX detector on it. CPU is process CPU time
(`time.process_time`) over a {spec['seconds']:g} s window after {spec['warmup']:g} s of warm-up, divided by the
camera-seconds of video that went through (so a loop that falls behind is charged only for what it processed);
threads are read from `/proc/self/task`. Cameras per 2-core box = 2 / (core-s per camera-s), with no headroom
for the API and database. The box is shared with other jobs: CPU time is less sensitive to that than wall time,
but read ratios rather than absolutes; the load average during each window is in the last column.

Machine: {info['cpu']}, {info['cores']} cores ({info['usable_cores']} usable), {info['mem_gb']} GB RAM; Python
{info['python']}, ONNX Runtime {info['onnxruntime']}, PyAV {info['pyav']}; {info['date']}.
Model: {model}; 2 intra-op threads (the config default).

{tables(rows)}

{reading(rows)}
"""


def write_docs(md: str) -> None:
    text = DOCS.read_text() if DOCS.exists() else "# Benchmarks\n"
    start = text.find(SECTION)
    if start >= 0:
        end = text.find("\n## ", start + len(SECTION))
        text = text[:start] + md.rstrip() + "\n" + (text[end:] if end >= 0 else "")
    else:
        first = text.find("\n## ")
        at = first + 1 if first >= 0 else len(text)
        text = text[:at] + md.rstrip() + "\n\n" + text[at:]
    DOCS.write_text(text)


def main(argv: list[str] | None = None, command: str | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1 and 4 Vigil cameras, 1 naive, 15 s windows")
    ap.add_argument("--seconds", type=float, help="measured window per row (default 30, quick 15)")
    ap.add_argument("--warmup", type=float, default=6.0, help="seconds before the window opens")
    ap.add_argument("--write-docs", action="store_true", help=f"rewrite '{SECTION}' in docs/BENCHMARKS.md")
    args = ap.parse_args(argv)
    t0 = time.monotonic()
    seconds = args.seconds or (15.0 if args.quick else 30.0)
    plan = QUICK_PLAN if args.quick else PLAN
    models, model_text, real = pick_models()
    print(f"model: {model_text}", flush=True)
    rows = []
    for label, mode, n in plan:
        spec = ChildSpec(mode, tuple(scenes(n)), models, seconds, args.warmup, check_classes=real)
        print(f"  {label}: {n} camera(s), {seconds:g} s (load avg {os.getloadavg()[0]:.1f}) ...", flush=True)
        row = summarize(label, n, run_child(spec))
        print(f"    {row['per_cam']:.4f} core-s per camera-s, realtime {row['realtime']:.2f}, "
              f"detector frames {row['detected']}, dropped {row['dropped']}", flush=True)
        rows.append(row)
    info = machine_info()
    command = command or ".venv/bin/python -m bench.bench_pipeline " + " ".join(argv if argv is not None else sys.argv[1:])
    md = markdown(rows, info, model_text, command.strip(),
                  {"total_min": (time.monotonic() - t0) / 60, "detect_fps": 2.0, "seconds": seconds,
                   "warmup": args.warmup})
    print("\n" + tables(rows) + "\n\n" + reading(rows))
    print(f"\nmachine: {info['cpu']}, {info['cores']} cores; model: {model_text}; {info['date']}; "
          f"bench took {time.monotonic() - t0:.0f} s")
    if args.write_docs:
        write_docs(md)
        print(f"wrote '{SECTION}' in {DOCS.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
