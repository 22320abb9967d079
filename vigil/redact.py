"""Redaction of secrets (URL passwords, keys) from anything that may reach a log or an error."""
from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^:/@\s]*):(?P<pw>[^@/\s]*)@")
_SECRET_QUERY = re.compile(r"(?i)((?:password|passwd|pwd|secret|token|key|signature)=)[^&\s]+")


def redact_url(url: str) -> str:
    """`rtsp://admin:hunter2@cam/x` -> `rtsp://admin:***@cam/x`; query secrets likewise."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return redact_text(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:***@{host}" if ":" in userinfo else f"{user}@{host}"
    query = _SECRET_QUERY.sub(r"\1***", parts.query)
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def redact_text(text: str, secrets: tuple[str, ...] = ()) -> str:
    """Redact URL passwords, secret-looking query values and any listed secret strings in free text."""
    out = _USERINFO.sub(lambda m: f"{m.group('scheme')}{m.group('user')}:***@", text)
    out = _SECRET_QUERY.sub(r"\1***", out)
    for secret in secrets:
        if secret and len(secret) >= 3:
            out = out.replace(secret, "***")
    return out
