"""Alerts at volume: repeats grouped (one rule, one camera, close in time), the review order, bulk decisions."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Iterable, Sequence

from sqlalchemy import and_, or_, select

from api.ops import grading
from vigil.catalogue import RULES
from vigil.db.models import Alert
from vigil.errors import InputError, NotFoundError

GROUP_WINDOW_S = 600.0  # a repeat that starts within this many seconds of the previous one's end joins its group
BULK_ACTIONS = ("confirm", "reject", "reopen")
MAX_BULK = 500


@dataclass(frozen=True)
class AlertGroup:
    """Repeats of one rule on one camera, each starting within the window of the previous one's end."""

    camera_id: str
    rule: str
    alerts: tuple[Alert, ...]  # newest first

    @property
    def lead(self) -> Alert:
        return self.alerts[0]

    @property
    def ids(self) -> list[str]:
        return [a.id for a in self.alerts]


def group_alerts(alerts: Iterable[Alert], window_s: float = GROUP_WINDOW_S) -> list[AlertGroup]:
    """Chain each (camera, rule)'s alerts in time; groups come out newest first (by their newest alert)."""
    window = timedelta(seconds=window_s)
    chains: dict[tuple[str, str], list[list[Alert]]] = {}
    for a in sorted(alerts, key=lambda a: (a.camera_id, a.rule, a.started_at)):
        runs = chains.setdefault((a.camera_id, a.rule), [])
        if runs and a.started_at - max(x.ended_at for x in runs[-1]) <= window:
            runs[-1].append(a)
        else:
            runs.append([a])
    groups = [AlertGroup(cam, rule, tuple(sorted(run, key=lambda a: a.started_at, reverse=True)))
              for (cam, rule), runs in chains.items() for run in runs]
    return sorted(groups, key=lambda g: g.lead.started_at, reverse=True)


def group_of(session, alert_id: str, window_s: float = GROUP_WINDOW_S) -> AlertGroup:
    """The group the alert belongs to (its own camera and rule, within a day either side)."""
    alert = session.get(Alert, alert_id)
    if alert is None:
        raise NotFoundError(f"alert {alert_id} does not exist")
    day = timedelta(days=1)
    near = session.scalars(select(Alert).where(Alert.camera_id == alert.camera_id, Alert.rule == alert.rule,
                                               Alert.started_at >= alert.started_at - day,
                                               Alert.started_at <= alert.started_at + day)).all()
    return next(g for g in group_alerts(near, window_s) if alert_id in g.ids)


def severity_clause(config, min_severity: int):
    """A WHERE clause: alerts whose rule weighs at least `min_severity` on their camera (config edits included)."""
    parts = []
    for camera_id in config.cameras:
        rules = [r for r in RULES if grading.severity(config, camera_id, r) >= min_severity]
        if rules:
            parts.append(and_(Alert.camera_id == camera_id, Alert.rule.in_(rules)))
    gone = [r for r in RULES if grading.severity(config, "", r) >= min_severity]  # cameras no longer configured
    parts.append(and_(Alert.camera_id.not_in(list(config.cameras)), Alert.rule.in_(gone)))
    return or_(*parts)


def review_order(services, alerts: Sequence[Alert]) -> list[Alert]:
    """Urgent sites' alerts first (grading.urgent_grades: red by default), then the most severe rule, then the
    worst-graded site (red before blue), then the oldest."""
    config = services.loaded.config
    grades = grading.all_grades(services)
    rank = {g.site_id: g.rank for g in grades}
    urgent = {g.site_id for g in grades if g.grade in config.grading.urgent_grades}
    return sorted(alerts, key=lambda a: (a.site_id not in urgent, -grading.severity(config, a.camera_id, a.rule),
                                         -rank.get(a.site_id, 0), a.started_at, a.id))


@dataclass(frozen=True)
class BulkResult:
    action: str
    done: tuple[str, ...]
    skipped: tuple[tuple[str, str], ...]  # (alert id, why)
    lead_ids: tuple[int, ...]


def bulk_decide(services, action: str, alert_ids: Sequence[str], user: str, note: str = "") -> BulkResult:
    """Confirm, reject or reopen many alerts, each audited on its own like a single decision. An alert already in
    the wanted state is skipped (so an undo reopens only what the action changed)."""
    from api.ops import labels, review

    if action not in BULK_ACTIONS:
        raise InputError(f"action: expected one of {', '.join(BULK_ACTIONS)}, found {action!r}")
    ids = list(dict.fromkeys(alert_ids))
    if not ids or len(ids) > MAX_BULK:
        raise InputError(f"ids: expected 1 to {MAX_BULK} alert ids, found {len(ids)}")
    with services.sessions() as s:
        states = dict(s.execute(select(Alert.id, Alert.state).where(Alert.id.in_(ids))).all())
    wanted = {"confirm": "confirmed", "reject": "rejected", "reopen": "new"}[action]
    done, skipped, leads = [], [], set()
    for alert_id in ids:
        if alert_id not in states:
            skipped.append((alert_id, "not found"))
        elif states[alert_id] == wanted:
            skipped.append((alert_id, f"already {wanted}"))
        elif action == "reopen":
            review.reopen(services, alert_id, user)
            done.append(alert_id)
        elif action == "confirm":
            leads.add(review.confirm(services, alert_id, user, note=note).id)
            labels.save_review_labels(services, alert_id, user, None, confirmed=True)
            done.append(alert_id)
        else:
            review.reject(services, alert_id, user, note=note)
            labels.save_review_labels(services, alert_id, user, None, confirmed=False)
            done.append(alert_id)
    return BulkResult(action, tuple(done), tuple(skipped), tuple(sorted(leads)))
