"""Lead history texts the server writes, as a code and parameters, so a page shows them in its reader's language.

The stored text stays English (the API's `text`, the audit trail); known patterns are recognised when read, which
also covers rows written before the codes existed. A user's own note or reason has no code: it is shown as typed.
"""
from __future__ import annotations

import re

# (kind, pattern, code): the groups become the parameters by name
_PATTERNS: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("note", re.compile(r"rectification notice #(?P<notice>\d+) sent, deadline (?P<deadline>\S+)"), "notice_sent"),
    ("note", re.compile(r"enterprise replied to notice #(?P<notice>\d+) \(after the deadline\): (?P<note>.*)", re.S),
     "notice_replied_late"),
    ("note", re.compile(r"enterprise replied to notice #(?P<notice>\d+): (?P<note>.*)", re.S), "notice_replied"),
    ("note", re.compile(r"rectification notice #(?P<notice>\d+) overdue since (?P<deadline>\S+): escalated to the "
                        r"officer"), "notice_overdue"),
    ("status", re.compile(r"lead opened"), "opened"),
    ("alert", re.compile(r"(?P<rule>[a-z0-9_]+) on (?P<camera>.+)", re.S), "alert"),
)


def event_code(kind: str, text: str) -> tuple[str | None, dict[str, str]]:
    """(code, parameters) of a server-written history text; (None, {}) for free text (a user's note or reason)."""
    for k, pattern, code in _PATTERNS:
        if k == kind:
            m = pattern.fullmatch(text or "")
            if m:
                return code, {name: value for name, value in m.groupdict().items() if value is not None}
    return None, {}
