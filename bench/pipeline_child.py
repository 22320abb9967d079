"""One measurement of the pipeline bench, run in its own process: N cameras through Vigil or the naive loop.

Run by bench.bench_pipeline as `python -m bench.pipeline_child SPEC_JSON`; prints one `RESULT {json}` line.
"""
from __future__ import annotations

import json
import os
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from vigil.shipped import SHIPPED

SOURCE_FPS = 10.0
SIZE = (640, 360)


@dataclass(frozen=True)
class ChildSpec:
    mode: str  # vigil | naive
    cameras: tuple[tuple[str, str], ...]  # (profile, video path)
    models: dict  # profile -> model path
    seconds: float
    warmup: float
    detect_fps: float = 2.0
    check_classes: bool = False  # real Vigil models: load_detector checks their names against the catalogue


# -- measuring ---------------------------------------------------------------------------------------------------
def thread_cpu() -> dict[int, tuple[str, float]]:
    """CPU seconds of every thread of this process by native id, named after its Python thread ("native" else)."""
    names = {t.native_id: t.name for t in threading.enumerate()}
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the thread ended while we looked
        out[int(tid)] = (names.get(int(tid), "native"), (int(fields[11]) + int(fields[12])) / tick)
    return out


def thread_group(name: str) -> str:
    for prefix, group in (("vigil-reader", "reader"), ("vigil-analyze", "analyze"), ("vigil-detect", "detect"),
                          ("naive-cam", "naive_loop"), ("native", "native")):
        if name.startswith(prefix):
            return group
    return "other"


def cpu_by_group(before: dict, after: dict) -> dict[str, float]:
    groups: dict[str, float] = {}
    for tid, (name, cpu) in after.items():
        prev = before.get(tid)
        delta = cpu - (prev[1] if prev and prev[0] == name else 0.0)
        groups[thread_group(name)] = groups.get(thread_group(name), 0.0) + delta
    return {k: round(v, 3) for k, v in sorted(groups.items())}


def rss_mb() -> tuple[float, float]:
    """(VmRSS, VmHWM) of this process in MB."""
    vals = {}
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                key, kb = line.split()[:2]
                vals[key] = int(kb) / 1024
    return round(vals["VmRSS:"], 1), round(vals["VmHWM:"], 1)


def window(seconds: float) -> dict:
    """Sleep through the measured window; returns its wall/CPU/thread figures and the load average."""
    load0, cpu0, threads0, wall0 = os.getloadavg()[0], time.process_time(), thread_cpu(), time.monotonic()
    time.sleep(seconds)
    wall, cpu, threads1 = time.monotonic() - wall0, time.process_time() - cpu0, thread_cpu()
    rss, hwm = rss_mb()
    return {"wall_s": round(wall, 2), "cpu_s": round(cpu, 3), "threads": cpu_by_group(threads0, threads1),
            "load": [round(load0, 2), round(os.getloadavg()[0], 2)], "rss_mb": rss, "peak_rss_mb": hwm}


# -- detectors ---------------------------------------------------------------------------------------------------
def load_detectors(spec: ChildSpec) -> dict:
    """The same ONNX detector for both modes: one per profile, shared by that profile's cameras, chosen as the
    product chooses (the config's threshold, size and threads, or the defaults where it names none)."""
    from vision.detector import profile_detector

    loaded = vigil_config(spec)
    return {profile: profile_detector(loaded, profile, model_path=spec.models[profile],
                                      check_classes=spec.check_classes)
            for profile in sorted({p for p, _ in spec.cameras})}


REPO = Path(__file__).resolve().parents[1]
SECOND_LOOK = {p: tuple(REPO / "models" / c for c in entry["classifiers"]) for p, entry in SHIPPED.items()}
PEOPLE = {p: REPO / "models" / entry["people"] for p, entry in SHIPPED.items() if "people" in entry}


# -- Vigil ---------------------------------------------------------------------------------------------------------
class _CountingSink:
    def __init__(self):
        self.events = 0

    def on_violation(self, event) -> None:
        self.events += 1


