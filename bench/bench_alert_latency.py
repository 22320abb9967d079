"""Alert latency: rule confirmed -> alert row (on the bus, after the commit), and event start -> alert row.

One looped file camera, a clock-scripted fire detector (an event every 5 s; the bench is about the path after the
rule, not the model), the real recorder, outbox, SQLite database and local evidence folder, `post_roll_s` 3 s (the
old path waited for it before the row existed). Prints p50/p95 over the events of one run:
`python -m bench.bench_alert_latency [--seconds 60]`.
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, max(0, round(q * (len(values) - 1))))]


def run(seconds: float) -> dict:
    from api.service.events import EventBus
    from api.service.runtime import start_runtime
    from streams.recorder import RecorderConfig
    from tests.faults.conftest import open_services, write_config
    from tests.faults.rig import ClockFire, cameras_yaml
    from tests.streams.conftest import make_clip
    from vigil.types import parse_utc

    tmp = Path(tempfile.mkdtemp(prefix="vigil-latency-"))
    clip = make_clip(tmp / "cam.mp4", seconds=6, fps=10, gop=10)
    cfg, env = write_config(tmp, cameras_yaml({"gate": clip}).replace("post_roll_s: 1", "post_roll_s: 3"))
    services = open_services(cfg, env)
    bus = EventBus()
    sub = bus.subscribe(1000)
    runtime = start_runtime(services, detectors={"site": ClockFire(5.0, 2.0)}, events=bus, watch_models=False,
                            recorder_config=RecorderConfig(revision_interval_s=5))
    confirm_to_row, start_to_row = [], []
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            ev = sub.get(timeout=0.5)
            if ev is None or ev[0] != "alert.new":
                continue
            now_mono, now_utc = time.monotonic(), datetime.now(timezone.utc)
            confirmed = runtime.supervisor.recorder.confirmed_mono.get(ev[1]["event_id"])
            if confirmed is not None:
                confirm_to_row.append(now_mono - confirmed)
            start_to_row.append((now_utc - parse_utc(ev[1]["started_at"])).total_seconds())
    finally:
        runtime.stop()
        services.close()
    return {"events": len(confirm_to_row),
            "confirm_p50_ms": 1000 * statistics.median(confirm_to_row),
            "confirm_p95_ms": 1000 * _pct(confirm_to_row, .95),
            "start_p50_s": statistics.median(start_to_row), "start_p95_s": _pct(start_to_row, .95)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0)
    r = run(ap.parse_args(argv).seconds)
    print(f"| events | rule confirmed -> alert row p50 / p95 | event start -> alert row p50 / p95 |\n"
          f"| --- | --- | --- |\n"
          f"| {r['events']} | {r['confirm_p50_ms']:.0f} ms / {r['confirm_p95_ms']:.0f} ms | "
          f"{r['start_p50_s']:.2f} s / {r['start_p95_s']:.2f} s |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
