"""Violation rules over tracked detections: presence, absence and new-object (dumping), built from the catalogue."""
from __future__ import annotations

from typing import Mapping, Sequence

from vigil.catalogue import RuleSpec
from vision.rules.absence import AbsenceRule
from vision.rules.base import Moment, Rule, to_boxes
from vision.rules.new_object import NewObjectRule
from vision.rules.presence import PresenceRule
from vision.zones import Zone

KINDS = {"presence": PresenceRule, "absence": AbsenceRule, "new_object": NewObjectRule}


def build_rule(spec: RuleSpec, zones: Mapping[str, Zone]) -> Rule:
    """The rule object for one effective RuleSpec (its `kind` picks the class)."""
    try:
        cls = KINDS[spec.kind]
    except KeyError:
        raise ValueError(f"rule {spec.name!r}: expected kind one of {', '.join(KINDS)}, found {spec.kind!r}") from None
    missing = [z for z in spec.zones if z not in zones]
    if missing:
        raise ValueError(f"rule {spec.name!r} names zone(s) {', '.join(missing)}, not defined on this camera")
    return cls(spec, zones)


def build_rules(specs: Sequence[RuleSpec], zones: Mapping[str, Zone]) -> list[Rule]:
    return [build_rule(s, zones) for s in specs if s.enabled]


__all__ = ["AbsenceRule", "Moment", "NewObjectRule", "PresenceRule", "Rule", "build_rule", "build_rules", "to_boxes"]
