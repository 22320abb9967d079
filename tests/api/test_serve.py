"""The service process starts from a config, answers /healthz and serves the public key."""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.servers import free_port

ROOT = Path(__file__).resolve().parents[2]


def _write_config(tmp_path: Path) -> Path:
    cfg = tmp_path / "vigil.yaml"
    cfg.write_text(f"""
data_dir: {tmp_path}/data
sites:
  works: {{name: Works, kind: site, address: 1 Main St}}
cameras:
  gate: {{site: works, source: "rtsp://u:${{GATE_PW}}@127.0.0.1:9/x"}}
""")
    return cfg


def test_serve_answers_health_and_public_key(tmp_path):
    cfg = _write_config(tmp_path)
    port = free_port()
    env = {"PATH": "/usr/bin:/bin", "GATE_PW": "pw-not-to-leak", "VIGIL_ADMIN_PASSWORD": "admin-pass-123"}
    proc = subprocess.Popen([str(Path(sys.executable).parent / "vigil"), "serve", "-c", str(cfg), "--port", str(port),
                             "--no-cameras"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stdout.read()
                assert time.monotonic() < deadline, "service did not answer within 60 s"
                time.sleep(0.3)
        assert r.status_code == 200 and r.json()["status"] == "ok"
        key = httpx.get(f"http://127.0.0.1:{port}/api/public-key", timeout=5)
        assert key.text.startswith("-----BEGIN PUBLIC KEY-----")
        assert (tmp_path / "data" / "keys" / "evidence-ed25519.pem").exists()
        assert (tmp_path / "data" / "vigil.db").exists()
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=20)
    assert "pw-not-to-leak" not in out
    assert f"http://127.0.0.1:{port}/" in out
