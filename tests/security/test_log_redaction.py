"""Logs never hold a webhook's password or token: httpx logs each request's full URL, urllib3 its path and query,
and one redaction filter on the root logger's handlers rewrites whatever reaches them."""
from __future__ import annotations

import io
import logging
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
import requests

from api.notify.webhook import WebhookChannel
from tests.servers import free_port
from vigil.config import WebhookConfig
from vigil.redact import RedactingFilter, install_log_redaction

ROOT = Path(__file__).resolve().parents[2]
PASSWORD, TOKEN, ENV_SECRET = "hook-pass-8d1f", "tok-secret-77aa", "env-secret-5c2e"


class _Receiver(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 - http.server's name
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.send_response(204)
        self.end_headers()

    do_GET = do_POST  # noqa: N815

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def root_log():
    """What the root logger's handlers write, at DEBUG, with the redaction installed as `vigil` installs it."""
    root, buf = logging.getLogger(), io.StringIO()
    handler = logging.StreamHandler(buf)
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    filt = install_log_redaction((ENV_SECRET,))
    yield buf
    root.setLevel(level)
    root.removeHandler(handler)
    for h in root.handlers:
        h.removeFilter(filt)


@pytest.mark.parametrize("url", [
    "http://alerts:{pw}@{host}/hook",
    "http://{host}/hook?token={tok}",
    "http://{host}/hook?channel=7&access_token={tok}",
    "http://alerts:{pw}@{host}/hook?api_key={tok}",
])
def test_webhook_deliveries_are_logged_without_secrets(root_log, receiver, url):
    url = url.format(pw=PASSWORD, tok=TOKEN, host=receiver)
    channel = WebhookChannel("ops", WebhookConfig(url=url), {})
    try:
        channel.send({"event": "alert.new"}, 1)
    finally:
        channel.close()
    text = root_log.getvalue()
    assert "HTTP Request: POST" in text and receiver in text  # the line is there ...
    assert PASSWORD not in text and TOKEN not in text  # ... without its secrets


def test_urllib3_and_our_own_logs_are_redacted(root_log, receiver):
    requests.get(f"http://{receiver}/x?token={TOKEN}", timeout=5)
    logging.getLogger("vigil.test").info("connecting with %s", ENV_SECRET)
    logging.getLogger("vigil.test").warning("upload to s3://key:%s@store/b failed", PASSWORD)
    try:
        raise RuntimeError(f"POST http://u:{PASSWORD}@h/x failed")
    except RuntimeError:
        logging.getLogger("vigil.test").exception("delivery")
    text = root_log.getvalue()
    assert "/x?token=***" in text and "connecting with ***" in text and "RuntimeError" in text
    assert TOKEN not in text and ENV_SECRET not in text and PASSWORD not in text


def test_installing_twice_keeps_one_filter(root_log):
    install_log_redaction(("another-secret",))
    handler = logging.getLogger().handlers[-1]
    filters = [f for f in handler.filters if isinstance(f, RedactingFilter)]
    assert len(filters) == 1 and {"another-secret", ENV_SECRET} <= set(filters[0].secrets)


def test_the_cli_installs_it(tmp_path, receiver):
    script = ("import logging, sys, httpx\n"
              "from api.cli import main\n"
              "sys.argv = ['vigil', 'config', 'docs']\n"
              "try:\n    main()\nexcept SystemExit:\n    pass\n"
              f"httpx.post('http://alerts:{PASSWORD}@{receiver}/hook?token={TOKEN}')\n")
    r = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert "HTTP Request: POST http://alerts:***@" in r.stderr, r.stderr[-2000:]
    assert PASSWORD not in r.stderr and TOKEN not in r.stderr


def test_the_served_access_log_is_redacted(tmp_path):
    cfg = tmp_path / "vigil.yaml"
    cfg.write_text(f"data_dir: {tmp_path}/data\nsites: {{w: {{name: W}}}}\n"
                   "cameras:\n  gate: {site: w, source: \"rtsp://u:${GATE_PW}@127.0.0.1:9/x\"}\n")
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "-c", str(cfg), "--port", str(port),
                             "--no-cameras"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={"PATH": "/usr/bin:/bin", "GATE_PW": ENV_SECRET, "VIGIL_ADMIN_PASSWORD": "admin-pw-1"})
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz?token={TOKEN}", timeout=2)
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline, "the service did not start"
                time.sleep(0.3)
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
    assert '"GET /healthz?token=*** HTTP/1.1" 200' in out, out[-3000:]
    assert TOKEN not in out and ENV_SECRET not in out and "Logging error" not in out
