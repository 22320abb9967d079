"""Redaction of secrets (URL passwords, keys) from anything that may reach a log or an error."""
from __future__ import annotations

import logging
import re
from urllib.parse import urlsplit, urlunsplit

# the password runs to the LAST '@' of the URL (FFmpeg and browsers take the last one, so 'p@ss' is a valid
# password), and may hold '/', '?' or '#' when the URL was written without percent-encoding: redact it all
_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^:/@\s'\"<>]*):(?P<pw>[^\s'\"<>]*)@")
_SECRET_QUERY = re.compile(r"(?i)((?:password|passwd|pwd|secret|token|key|signature)=)[^&\s]+")


def redact_url(url: str) -> str:
    """`rtsp://admin:hunter2@cam/x` -> `rtsp://admin:***@cam/x`; query secrets likewise. A password holding
    '@', '/', '?' or '#' is redacted whole (up to the URL's last '@'), not cut where a URL parser would cut it."""
    text = _USERINFO.sub(lambda m: f"{m.group('scheme')}{m.group('user')}:***@", url)
    try:
        parts = urlsplit(text)
    except ValueError:
        return redact_text(text)
    netloc = parts.netloc
    if "@" in netloc:  # a user name without a password: keep it, drop anything odd after a ':'
        userinfo, host = netloc.rsplit("@", 1)
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:***@{host}" if ":" in userinfo else f"{user}@{host}"
    query = _SECRET_QUERY.sub(r"\1***", parts.query)
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def redact_text(text: str, secrets: tuple[str, ...] = ()) -> str:
    """Redact any listed secret strings, URL passwords and secret-looking query values in free text.
    The listed secrets go first: a pattern cutting one in half would leave the rest unrecognisable."""
    out = text
    for secret in sorted((s for s in secrets if s and len(s) >= 3), key=len, reverse=True):
        out = out.replace(secret, "***")
    out = _USERINFO.sub(lambda m: f"{m.group('scheme')}{m.group('user')}:***@", out)
    return _SECRET_QUERY.sub(r"\1***", out)


class RedactingFilter(logging.Filter):
    """Rewrites each log record it sees with `redact_text`: URL passwords, secret query values (`?token=`) and the
    listed secrets (config values substituted from the environment) never reach a log, whoever logged them
    (httpx logs every request's full URL at INFO, urllib3 its path and query at DEBUG)."""

    def __init__(self, secrets: tuple[str, ...] = ()):
        super().__init__()
        self.secrets = tuple(secrets)

    def _clean(self, value: object) -> object:
        if value is None or isinstance(value, (bool, int, float)):
            return value
        text = value if isinstance(value, str) else str(value)  # an httpx.URL prints its password
        redacted = redact_text(text, self.secrets)
        return redacted if redacted != text else value

    def filter(self, record: logging.LogRecord) -> bool:
        # argument by argument first: formatters such as uvicorn's access log unpack record.args themselves
        if isinstance(record.args, tuple):
            record.args = tuple(self._clean(a) for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: self._clean(v) for k, v in record.args.items()}
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed record is logging's own business, not a reason to drop it
            return True
        redacted = redact_text(message, self.secrets)
        if redacted != message:  # a secret in the format itself, or split between it and its arguments
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_text(record.exc_text, self.secrets)
        return True


LOGGERS_WITH_HANDLERS = ("", "uvicorn", "uvicorn.access")  # the root logger, and uvicorn's (they do not propagate)


def install_log_redaction(secrets: tuple[str, ...] = (),
                          loggers: tuple[str, ...] = LOGGERS_WITH_HANDLERS) -> RedactingFilter:
    """One `RedactingFilter` on the root logger, installed where it works for every library: on the root
    logger's handlers (a logger's own filters see only records logged on that very logger, while a handler's
    see every record that propagates to it), and on uvicorn's handlers, which do not propagate. Called again, it
    updates the one filter's secrets instead of adding another."""
    current = next((f for name in loggers for h in logging.getLogger(name or None).handlers for f in h.filters
                    if isinstance(f, RedactingFilter)), None)
    filt = current or RedactingFilter()
    filt.secrets = tuple(sorted(set(filt.secrets) | set(secrets)))
    for name in loggers:
        for handler in logging.getLogger(name or None).handlers:
            if filt not in handler.filters:
                handler.addFilter(filt)
    return filt
