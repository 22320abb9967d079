"""Server CPU per live-video viewer: 0, 1 and 16 viewers of the fMP4 WebSocket, the server in its own process.

Run: .venv/bin/python -m bench.bench_live_video [--cameras 16] [--size 640x360] [--seconds 20]
The server (uvicorn + the camera runtime, no detector) runs N looping 25 fps file cameras in a child process; the
viewers are WebSocket clients in this process, so their CPU is not counted. Server CPU is the child's utime + stime
(/proc) over the window, after a warm-up. Prints a table; timings are never pass/fail (see docs/BENCHMARKS.md).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path


def serve(folder: str, cameras: int, size: str) -> None:
    """The child: serve the cameras, print the URL and an operator's token, run until stdin closes."""
    from sqlalchemy import select

    from api.auth.users import create_token
    from tests.web.live_video_rig import serve_cameras
    from vigil.db.models import User

    server, services, _ = serve_cameras(Path(folder), cameras, detector=False, size=size)
    with services.sessions() as s:
        uid = s.scalars(select(User.id).where(User.username == "olga")).one()
    print("READY", server.url, create_token(services.sessions, uid, "bench"), flush=True)
    sys.stdin.read()
    server.stop()
    services.close()


def cpu_s(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Viewer:
    """A WebSocket viewer on a thread: counts what it receives."""

    url: str
    token: str
    bytes: int = 0
    fragments: int = 0
    stop: bool = False

    def run(self) -> None:
        from websockets.sync.client import connect

        with connect(self.url, additional_headers={"Authorization": f"Bearer {self.token}"},
                     max_size=None) as ws:
            while not self.stop:
                try:
                    m = ws.recv(timeout=0.5)
                except TimeoutError:
                    continue
                if isinstance(m, bytes):
                    self.bytes += len(m)
                    self.fragments += m.count(b"moof")


def measure(pid: int, base: str, token: str, cameras: list[str], warm_s: float, seconds: float) -> dict:
    viewers = [Viewer(f"{base.replace('http://', 'ws://')}/api/cameras/{c}/video", token) for c in cameras]
    threads = [threading.Thread(target=v.run, daemon=True) for v in viewers]
    for t in threads:
        t.start()
    time.sleep(warm_s)
    c0, t0 = cpu_s(pid), time.monotonic()
    b0, f0 = sum(v.bytes for v in viewers), [v.fragments for v in viewers]
    time.sleep(seconds)
    c1, t1 = cpu_s(pid), time.monotonic()
    b1, f1 = sum(v.bytes for v in viewers), [v.fragments for v in viewers]
    for v in viewers:
        v.stop = True
    for t in threads:
        t.join(5)
    wall = t1 - t0
    fps = [(b - a) / wall for a, b in zip(f0, f1)]
    return {"cores": (c1 - c0) / wall, "mbit": (b1 - b0) * 8 / wall / 1e6,
            "fps": (min(fps), max(fps)) if fps else (0.0, 0.0), "load": os.getloadavg()[0]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cameras", type=int, default=16)
    ap.add_argument("--size", default="640x360")
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--warm", type=float, default=4.0)
    ap.add_argument("--serve", nargs=3, metavar=("DIR", "CAMERAS", "SIZE"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.serve:
        serve(args.serve[0], int(args.serve[1]), args.serve[2])
        return 0
    cams = [f"cam{i:02d}" for i in range(1, args.cameras + 1)]
    with tempfile.TemporaryDirectory(prefix="vigil-bench-live-") as tmp:
        child = subprocess.Popen([sys.executable, "-m", "bench.bench_live_video", "--serve", tmp, str(args.cameras),
                                  args.size], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            line = child.stdout.readline().split()
            if not line or line[0] != "READY":
                raise SystemExit(f"the bench server did not start (said {line!r})")
            base, token = line[1], line[2]
            time.sleep(args.warm + 2)  # cameras go live, rings fill
            plan = [("no viewer", []), ("1 viewer", cams[:1]), (f"{len(cams)} viewers, one camera each", cams),
                    (f"{len(cams)} viewers of one camera", cams[:1] * len(cams))]
            rows = [(name, len(v), measure(child.pid, base, token, v, args.warm, args.seconds)) for name, v in plan]
        finally:
            child.stdin.close()
            child.wait(60)
    idle = rows[0][2]["cores"]
    print(f"{args.cameras} cameras, {args.size}, 25 fps, GOP 1 s; {args.seconds:.0f} s windows; server CPU in cores")
    print("| viewers | server CPU (cores) | added by viewers | per viewer | fragments/s per viewer (min-max) "
          "| Mbit/s out | load avg (1 min) |")
    print("|---|---|---|---|---|---|---|")
    for name, n, r in rows:
        added = r["cores"] - idle
        per = f"{added / n:.4f}" if n else "-"
        print(f"| {name} | {r['cores']:.3f} | {added:+.3f} | {per} | {r['fps'][0]:.1f}-{r['fps'][1]:.1f} "
              f"| {r['mbit']:.1f} | {r['load']:.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
