"""Acknowledge an alert from the wall: "I've seen it". Records who and when, stops the tile's flash on every wall;
the review state (new / confirmed / rejected) is untouched: review is a separate decision."""
from __future__ import annotations

from api.service.alerts_db import alert_payload
from vigil import audit
from vigil.db.models import Alert
from vigil.db.session import session_scope
from vigil.errors import NotFoundError
from vigil.types import utcnow


def acknowledge(services, alert_id: str, user: str) -> bool:
    """Acknowledge the alert as `user`; True when this call did it, False when it was acknowledged already
    (the first acknowledgement is kept: a second click, or a second operator, is harmless)."""
    with session_scope(services.sessions) as s:
        alert = s.get(Alert, alert_id)
        if alert is None:
            raise NotFoundError(f"alert {alert_id} does not exist")
        if alert.acknowledged_at is not None:
            return False
        alert.acknowledged_by, alert.acknowledged_at = user, utcnow()
        payload = alert_payload(alert)
    audit.record(services.sessions, user, "alert.acknowledge", "alert", alert_id, {"state": payload["state"]})
    bus = services.events
    if bus is not None:  # other walls refresh and stop flashing the tile
        bus.publish("alert.updated", payload)
    return True
