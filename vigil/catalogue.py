"""The violation catalogue: detector classes, rules, their defaults, severities and legal basis.

This module is the only place a detector class name is spelled out. Everything else refers to
`DetClass` members or reads the catalogue (which the config may override per deployment).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from types import MappingProxyType
from typing import Literal, Mapping


class DetClass(str, Enum):
    """Unified detector classes; the value is the class name, the order is the class id."""

    FIRE = "fire"
    SMOKE = "smoke"
    DUST = "dust"
    DEBRIS_PILE = "debris_pile"
    DUMP_TRUCK = "dump_truck"
    DUMP_TRUCK_UNCOVERED = "dump_truck_uncovered"
    PERSON = "person"
    LAB_COAT = "lab_coat"
    GOGGLES = "goggles"
    GLOVES = "gloves"
    EATING_DRINKING = "eating_drinking"
    SMOKING = "smoking"

    @property
    def class_id(self) -> int:
        return UNIFIED_CLASSES.index(self.value)


# Unified ids, identical to ../shared/datasets/data.yaml.
UNIFIED_CLASSES: tuple[str, ...] = tuple(c.value for c in DetClass)

# Classes that are states of one object: a truck is covered or uncovered, never both. Where the detector boxes
# one object as both, only the more confident state is kept (see vision.analyzer.one_state_per_object).
EXCLUSIVE_STATES: tuple[tuple[str, ...], ...] = (
    (DetClass.DUMP_TRUCK.value, DetClass.DUMP_TRUCK_UNCOVERED.value),
)

Profile = Literal["site", "lab"]
RuleKind = Literal["presence", "absence", "new_object"]

# Which classes each camera profile's detector is trained on (model class order = this order).
PROFILE_CLASSES: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "site": (DetClass.FIRE.value, DetClass.SMOKE.value, DetClass.DUST.value, DetClass.DEBRIS_PILE.value,
             DetClass.DUMP_TRUCK.value, DetClass.DUMP_TRUCK_UNCOVERED.value, DetClass.PERSON.value),
    "lab": (DetClass.FIRE.value, DetClass.SMOKE.value, DetClass.PERSON.value, DetClass.LAB_COAT.value,
            DetClass.GOGGLES.value, DetClass.GLOVES.value, DetClass.EATING_DRINKING.value,
            DetClass.SMOKING.value),
})


@dataclass(frozen=True)
class RuleSpec:
    """One violation type: what it watches, how it triggers by default, how much it weighs."""

    name: str
    title: str
    profile: Profile
    kind: RuleKind
    classes: tuple[str, ...]  # presence/new_object: trigger classes; absence: the required item
    subject: str | None = None  # absence: the class that must carry the item (a person)
    min_score: float = 0.4
    # the median score of the run's detector frames must reach this before an event opens (Frigate's `threshold`):
    # a weak blip that crosses min_score now and then does not become an event; None: min_score alone decides
    confirm_score: float | None = None
    min_s: float = 3.0
    k: int = 3  # seen in k ...
    n: int = 5  # ... of the last n detector frames
    cooldown_s: float = 60.0
    grace_s: float = 10.0
    severity: int = 1  # site-grading weight
    legal_basis: str = ""
    extra: Mapping[str, float | str] = field(default_factory=dict)
    zones: tuple[str, ...] = ()  # camera zones the rule is limited to (empty: whole frame)
    enabled: bool = True


def _rule(**kw) -> RuleSpec:
    return RuleSpec(**kw)


RULES: Mapping[str, RuleSpec] = MappingProxyType({r.name: r for r in (
    _rule(name="open_burning", title="Open burning", profile="site", kind="presence",
          classes=(DetClass.FIRE.value, DetClass.SMOKE.value), min_s=3.0, severity=3,
          legal_basis="Open burning of waste or vegetation is prohibited (Air Pollution Prevention and "
                      "Control Law, Art. 77; local open-burning ordinances)."),
    _rule(name="dust", title="Dust plume", profile="site", kind="presence",
          classes=(DetClass.DUST.value,), min_s=5.0, severity=2,
          legal_basis="Construction sites must suppress fugitive dust (Air Pollution Prevention and "
                      "Control Law, Art. 69; site dust-control regulations)."),
    _rule(name="dumping", title="Illegal dumping", profile="site", kind="new_object",
          classes=(DetClass.DEBRIS_PILE.value, DetClass.DUMP_TRUCK.value), min_s=30.0, severity=3,
          grace_s=30.0, extra={"truck_stop_s": 10.0, "baseline_s": 20.0, "reported_memory_s": 600.0,
                               "pile_hidden_s": 10.0},
          legal_basis="Dumping construction waste or solid waste outside approved sites is prohibited "
                      "(Solid Waste Pollution Prevention and Control Law, Art. 20 and 63)."),
    _rule(name="uncovered_truck", title="Uncovered truck load", profile="site", kind="presence",
          classes=(DetClass.DUMP_TRUCK_UNCOVERED.value,), min_s=3.0, severity=1,
          legal_basis="Vehicles carrying bulk material must be covered or sealed (Air Pollution "
                      "Prevention and Control Law, Art. 70)."),
    _rule(name="lab_no_coat", title="No lab coat", profile="lab", kind="absence",
          classes=(DetClass.LAB_COAT.value,), subject=DetClass.PERSON.value, min_s=5.0, severity=1,
          extra={"item_memory_s": 10.0, "min_person_px": 64.0, "judge_still": False},
          legal_basis="Laboratory personal protective equipment rules (Hazardous Chemicals Safety "
                      "Regulations, Art. 20; institutional lab-safety code): lab coat required."),
    _rule(name="lab_no_goggles", title="No safety goggles", profile="lab", kind="absence",
          classes=(DetClass.GOGGLES.value,), subject=DetClass.PERSON.value, min_s=5.0, severity=1,
          extra={"item_memory_s": 10.0, "bare_max_p": 0.15, "min_person_px": 64.0, "judge_still": False},
          legal_basis="Laboratory personal protective equipment rules: eye protection required when "
                      "handling hazardous chemicals."),
    _rule(name="lab_no_gloves", title="No gloves", profile="lab", kind="absence",
          classes=(DetClass.GLOVES.value,), subject=DetClass.PERSON.value, min_s=5.0, severity=1,
          extra={"item_memory_s": 10.0, "bare_max_p": 0.15, "min_person_px": 64.0, "judge_still": False},
          legal_basis="Laboratory personal protective equipment rules: chemical-resistant gloves "
                      "required when handling hazardous chemicals."),
    _rule(name="lab_eating_smoking", title="Eating, drinking or smoking in lab", profile="lab",
          kind="presence", classes=(DetClass.EATING_DRINKING.value, DetClass.SMOKING.value), min_s=2.0,
          severity=2, extra={"judge_still": False},
          legal_basis="Eating, drinking and smoking are prohibited in laboratories where hazardous "
                      "chemicals are used (institutional lab-safety code; fire-safety regulations)."),
    _rule(name="lab_fire", title="Fire in laboratory", profile="lab", kind="presence",
          classes=(DetClass.FIRE.value, DetClass.SMOKE.value), min_s=1.0, k=2, n=3, confirm_score=0.5,
          severity=3, extra={"min_flicker": 3.0},
          legal_basis="Fire in a hazardous-chemicals laboratory: Fire Protection Law, Art. 44 (report "
                      "and respond immediately); Hazardous Chemicals Safety Regulations."),
)})


def rules_for_profile(profile: str) -> tuple[RuleSpec, ...]:
    return tuple(r for r in RULES.values() if r.profile == profile)


def class_id(name: str) -> int:
    """Unified class id of a class name; raises KeyError for an unknown one."""
    try:
        return UNIFIED_CLASSES.index(name)
    except ValueError:
        raise KeyError(f"unknown detector class {name!r}; expected one of {', '.join(UNIFIED_CLASSES)}") from None
