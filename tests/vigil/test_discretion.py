"""The discretion model against its factors, table-style; the legal defaults and their config edits."""
from __future__ import annotations

import pytest
from pydantic import ValidationError

from vigil.catalogue import RULES
from vigil.config import VigilConfig
from vigil.discretion import Cooperation, Facts, suggest
from vigil.legal import EnforcementConfig, Measure

ENF = EnforcementConfig()
OC, SW, OFF = Measure.ORDER_CORRECT, Measure.STOP_WORK, Measure.VEHICLE_OFF_ROAD
COOP, OBST = Cooperation.COOPERATIVE, Cooperation.OBSTRUCTIVE


def facts(rule, prior=0, minutes=5.0, rectified=False, coop=Cooperation.NORMAL, refused=False):
    return Facts(rule=rule, severity=RULES[rule].severity, prior_cases=prior, duration_s=minutes * 60,
                 rectified_in_time=rectified, cooperation=coop, refused=refused)


# (facts, fine in yuan or None, exempt, measures, the factors the reasoning names in order)
CASES = [
    # dust, Art. 115 (10,000-100,000): base 0.2, first -0.1, severity 2 +0.1 -> 0.2 -> 28,000
    (facts("dust"), 28_000, False, (OC,), ["base", "first_violation", "duration", "severity", "fine"]),
    # a short first dust violation corrected in time: on the 首违不罚 list -> no fine, still ordered to correct
    (facts("dust", rectified=True), None, True, (OC,),
     ["base", "first_violation", "duration", "severity", "rectified", "exempt"]),
    # corrected in time but 20 minutes long: not exempt; 0.2 -0.1 +0.1 -0.2 = 0.0 -> the minimum
    (facts("dust", minutes=20, rectified=True), 10_000, False, (OC,),
     ["base", "first_violation", "duration", "severity", "rectified", "fine"]),
    # two earlier cases, 45 minutes, obstructive, refused: clamps at the maximum, and work stops
    (facts("dust", prior=2, minutes=45, coop=OBST, refused=True), 100_000, False, (OC, SW),
     ["base", "repeat", "long_duration", "severity", "cooperation", "refused", "fine"]),
    # uncovered truck, Art. 116 (2,000-20,000), severity 1: 0.2 +0.25 (one repeat) -0.1 (cooperative) = 0.35
    (facts("uncovered_truck", prior=1, minutes=3, coop=COOP), 8_300, False, (OC,),
     ["base", "repeat", "duration", "cooperation", "fine"]),
    # a first truck that refuses: 0.2 -0.1 +0.3 = 0.4 -> 9,200 and the vehicle may not use the road; never exempt
    (facts("uncovered_truck", minutes=1, refused=True), 9_200, False, (OC, OFF),
     ["base", "first_violation", "duration", "refused", "fine"]),
    # dumping, Art. 117, severity 3, not on the exempt list: 0.2 -0.1 +0.2 -0.2 = 0.1 -> 19,000
    (facts("dumping", minutes=2, rectified=True), 19_000, False, (OC,),
     ["base", "first_violation", "duration", "severity", "rectified", "fine"]),
    # open burning: no verified article -> nothing computed, to be set by the agency
    (facts("open_burning"), None, False, (), ["provision"]),
    (facts("lab_no_coat"), None, False, (), ["provision"]),
]


@pytest.mark.parametrize("f, fine, exempt, measures, steps", CASES)
def test_suggestion_follows_the_factors(f, fine, exempt, measures, steps):
    s = suggest(ENF.rule(f.rule), ENF.factors(f.rule), f)
    assert (s.fine_yuan, s.exempt, s.measures) == (fine, exempt, measures)
    assert [st.factor for st in s.steps] == steps
    assert all(st.zh and st.en for st in s.steps)  # every step explained in both languages
    assert all(0.0 <= st.position <= 1.0 for st in s.steps)
    if fine is not None:
        assert f"{fine:,}" in s.steps[-1].zh and f"{fine:,}" in s.steps[-1].en
    if not s.provision_set:
        assert "待执法机关设定" in s.steps[0].zh and "to be set by the agency" in s.steps[0].en


@pytest.mark.parametrize("rule, penalty, fine_range, on_refusal", [
    ("dust", "第一百一十五条", (10_000, 100_000), [SW]),
    ("uncovered_truck", "第一百一十六条", (2_000, 20_000), [OFF]),
    ("dumping", "第一百一十七条", (10_000, 100_000), [SW]),
    ("open_burning", None, None, None),
    ("lab_fire", None, None, None),
])
def test_defaults_cite_the_air_law_articles_the_issue_names(rule, penalty, fine_range, on_refusal):
    p = ENF.rule(rule).primary
    if penalty is None:
        assert p is None
        return
    assert (p.penalty_article, (p.fine_min_yuan, p.fine_max_yuan), p.on_refusal) == (penalty, fine_range, on_refusal)
    assert p.measures == [OC] and "大气污染防治法" in p.law_zh


def test_dust_also_falls_under_art_117():
    assert [p.penalty_article for p in ENF.rule("dust").provisions] == ["第一百一十五条", "第一百一十七条"]


def test_agency_sets_a_provision_and_keeps_the_other_defaults():
    cfg = VigilConfig.model_validate({"enforcement": {"rules": {"open_burning": {"provisions": [{
        "obligation_article": "第X条", "penalty_article": "第Y条", "fine_min_yuan": 500, "fine_max_yuan": 2000,
        "measures": ["order_correct"]}]}}}})
    enf = cfg.enforcement
    s = suggest(enf.rule("open_burning"), enf.factors("open_burning"), facts("open_burning"))
    assert s.provision_set and 500 <= s.fine_yuan <= 2000
    assert enf.rule("dust").primary.penalty_article == "第一百一十五条"


def test_a_rule_may_carry_its_own_factors():
    cfg = VigilConfig.model_validate({"enforcement": {"rules": {"uncovered_truck": {
        "provisions": [ENF.rule("uncovered_truck").primary.model_dump()],
        "discretion": {"base_position": 0.5, "first_violation": {"position": 0.0}}}}}})
    s = suggest(cfg.enforcement.rule("uncovered_truck"), cfg.enforcement.factors("uncovered_truck"),
                facts("uncovered_truck"))
    assert s.fine_yuan == 11_000  # 2,000 + 0.5 x 18,000


@pytest.mark.parametrize("enforcement, message", [
    ({"rules": {"no_such_rule": {}}}, "unknown rule 'no_such_rule' under enforcement.rules"),
    ({"rules": {"dust": {"provisions": [{"penalty_article": "x", "fine_min_yuan": 9, "fine_max_yuan": 1}]}}},
     "fine_min_yuan <= fine_max_yuan"),
    ({"rules": {"dust": {"provisions": [{"penalty_article": "x", "fine_min_yuan": 9}]}}}, "set together"),
    ({"discretion": {"base_position": 1.5}}, "less than or equal to 1"),
    ({"discretion": {"surprise": 1}}, "Extra inputs are not permitted"),
])
def test_bad_enforcement_config_is_refused_with_a_clear_message(enforcement, message):
    with pytest.raises(ValidationError, match=message):
        VigilConfig.model_validate({"enforcement": enforcement})
