"""How the loop closes, measured from Vigil's own records: disposal rate and time to close of leads, and field
precision (confirmed / reviewed, from the reviewers' decisions), per site, per rule and overall."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass
from statistics import median

from sqlalchemy import select

from vigil.db.models import Alert, Lead


@dataclass(frozen=True)
class Stats:
    leads: int
    closed: int  # case_filed + dismissed
    filed: int
    dismissed: int
    disposal_rate: float | None  # closed / leads
    median_close_hours: float | None
    reviewed: int  # alerts confirmed or rejected
    confirmed: int
    precision: float | None  # confirmed / reviewed
    field_confirmed: int  # confirmed alerts whose lead was not dismissed after the on-site check
    field_precision: float | None  # field_confirmed / reviewed

    def as_dict(self) -> dict:
        return asdict(self)


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 4) if b else None


def _stats(leads: list[Lead], alerts: list[Alert]) -> Stats:
    closed = [x for x in leads if x.status in ("case_filed", "dismissed") and x.closed_at]
    hours = [(x.closed_at - x.created_at).total_seconds() / 3600 for x in closed if x.closed_at is not None]
    reviewed = [a for a in alerts if a.state in ("confirmed", "rejected")]
    confirmed = [a for a in reviewed if a.state == "confirmed"]
    field = [a for a in confirmed if a.lead_outcome != "dismissed"]
    return Stats(len(leads), len(closed), sum(x.status == "case_filed" for x in closed),
                 sum(x.status == "dismissed" for x in closed), _ratio(len(closed), len(leads)),
                 round(median(hours), 2) if hours else None, len(reviewed), len(confirmed),
                 _ratio(len(confirmed), len(reviewed)), len(field), _ratio(len(field), len(reviewed)))


def enforcement_stats(services, site_id: str | None = None) -> dict:
    """{"overall": Stats, "by_rule": {rule: Stats}, "by_site": {site: Stats}} as dicts (a lead counts for every rule
    among its alerts)."""
    with services.sessions() as s:
        lq, aq = select(Lead), select(Alert)
        if site_id is not None:
            lq, aq = lq.where(Lead.site_id == site_id), aq.where(Alert.site_id == site_id)
        leads = list(s.scalars(lq))
        alerts = list(s.scalars(aq))
        lead_rules = {x.id: {a.rule for a in x.alerts} for x in leads}
        by_rule_alerts, by_site_alerts = defaultdict(list), defaultdict(list)
        for a in alerts:
            by_rule_alerts[a.rule].append(a)
            by_site_alerts[a.site_id].append(a)
        by_rule_leads, by_site_leads = defaultdict(list), defaultdict(list)
        for x in leads:
            by_site_leads[x.site_id].append(x)
            for r in lead_rules[x.id]:
                by_rule_leads[r].append(x)
        rules = sorted(set(by_rule_alerts) | set(by_rule_leads))
        sites = sorted(set(by_site_alerts) | set(by_site_leads))
        return {"overall": _stats(leads, alerts).as_dict(),
                "by_rule": {r: _stats(by_rule_leads[r], by_rule_alerts[r]).as_dict() for r in rules},
                "by_site": {x: _stats(by_site_leads[x], by_site_alerts[x]).as_dict() for x in sites}}
