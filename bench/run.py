"""The bench harness (`make bench`): the pipeline bench, the live-camera bench against ultralytics' loop, and with
`--all` the decode and detector benches too.

Run: .venv/bin/python -m bench.run [--all] [--quick] [--no-live] [--write-docs]
Each bench prints its own table; timings are never pass/fail. See docs/BENCHMARKS.md.
"""
from __future__ import annotations

import argparse
import sys
import time


def _run_decode() -> None:
    from bench import bench_decode

    argv, sys.argv = sys.argv, [sys.argv[0]]  # bench_decode parses sys.argv itself
    try:
        bench_decode.main()
    finally:
        sys.argv = argv


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--all", action="store_true", help="also run bench_decode and bench_detect")
    ap.add_argument("--quick", action="store_true", help="smaller runs (a smoke run)")
    ap.add_argument("--no-live", action="store_true", help="skip the live RTSP cameras bench (bench_live)")
    ap.add_argument("--write-docs", action="store_true", help="rewrite the pipeline section of docs/BENCHMARKS.md")
    args = ap.parse_args(argv)
    from bench import bench_pipeline

    t0 = time.monotonic()
    command = ".venv/bin/python -m bench.run " + " ".join(argv if argv is not None else sys.argv[1:])
    print("== pipeline: cameras per box ==", flush=True)
    pipe_args = (["--quick"] if args.quick else []) + (["--write-docs"] if args.write_docs else [])
    rc = bench_pipeline.main(pipe_args, command=command.strip())
    if not args.no_live:
        print("\n== live cameras: vigil serve against ultralytics' loop ==", flush=True)
        from bench import bench_live

        rc = rc or bench_live.main(pipe_args)
    if args.all:
        print("\n== decode ==", flush=True)
        _run_decode()
        print("\n== detector and motion gate ==", flush=True)
        from bench import bench_detect

        rc = rc or bench_detect.main(["--quick"] if args.quick else [])
    print(f"\nbench.run took {time.monotonic() - t0:.0f} s")
    return rc or 0


if __name__ == "__main__":
    sys.exit(main())
