"""Notification deliveries for operators: list them, and send dead ones again (audited)."""
from __future__ import annotations

from sqlalchemy import select, update

from vigil import audit
from vigil.db.models import NotificationDelivery
from vigil.db.session import session_scope
from vigil.errors import InputError
from vigil.types import iso_utc

STATUSES = ("pending", "sent", "dead")


def delivery_dict(d: NotificationDelivery) -> dict:
    return {"id": d.id, "alert_id": d.alert_id, "channel": d.channel, "status": d.status, "attempts": d.attempts,
            "last_error": d.last_error, "event": (d.payload or {}).get("event"), "created_at": iso_utc(d.created_at),
            "updated_at": iso_utc(d.updated_at)}


def list_deliveries(services, status: str | None = None, limit: int = 200) -> list[dict]:
    if status is not None and status not in STATUSES:
        raise InputError(f"expected a delivery status among {', '.join(STATUSES)}, found {status!r}")
    q = select(NotificationDelivery).order_by(NotificationDelivery.id.desc()).limit(limit)
    if status:
        q = q.where(NotificationDelivery.status == status)
    with services.sessions() as s:
        return [delivery_dict(d) for d in s.scalars(q)]


def retry_dead(services, user: str, ids: list[int] | None = None, notifier=None) -> list[int]:
    """Mark dead deliveries (all, or `ids`) pending with a fresh count of attempts; a running notifier sends them
    now, otherwise the server picks them up (it resumes pending deliveries at start and every few seconds)."""
    with session_scope(services.sessions) as s:
        q = select(NotificationDelivery.id).where(NotificationDelivery.status == "dead")
        if ids:
            q = q.where(NotificationDelivery.id.in_(ids))
        chosen = list(s.scalars(q))
        if chosen:
            s.execute(update(NotificationDelivery).where(NotificationDelivery.id.in_(chosen))
                      .values(status="pending", attempts=0, last_error=""))
    if chosen:
        audit.record(services.sessions, user, "notification.retry", "notification", ",".join(map(str, chosen))[:64],
                     {"ids": chosen})
        if notifier is not None:
            notifier.resume(ids=chosen)
    return chosen