def vigil_config(spec: ChildSpec):
    from vigil.config_loader import parse_config

    lines = ["sites:", "  s: {name: Bench site, kind: site}", "  l: {name: Bench lab, kind: lab}", "cameras:"]
    for i, (profile, path) in enumerate(spec.cameras):
        site = "s" if profile == "site" else "l"
        lines.append(f"  cam{i}: {{site: {site}, source: {json.dumps(path)}, detect: {{fps: {spec.detect_fps}}}}}")
    if spec.check_classes:  # the real models: the product's second look and people detector run too (the naive
        lines.append("detectors:")  # way has neither)
        for profile, model in sorted(spec.models.items()):
            looks = [str(p) for p in SECOND_LOOK.get(profile, ()) if p.is_file()]
            people = PEOPLE.get(profile)
            beside = f", people: {json.dumps(str(people))}" if people is not None and people.is_file() else ""
            lines.append(f"  {profile}: {{model: {json.dumps(str(model))}, classifiers: {json.dumps(looks)}{beside}}}")
    return parse_config("\n".join(lines) + "\n", file="<bench>")


def vigil_counters(sup) -> dict:
    """Counters summed over cameras (Supervisor internals for what status() does not report)."""
    status = sup.status()
    cams = list(sup._cameras.values())  # the bench reads analyzer stats; no public accessor exists
    stats = [c.analyzer.stats for c in cams]
    return {"packets": sum(s.packets for s in status.values()), "decoded": sum(s.decoded for s in status.values()),
            "to_vision": sum(s.emitted for s in status.values()), "dropped": sum(s.dropped for s in status.values()),
            "analysed": sum(s["frames"] for s in stats), "detected": sum(s["detected"] for s in stats),
            "batches": sum(b.batches for b in sup._batchers.values()),
            "modes": sorted({c.pipeline.decoder.mode for c in cams}),
            "states": sorted({s.state for s in status.values()})}


def run_vigil(spec: ChildSpec) -> dict:
    from streams.supervisor import Supervisor

    sink = _CountingSink()
    sup = Supervisor(vigil_config(spec), sink, detectors=load_detectors(spec))
    sup.start()
    try:
        time.sleep(spec.warmup)
        c0 = vigil_counters(sup)
        win = window(spec.seconds)
        c1 = vigil_counters(sup)
    finally:
        sup.stop()
    delta = {k: c1[k] - c0[k] for k in c0 if isinstance(c0[k], int)}
    return {**win, **delta, "media_s": delta["packets"] / SOURCE_FPS, "events": sink.events,
            "decode_modes": c1["modes"], "states": c1["states"]}


# -- naive ---------------------------------------------------------------------------------------------------------
class _NaiveCounters:
    def __init__(self):
        self.frames = self.detections = 0


def naive_camera(path: str, det, stop: threading.Event, n: _NaiveCounters) -> None:
    """What a plain PyAV + ONNX user writes: decode every frame, convert, resize, detect, paced like a camera."""
    import av
    import cv2

    while not stop.is_set():
        with av.open(path) as container:
            start = time.monotonic()
            for frame in container.decode(video=0):
                wait = start + float(frame.time or 0.0) - time.monotonic()
                if (wait > 0 and stop.wait(wait)) or stop.is_set():
                    return
                image = cv2.resize(frame.to_ndarray(format="bgr24"), SIZE, interpolation=cv2.INTER_LINEAR)
                n.detections += len(det.detect([image])[0])
                n.frames += 1


def run_naive(spec: ChildSpec) -> dict:
    dets = load_detectors(spec)
    stop = threading.Event()
    counters = [_NaiveCounters() for _ in spec.cameras]
    threads = [threading.Thread(target=naive_camera, args=(path, dets[profile], stop, n), name=f"naive-cam{i}",
                                daemon=True) for i, ((profile, path), n) in enumerate(zip(spec.cameras, counters))]
    for t in threads:
        t.start()
    try:
        time.sleep(spec.warmup)
        f0 = sum(n.frames for n in counters)
        win = window(spec.seconds)
        frames = sum(n.frames for n in counters) - f0
    finally:
        stop.set()
        for t in threads:
            t.join(10)
    return {**win, "packets": frames, "decoded": frames, "to_vision": frames, "dropped": 0, "analysed": frames,
            "detected": frames, "batches": frames, "media_s": frames / SOURCE_FPS}


def child_main(arg: str) -> int:
    spec = ChildSpec(**json.loads(arg))
    spec = ChildSpec(**{**spec.__dict__, "cameras": tuple(tuple(c) for c in spec.cameras)})
    result = run_vigil(spec) if spec.mode == "vigil" else run_naive(spec)
    print("RESULT " + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(child_main(sys.argv[1]))
