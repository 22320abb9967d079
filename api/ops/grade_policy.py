"""Grades that change what happens: quiet sites' alerts wait for the daily digest, urgent sites' alerts notify at
once with high priority and come first in review (grading.quiet_grades / urgent_grades in the config; the review
order itself is `api.ops.alert_queue.review_order`)."""
from __future__ import annotations

import logging
from datetime import date, datetime

from sqlalchemy import select

from api.ops.grading import GRADES, site_grade
from vigil import audit
from vigil.db.models import NotificationDelivery
from vigil.db.session import session_scope
from vigil.errors import NotFoundError
from vigil.types import utcnow

log = logging.getLogger(__name__)
DIGEST_CHANNEL = "digest"  # a queued alert notification waiting for the daily digest


def priority_of(services, site_id: str) -> tuple[str, str]:
    """(grade, priority): priority high for urgent grades, low for quiet ones, normal otherwise."""
    g = services.loaded.config.grading
    try:
        grade = site_grade(services, site_id).grade
    except NotFoundError:  # a site no longer in the database: no grade (a database outage raises, to be retried)
        grade = "blue"
    return grade, "high" if grade in g.urgent_grades else "low" if grade in g.quiet_grades else "normal"


class GradedNotifier:
    """Stands in front of the Notifier: live notification, or the digest queue, by the site's grade."""

    def __init__(self, services, notifier):
        self.services, self.notifier = services, notifier

    def notify(self, payload: dict) -> str:
        """Route one alert notification; returns "live" or "digest".

        Durable either way (the outbox's notify lane calls this and retries when it raises): live goes through
        `Notifier.record` (a pending delivery row per channel), the digest is a queued row; a re-run for the same
        alert adds no second digest row.
        """
        alert = payload.get("alert", {})
        grade, priority = priority_of(self.services, alert.get("site_id", ""))
        if priority == "low" and alert.get("rule") in self.services.loaded.config.grading.always_live_rules:
            priority = "normal"  # a fire at a quiet site is still notified at once
        payload = {**payload, "site_grade": grade, "priority": priority}
        if priority == "low":
            alert_id = alert.get("id")
            with session_scope(self.services.sessions) as s:
                have = alert_id is not None and s.scalars(
                    select(NotificationDelivery.id).where(NotificationDelivery.alert_id == alert_id,
                                                          NotificationDelivery.channel == DIGEST_CHANNEL)).first()
                if not have:
                    s.add(NotificationDelivery(alert_id=alert_id, channel=DIGEST_CHANNEL, status="queued",
                                               payload=payload))
            return "digest"
        self.notifier.record(payload)
        return "live"


def flush_digest(services, notifier, now: datetime | None = None) -> int:
    """Send every queued low-priority alert as one digest notification; returns how many alerts it held."""
    with session_scope(services.sessions) as s:
        rows = list(s.scalars(select(NotificationDelivery).where(NotificationDelivery.channel == DIGEST_CHANNEL,
                                                                 NotificationDelivery.status == "queued")
                              .order_by(NotificationDelivery.id)))
        if not rows:
            return 0
        items = [r.payload for r in rows]
        for r in rows:
            r.status, r.attempts = "sent", r.attempts + 1
    alerts = [i.get("alert", {}) for i in items]
    notifier.notify({"event": "alert.digest", "priority": "low", "at": (now or utcnow()).isoformat(),
                     "count": len(items), "alerts": alerts})
    audit.record(services.sessions, "system", "notify.digest", "digest", (now or utcnow()).date().isoformat(),
                 {"count": len(items), "alerts": [a.get("id") for a in alerts]})
    return len(items)


class DigestClock:
    """Decides when the daily digest is due: once a day, at or after grading.digest_hour_utc."""

    def __init__(self, hour_utc: int):
        self.hour = hour_utc
        self.last_day: date | None = None

    def due(self, now: datetime) -> bool:
        if now.hour < self.hour or self.last_day == now.date():
            return False
        self.last_day = now.date()
        return True


assert GRADES == ("blue", "yellow", "orange", "red")
