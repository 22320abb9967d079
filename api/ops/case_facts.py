"""Everything a lead's documents and report say, gathered once: the party, the facts with evidence hashes and who
confirmed them, the on-site attachments, the legal provisions, the discretion reasoning and the measure decided."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from api.ops.attachments import attachments_of
from api.ops.decisions import decision_of, suggestions
from vigil.db.models import Alert, Lead, LeadEvent, Site, User
from vigil.discretion import Suggestion
from vigil.errors import NotFoundError
from vigil.evidence import manifest_key, manifest_revisions
from vigil.legal import MEASURE_TEXT, Measure, RuleLegal
from vigil.store.base import sha256_hex
from vigil.types import utcnow


@dataclass(frozen=True)
class Party:
    site_id: str
    site_name: str
    operator: str
    address: str
    contact_name: str
    contact_phone: str
    contact_email: str


@dataclass(frozen=True)
class Fact:
    alert_id: str
    rule: str
    camera_id: str
    camera_name: str
    started_at: datetime
    ended_at: datetime
    manifest_sha256: str  # the latest signed manifest's SHA-256 (it lists every file's hash)
    best_frame_sha256: str
    confirmed_by: str
    confirmed_at: datetime | None


@dataclass(frozen=True)
class HistoryEntry:
    at: datetime
    user: str
    kind: str
    old: str | None
    new: str | None
    text: str


@dataclass(frozen=True)
class Measures:
    """The measure per rule: the officer's decision when recorded, else the suggestion (marked as such)."""

    rule: str
    decided: bool
    measures: tuple[Measure, ...]
    fine_yuan: int | None
    reason: str
    by: str


@dataclass(frozen=True)
class CaseFacts:
    lead_id: int
    status: str
    party: Party
    facts: tuple[Fact, ...]
    attachments: tuple[dict, ...]
    legal: dict[str, RuleLegal]
    suggestions: dict[str, Suggestion]
    measures: tuple[Measures, ...]
    history: tuple[HistoryEntry, ...]
    officer: str  # who verified on site (or the assignee)
    agency_zh: str
    agency_en: str
    rectify_days: int
    generated_at: datetime

    def measures_text(self, m: Measures, lang: str) -> str:
        i = 0 if lang == "zh" else 1
        return ("、" if lang == "zh" else ", ").join(MEASURE_TEXT[x][i] for x in m.measures) or "—"


def _fact(services, s, a: Alert, names: dict[int | None, str]) -> Fact:
    cfg = services.loaded.config
    cam = cfg.cameras.get(a.camera_id)
    revs = manifest_revisions(services.store, a.id)
    msha = sha256_hex(services.store.get(manifest_key(a.id, revs[-1]))) if revs else a.manifest_sha256
    best = next((e.sha256 for e in a.evidence if e.name == "best_raw.jpg"), "")
    return Fact(a.id, a.rule, a.camera_id, (cam.name if cam and cam.name else a.camera_id), a.started_at,
                a.ended_at, msha or "", best, names.get(a.reviewer_id, "—"), a.reviewed_at)


def _measures(decision: dict, sgs: dict[str, Suggestion]) -> tuple[Measures, ...]:
    out = []
    for rule, sg in sgs.items():
        d = (decision.get("rules") or {}).get(rule)
        if d:
            out.append(Measures(rule, True, tuple(Measure(m) for m in d["measures"]), d["fine_yuan"], d["reason"],
                                decision.get("by", "")))
        else:
            out.append(Measures(rule, False, sg.measures, sg.fine_yuan, "", ""))
    return tuple(out)


def gather(services, lead_id: int) -> CaseFacts:
    enf = services.loaded.config.enforcement
    sgs = suggestions(services, lead_id)
    decision = decision_of(services, lead_id)
    with services.sessions() as s:
        lead = s.get(Lead, lead_id)
        if lead is None:
            raise NotFoundError(f"lead {lead_id} does not exist")
        names: dict[int | None, str] = {u.id: (u.display_name or u.username) for u in s.scalars(select(User))}
        site = s.get(Site, lead.site_id)
        party = Party(lead.site_id, site.name if site else lead.site_id, site.operator if site else "",
                      site.address if site else "", site.contact_name if site else "",
                      site.contact_phone if site else "", site.contact_email if site else "")
        alerts = sorted(lead.alerts, key=lambda a: a.started_at)
        facts = tuple(_fact(services, s, a, names) for a in alerts)
        history = tuple(HistoryEntry(e.at, names.get(e.user_id, "system"), e.kind, e.old_value, e.new_value, e.text)
                        for e in s.scalars(select(LeadEvent).where(LeadEvent.lead_id == lead_id)
                                           .order_by(LeadEvent.id)))
        officer = names.get(lead.verified_by_id) or names.get(lead.assignee_id) or ""
        status = lead.status
    atts = tuple(attachments_of(services, lead_id))
    officer = officer or next((a["by"] for a in atts if a["kind"] == "onsite"), "")
    return CaseFacts(lead_id, status, party, facts, atts,
                     {r: enf.rule(r) for r in sgs}, sgs, _measures(decision, sgs), history, officer,
                     enf.agency_zh, enf.agency_en, enf.rectify_days, utcnow())


def fmt_t(t: datetime | None, lang: str) -> str:
    if t is None:
        return "—"
    t = t.replace(microsecond=0)
    if lang == "zh":
        local = t + timedelta(hours=8)  # documents for Chinese agencies carry Beijing time, with UTC beside it
        return f"{local:%Y年%m月%d日 %H:%M:%S}（北京时间）"
    return f"{t:%Y-%m-%d %H:%M:%S} UTC"
