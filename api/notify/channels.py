"""The channel interface and the filter every channel applies (which rules and sites it hears about)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Sequence


class Channel(Protocol):
    """One destination. `send` raises (any exception) when this attempt failed and may be retried."""

    name: str  # webhook:NAME | mqtt
    max_attempts: int

    def wants(self, payload: dict) -> bool: ...

    def send(self, payload: dict, delivery_id: int) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class Selection:
    """Which alerts a channel hears about: listed rules and sites (empty list: all)."""

    rules: tuple[str, ...] = ()
    sites: tuple[str, ...] = ()

    @classmethod
    def of(cls, rules: Sequence[str], sites: Sequence[str]) -> "Selection":
        return cls(tuple(rules), tuple(sites))

    def matches(self, payload: dict) -> bool:
        alert = payload.get("alert", {})
        return ((not self.rules or alert.get("rule") in self.rules)
                and (not self.sites or alert.get("site_id") in self.sites))
