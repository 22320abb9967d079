"""The service's own problems as /healthz and /api/system/reliability report them: a code with its parameters (what
the web UI renders in the reader's language), and the English text for API users, both from the message catalogue
(`health.problem.<code>`; `.error` when an `error` parameter is set and the catalogue has that variant)."""
from __future__ import annotations

from dataclasses import dataclass, field

from api.i18n import DEFAULT, catalogue

KEY = "health.problem."
CODES = ("database_unreachable", "disk_low", "outbox_waiting", "outbox_filling", "instance_lock", "camera",
         "recording_dropped")


@dataclass(frozen=True)
class Problem:
    code: str
    params: dict[str, str | int | float] = field(default_factory=dict)
    text: str = ""

    def as_dict(self) -> dict:
        return {"code": self.code, "params": dict(self.params), "text": self.text}


def message_key(code: str, params: dict, messages: dict[str, str]) -> str:
    key = KEY + code
    return key + ".error" if params.get("error") and key + ".error" in messages else key


def problem(code: str, **params: str | int | float) -> Problem:
    """One problem; its English text is the catalogue's message with the parameters filled in."""
    if code not in CODES:
        raise ValueError(f"expected a health problem code ({', '.join(CODES)}), found {code!r}")
    messages = catalogue(DEFAULT)
    return Problem(code, params, messages[message_key(code, params, messages)].format(**params))


def problem_identity(details: dict) -> str:
    """What tells one problem from another (`as_dict()` form): its code and the names it concerns, not its figures
    nor its error text, which change while the problem stays the same."""
    names = sorted((k, v) for k, v in details["params"].items() if isinstance(v, str) and k != "error")
    return details["code"] + "".join(f" {k}={v}" for k, v in names)
