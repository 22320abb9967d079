"""A lead's discretion: the facts from its alerts and the officer, the suggestion per rule, the officer's decision.

The suggestion is only advice; the officer's decision (measures, fine, reason) is what is recorded and audited,
next to the suggestion it was made against.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from api.auth.roles import ADMIN, OFFICER
from api.ops.grading import severity
from api.ops.leads import user_id_of
from api.ops.workflow import DECIDE_ELIGIBLE_STATES, LeadState, WorkflowError
from vigil import audit
from vigil.db.models import Alert, Lead
from vigil.db.session import session_scope
from vigil.discretion import Cooperation, Facts, Suggestion, suggest
from vigil.errors import AuthError, InputError, NotFoundError
from vigil.legal import Measure
from vigil.types import iso_utc, utcnow


@dataclass(frozen=True)
class OfficerFindings:
    """What only the officer can say: corrected in time, cooperation, refusal."""

    rectified_in_time: bool = False
    cooperation: Cooperation = Cooperation.NORMAL
    refused: bool = False

    @classmethod
    def from_dict(cls, d: dict | None) -> "OfficerFindings":
        d = d or {}
        return cls(bool(d.get("rectified_in_time", False)), Cooperation(d.get("cooperation", "normal")),
                   bool(d.get("refused", False)))


def _prior_cases(s, lead: Lead, rule: str, window_days: int) -> int:
    since = utcnow() - timedelta(days=window_days)
    q = (select(Lead.id).join(Alert, Alert.lead_id == Lead.id)
         .where(Lead.site_id == lead.site_id, Lead.status == LeadState.CASE_FILED.value, Lead.id != lead.id,
                Lead.closed_at >= since, Alert.rule == rule).distinct())
    return len(list(s.scalars(q)))


def lead_facts(services, lead_id: int, findings: OfficerFindings) -> dict[str, Facts]:
    """Facts per rule on the lead: severity, earlier filed cases, total duration, and the officer's findings."""
    cfg = services.loaded.config
    out: dict[str, Facts] = {}
    with services.sessions() as s:
        lead = s.get(Lead, lead_id)
        if lead is None:
            raise NotFoundError(f"lead {lead_id} does not exist")
        by_rule: dict[str, list[Alert]] = {}
        for a in lead.alerts:
            by_rule.setdefault(a.rule, []).append(a)
        for rule, alerts in sorted(by_rule.items()):
            window = cfg.enforcement.factors(rule).repeat_window_days
            duration = sum((a.ended_at - a.started_at).total_seconds() for a in alerts)
            out[rule] = Facts(rule=rule, severity=severity(cfg, alerts[0].camera_id, rule),
                              prior_cases=_prior_cases(s, lead, rule, window), duration_s=duration,
                              rectified_in_time=findings.rectified_in_time, cooperation=findings.cooperation,
                              refused=findings.refused)
    return out


def suggestions(services, lead_id: int, findings: OfficerFindings | None = None) -> dict[str, Suggestion]:
    """The discretion model's suggestion per rule; the officer's recorded findings unless others are given."""
    if findings is None:
        recorded = decision_of(services, lead_id).get("findings")
        findings = OfficerFindings.from_dict(recorded) if recorded else _from_notices(services, lead_id)
    enf = services.loaded.config.enforcement
    return {rule: suggest(enf.rule(rule), enf.factors(rule), f)
            for rule, f in lead_facts(services, lead_id, findings).items()}


def _from_notices(services, lead_id: int) -> OfficerFindings:
    """Before the officer says otherwise: the firm corrected in time when it replied to a notice by its deadline."""
    from vigil.db.models import RectificationNotice

    with services.sessions() as s:
        notices = list(s.scalars(select(RectificationNotice).where(RectificationNotice.lead_id == lead_id)))
        in_time = any(n.replied_at is not None and n.replied_at <= n.deadline for n in notices)
    return OfficerFindings(rectified_in_time=in_time)


def suggestion_dict(sg: Suggestion) -> dict:
    return {"rule": sg.rule, "provision_set": sg.provision_set, "exempt": sg.exempt,
            "measures": [m.value for m in sg.measures], "measures_zh": sg.measures_text("zh"),
            "measures_en": sg.measures_text("en"), "fine_yuan": sg.fine_yuan, "position": round(sg.position, 4),
            "steps": [asdict(st) for st in sg.steps]}


def decision_of(services, lead_id: int) -> dict:
    with services.sessions() as s:
        lead = s.get(Lead, lead_id)
        if lead is None:
            raise NotFoundError(f"lead {lead_id} does not exist")
        return dict(lead.decision or {})


@dataclass(frozen=True)
class RuleDecision:
    rule: str
    measures: tuple[Measure, ...]
    fine_yuan: int | None
    reason: str


def decide(services, lead_id: int, actor: str, role: str, findings: OfficerFindings,
           decisions: list[RuleDecision]) -> dict:
    """Record the officer's findings and decision per rule, next to the suggestion; returns the lead's decision."""
    if role not in (OFFICER, ADMIN):
        raise AuthError(f"role {role!r} may not decide a lead's measures; an officer decides")
    current = suggestions(services, lead_id, findings)
    record: dict[str, Any] = {"findings": {"rectified_in_time": findings.rectified_in_time,
                                           "cooperation": findings.cooperation.value, "refused": findings.refused},
                              "by": actor, "at": iso_utc(utcnow()), "rules": {}}
    for d in decisions:
        if d.rule not in current:
            raise InputError(f"decision for rule {d.rule!r}: the lead has no alert of that rule "
                             f"(rules: {', '.join(current) or 'none'})")
        if not d.reason.strip():
            raise InputError(f"decision for rule {d.rule!r} needs a reason, found none")
        sg = current[d.rule]
        record["rules"][d.rule] = {"measures": [m.value for m in d.measures], "fine_yuan": d.fine_yuan,
                                   "reason": d.reason, "suggestion": suggestion_dict(sg),
                                   "follows_suggestion": (tuple(d.measures) == sg.measures
                                                          and d.fine_yuan == sg.fine_yuan)}
    with session_scope(services.sessions) as s:
        lead = s.get(Lead, lead_id)
        if lead is None:
            raise NotFoundError(f"lead {lead_id} does not exist")
        if LeadState(lead.status) not in DECIDE_ELIGIBLE_STATES:
            raise WorkflowError(f"a decision is recorded in onsite_verification or review; lead {lead_id} is in "
                                f"{lead.status}")
        record["by_id"] = user_id_of(s, actor)
        lead.decision, lead.updated_at = record, utcnow()
    audit.record(services.sessions, actor, "lead.decision", "lead", str(lead_id),
                 {"findings": record["findings"], "rules": {r: {k: v for k, v in d.items() if k != "suggestion"}
                                                            | {"suggested_fine_yuan": d["suggestion"]["fine_yuan"]}
                                                            for r, d in record["rules"].items()}})
    return record
