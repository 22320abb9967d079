"""The loop users pick instead of Vigil, as they run it: ultralytics' multi-stream tracker over RTSP cameras.

Run by bench/bench_live.py: python -m bench.live_ultra_child MODEL STREAMS_FILE VID_STRIDE COUNTS_JSON
`YOLO(MODEL).track(source=STREAMS_FILE, stream=True, imgsz=320, vid_stride=K)` on the same ONNX file Vigil runs;
every second the results per stream (and detector ms) go to COUNTS_JSON (atomic rename) for the parent to sample.
"""
from __future__ import annotations

import json
import os
import sys
import time
from collections import Counter
from pathlib import Path


def main(model: str, streams: str, vid_stride: int, counts_path: str) -> None:
    from training.offline import offline_env

    offline_env(Path(counts_path).parent / "ultralytics-config", threads=0)
    from ultralytics import YOLO

    counts: Counter[str] = Counter()
    infer_ms, frames, last = 0.0, 0, 0.0
    yolo = YOLO(model, task="detect")
    for result in yolo.track(source=streams, stream=True, imgsz=320, vid_stride=vid_stride, verbose=False):
        counts[str(result.path)] += 1
        infer_ms += float(result.speed.get("inference") or 0.0)
        frames += 1
        now = time.monotonic()
        if now - last >= 0.5:
            last = now
            tmp = counts_path + ".tmp"
            with open(tmp, "w") as f:
                json.dump({"t": now, "counts": dict(counts), "infer_ms": infer_ms, "frames": frames}, f)
            os.replace(tmp, counts_path)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4])
