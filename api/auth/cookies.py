"""Signed session cookies (HMAC-SHA256) and the CSRF token bound to each session."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

SESSION_COOKIE = "vigil_session"
CSRF_COOKIE = "vigil_csrf"
CSRF_HEADER = "x-csrf-token"
SESSION_SECONDS = 12 * 3600


def load_secret(configured: str | None, data_dir: Path) -> bytes:
    """The configured secret, else one generated once into data_dir/session-secret (mode 0600)."""
    if configured:
        return configured.encode()
    path = data_dir / "session-secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(48))
    return path.read_text().strip().encode()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def password_tag(password_hash: str) -> str:
    """Changes when the password changes, so old sessions end with it."""
    return hashlib.sha256(password_hash.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class SessionData:
    user_id: int
    expires: float
    nonce: str
    pw_tag: str
    issued_ms: int  # unix milliseconds, rounded down (compared with a user's sessions_valid_after)


class CookieSigner:
    """Makes and reads session cookie values; derives each session's CSRF token."""

    def __init__(self, secret: bytes, max_age: int = SESSION_SECONDS):
        self._key = hashlib.sha256(b"vigil-session:" + secret).digest()
        self.max_age = max_age

    def _mac(self, body: bytes) -> str:
        return _b64(hmac.new(self._key, body, hashlib.sha256).digest())

    def issue(self, user_id: int, pw_tag: str) -> tuple[str, SessionData]:
        now = time.time()
        data = SessionData(user_id, now + self.max_age, secrets.token_urlsafe(12), pw_tag, int(now * 1000))
        body = json.dumps({"u": data.user_id, "e": int(data.expires), "n": data.nonce, "p": data.pw_tag,
                           "i": data.issued_ms}, separators=(",", ":")).encode()
        return f"{_b64(body)}.{self._mac(body)}", data

    def read(self, value: str | None) -> SessionData | None:
        """The session, or None when absent, forged or expired."""
        if not value or value.count(".") != 1:
            return None
        body_b64, mac = value.split(".")
        try:
            body = _unb64(body_b64)
        except ValueError:
            return None
        if not hmac.compare_digest(mac, self._mac(body)):
            return None
        try:
            d = json.loads(body)
            expires = float(d["e"])
            # cookies issued before "i" existed: their issue time is at most expires - max_age
            issued_ms = int(d["i"]) if "i" in d else int((expires - self.max_age) * 1000)
            data = SessionData(int(d["u"]), expires, str(d["n"]), str(d["p"]), issued_ms)
        except (ValueError, KeyError, TypeError):
            return None
        return data if data.expires > time.time() else None

    def csrf_token(self, data: SessionData) -> str:
        return self._mac(b"csrf:" + data.nonce.encode())
