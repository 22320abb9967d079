"""Detector ms/frame by backend, image size and batch; motion-gate cost and skip ratio vs detecting every frame.

Run: .venv/bin/python -m bench.bench_detect [--quick]   (about 2 minutes on 2 cores)
The model is yolo11n built from its yaml (untrained weights: the same compute as a trained one, no download),
exported to ONNX with a dynamic batch; files go to bench/out/ (ignored by git).
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

OUT = Path(__file__).resolve().parent / "out"


def build_models(imgszs: tuple[int, ...]) -> dict[str, Path]:
    """yolo11n.pt from the yaml, and one dynamic-batch ONNX export per image size (cached in bench/out)."""
    OUT.mkdir(parents=True, exist_ok=True)
    paths = {"pt": OUT / "yolo11n.pt", **{f"onnx{s}": OUT / f"yolo11n_{s}.onnx" for s in imgszs}}
    if all(p.exists() for p in paths.values()):
        return paths
    cfg = OUT / "yolo-config"
    cfg.mkdir(exist_ok=True)
    import matplotlib

    for name in ("Arial.ttf", "Arial.Unicode.ttf"):
        shutil.copy(Path(matplotlib.get_data_path()) / "fonts/ttf/DejaVuSans.ttf", cfg / name)
    os.environ.update(YOLO_OFFLINE="1", YOLO_AUTOINSTALL="false", YOLO_CONFIG_DIR=str(cfg))
    from ultralytics import YOLO

    model = YOLO("yolo11n.yaml")
    model.save(str(paths["pt"]))
    for s in imgszs:
        work = OUT / f"export{s}"
        work.mkdir(exist_ok=True)
        shutil.copy(paths["pt"], work / "yolo11n.pt")
        exported = YOLO(str(work / "yolo11n.pt")).export(format="onnx", imgsz=s, dynamic=True, simplify=True)
        shutil.move(exported, paths[f"onnx{s}"])
    return paths


def time_detector(det, frames: list[np.ndarray], batch: int, reps: int) -> float:
    det.detect(frames[:batch])  # warm up
    t0 = time.perf_counter()
    for r in range(reps):
        det.detect(frames[r * batch % len(frames):][:batch] or frames[:batch])
    return 1000 * (time.perf_counter() - t0) / (reps * batch)


def detector_table(paths, imgszs, batches, reps) -> dict[tuple[str, int, int], float]:
    from vision.detector import load_detector

    rng = np.random.default_rng(0)
    frames = [cv2.GaussianBlur(rng.integers(0, 255, (360, 640, 3), dtype=np.uint8), (7, 7), 0) for _ in range(8)]
    out = {}
    for backend in ("onnx", "ultralytics"):
        for s in imgszs:
            path = paths[f"onnx{s}"] if backend == "onnx" else paths["pt"]
            det = load_detector(path, imgsz=s, threads=2)
            for b in batches:
                out[(backend, s, b)] = time_detector(det, frames, b, reps)
                print(f"  {backend:11s} imgsz {s:3d} batch {b}: {out[(backend, s, b)]:7.1f} ms/frame", flush=True)
    return out


def scene_frames(seconds: float, fps: float) -> tuple[str, list[np.ndarray]]:
    """Frames of a demo site scene when the scene renderer is there, else a synthetic one."""
    try:
        import av
        from datasets.scenes import render_scene

        tmp = Path(tempfile.mkdtemp(prefix="vigil-bench-"))
        res = render_scene("site", 1, seconds, tmp, fps=fps, labels=False)
        with av.open(str(res.video)) as c:
            frames = [f.to_ndarray(format="bgr24") for f in c.decode(video=0)]
        shutil.rmtree(tmp, ignore_errors=True)
        return "demo:site?seed=1", frames
    except Exception as e:  # a bench must run before the renderer lands
        print(f"  (demo scene unavailable: {type(e).__name__}: {e}; using a synthetic scene)")
    rng = np.random.default_rng(5)
    base = cv2.resize(rng.integers(40, 200, (18, 32, 3), dtype=np.uint8), (640, 360), interpolation=cv2.INTER_NEAREST)
    frames = []
    for i in range(int(seconds * fps)):
        img = cv2.add(base, rng.integers(0, 6, base.shape, dtype=np.uint8))
        t = i / fps
        if 20 <= t < 35:  # a truck crosses, then stops for good
            x = int(20 + 25 * (t - 20) * 2)
            cv2.rectangle(img, (min(x, 400), 200), (min(x, 400) + 120, 300), (30, 160, 200), -1)
        elif t >= 35:
            cv2.rectangle(img, (400, 200), (520, 300), (30, 160, 200), -1)
        frames.append(img)
    return "synthetic", frames


def gate_bench(seconds: float, fps: float, det_ms: float) -> dict:
    from vigil.config_loader import parse_config
    from vision.analyzer import CameraAnalyzer
    from vision.frame_step import FrameStep
    from vision.replay import frames_from_images

    name, images = scene_frames(seconds, fps)
    cfg = parse_config("sites: {s: {name: S, kind: site}}\ncameras: {c: {site: s, source: demo:site}}")
    analyzer = CameraAnalyzer.from_config(cfg, "c")
    t0 = time.perf_counter()
    for frame in frames_from_images("c", images, fps=fps):
        analyzer.wants_detection(frame)
    gate_ms = 1000 * (time.perf_counter() - t0) / len(images)
    analyzer = CameraAnalyzer.from_config(cfg, "c")
    for _ in FrameStep(analyzer, lambda _frame: (_empty(), None)).run(frames_from_images("c", images, fps=fps)):
        pass
    st = analyzer.stats
    naive = st["frames"] * det_ms
    gated = st["frames"] * gate_ms + st["detected"] * det_ms
    return {"scene": name, "frames": st["frames"], "gate_ms": gate_ms, "skip_ratio": st["skip_ratio"],
            "detected": st["detected"], "naive_ms": naive, "gated_ms": gated, "ratio": gated / naive}


def _empty():
    from vision.analyzer import empty_detections

    return empty_detections()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer repetitions (a smoke run)")
    args = ap.parse_args(argv)
    imgszs, batches, reps = (320, 640), (1, 4, 8), (2 if args.quick else 4)
    t0 = time.perf_counter()
    print("building models ...", flush=True)
    paths = build_models(imgszs)
    print("detector ms/frame (2 threads):", flush=True)
    table = detector_table(paths, imgszs, batches, reps)
    print("motion gate (detect fps 2, 120 s scene):", flush=True)
    g = gate_bench(60 if args.quick else 120, 2.0, table[("onnx", 320, 1)])
    print("\n| backend | imgsz | " + " | ".join(f"batch {b}" for b in batches) + " |")
    print("|---|---|" + "---|" * len(batches))
    for backend in ("onnx", "ultralytics"):
        for s in imgszs:
            print(f"| {backend} | {s} | " + " | ".join(f"{table[(backend, s, b)]:.1f}" for b in batches) + " |")
    print(f"\nmotion gate on {g['scene']}: {g['gate_ms']:.2f} ms/frame, skip ratio {g['skip_ratio']:.2f} "
          f"({g['detected']}/{g['frames']} frames detected); detector time with the gate vs on every frame "
          f"(onnx 320 batch 1): {g['gated_ms'] / 1000:.1f} s vs {g['naive_ms'] / 1000:.1f} s = ratio {g['ratio']:.2f}")
    print(f"bench took {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
