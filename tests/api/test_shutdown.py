"""SIGTERM and SIGINT stop a running service cleanly: cameras stopped, no traceback, no half-written evidence."""
from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.servers import free_port
from tests.streams.conftest import make_clip

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_service_stops_cleanly_on_signal(tmp_path, sig):
    clip = make_clip(tmp_path / "cam.mp4", seconds=4)
    cfg = tmp_path / "vigil.yaml"
    cfg.write_text(f"data_dir: {tmp_path}/data\nsites: {{w: {{name: W}}}}\n"
                   f"cameras:\n  a: {{site: w, source: {clip}}}\n  b: {{site: w, source: {clip}}}\n")
    port = free_port()
    proc = subprocess.Popen([str(Path(sys.executable).parent / "vigil"), "serve", "-c", str(cfg), "--port", str(port)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={"PATH": "/usr/bin:/bin", "VIGIL_ADMIN_PASSWORD": "x-admin-pass"})
    try:
        deadline = time.monotonic() + 60
        admin = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=2)  # /healthz details need a sign-in
        while time.monotonic() < deadline:
            try:
                if admin.get("/healthz").json().get("runtime"):
                    break
                if "vigil_session" not in admin.cookies:
                    admin.post("/api/auth/login", json={"username": "admin", "password": "x-admin-pass"})
            except httpx.TransportError:
                time.sleep(0.3)
        admin.close()
        time.sleep(4)  # cameras connect, decode and buffer
        started = time.monotonic()
        proc.send_signal(sig)
        out, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    # uvicorn finishes the shutdown, then re-raises the signal so the exit status tells what stopped it
    assert proc.returncode in (0, -sig), out[-3000:]
    assert time.monotonic() - started < 30
    assert "Traceback" not in out, out[-3000:]
    assert "Application shutdown complete" in out
    leftovers = [p for p in (tmp_path / "data").rglob("*") if p.name.startswith(".tmp-") or p.suffix == ".part"]
    assert leftovers == []
