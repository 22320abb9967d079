"""Test helpers for the service suite: alert rows for ops tests, a recording HTTP server for webhooks."""
from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.servers import free_port
from vigil.db.models import Alert
from vigil.db.session import session_scope


def add_alert(services, *, camera: str, rule: str, site: str, at: datetime | None = None,
              state: str = "new") -> str:
    """An alert row without evidence (for notification/grading tests that do not read evidence)."""
    at = at or datetime.now(timezone.utc)
    aid = str(uuid.uuid4())
    with session_scope(services.sessions) as s:
        s.add(Alert(id=aid, event_id=uuid.uuid4().hex, rule=rule, camera_id=camera, site_id=site, started_at=at,
                    ended_at=at + timedelta(seconds=10), best_at=at, best_score=0.9, ongoing=False, state=state))
    return aid


@dataclass
class Hook:
    """A real HTTP server on 127.0.0.1 answering each path with a scripted list of status codes."""

    port: int
    script: dict[str, list[int]]
    received: list[tuple[str, dict, bytes]] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


def start_hook(script: dict[str, list[int]]) -> Hook:
    hook = Hook(free_port(), {k: list(v) for k, v in script.items()})
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with lock:
                hook.received.append((self.path, dict(self.headers), body))
                codes = hook.script.get(self.path, [404])
                code = codes.pop(0) if len(codes) > 1 else codes[0]
            self.send_response(code)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    hook.server = ThreadingHTTPServer(("127.0.0.1", hook.port), Handler)
    threading.Thread(target=hook.server.serve_forever, daemon=True).start()
    return hook
