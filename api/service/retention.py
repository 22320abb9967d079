"""Evidence retention: remove what nothing needs, oldest first, by age (config) or when the disk runs low.

Only a rejected alert (a false positive) on no lead, over for longer than the retention, loses its evidence: an
ongoing, unreviewed or confirmed alert, and every alert on a lead (open or closed), keeps it. Object-locked
stores are never touched. The row stays, says revision 0, and an `evidence.purge` audit entry records which
manifest (revision, hash) went, so `vigil evidence verify` can tell a purge from a deletion.
"""
from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select

from vigil import audit
from vigil.db.models import Alert, AuditEntry, EvidenceItem
from vigil.db.session import session_scope
from vigil.evidence import alert_prefix
from vigil.types import utcnow

log = logging.getLogger(__name__)
PURGE_ACTION = "evidence.purge"


@dataclass(frozen=True)
class PurgeReport:
    purged: tuple[str, ...]
    reason: str
    skipped: str = ""  # why nothing could be purged (object lock)


def _free_mb(store) -> int | None:
    root = getattr(store, "root", None)
    try:
        return None if root is None else shutil.disk_usage(root).free >> 20
    except OSError:
        return None


def eligible(sessions, older_than=None, limit: int = 100) -> list[str]:
    """Alert ids whose evidence nothing needs, oldest event first."""
    q = (select(Alert.id).where(Alert.ongoing.is_(False), Alert.state == "rejected", Alert.lead_id.is_(None),
                                Alert.evidence_revision > 0).order_by(Alert.ended_at).limit(limit))
    if older_than is not None:
        q = q.where(Alert.ended_at < older_than)
    with sessions() as s:
        return list(s.scalars(q))


def purge_alert(services, alert_id: str, reason: str) -> None:
    """Record the purge (row + audit), then delete the alert's objects."""
    with session_scope(services.sessions) as s:
        alert = s.get(Alert, alert_id)
        if alert is None:
            return
        old = {"revision": alert.evidence_revision, "manifest_sha256": alert.manifest_sha256, "reason": reason}
        alert.evidence_revision, alert.manifest_key, alert.manifest_sha256 = 0, "", ""
        for item in list(s.scalars(select(EvidenceItem).where(EvidenceItem.alert_id == alert_id))):
            s.delete(item)
    audit.record(services.sessions, "system", PURGE_ACTION, "alert", alert_id, old)
    for key in services.store.list(alert_prefix(alert_id)):
        services.store.delete(key)


def run_retention(services) -> PurgeReport:
    """One pass: by age, then (when the evidence disk is under the watermark) oldest eligible first."""
    rel = services.loaded.config.reliability
    if getattr(services.store, "retention_days", 0):
        return PurgeReport((), "", "the store keeps evidence under object lock; retention leaves it alone")
    purged: list[str] = []
    reason = ""
    if rel.retention_days > 0:
        for aid in eligible(services.sessions, utcnow() - timedelta(days=rel.retention_days), limit=1000):
            purge_alert(services, aid, f"older than {rel.retention_days} days")
            purged.append(aid)
        reason = "age"
    free = _free_mb(services.store)
    if rel.purge_below_watermark and free is not None and free < rel.min_free_mb:
        reason = reason + "+watermark" if reason else "watermark"
        for aid in eligible(services.sessions, limit=1000):
            if (_free_mb(services.store) or 0) >= rel.min_free_mb:
                break
            purge_alert(services, aid, f"evidence disk under {rel.min_free_mb} MB free")
            purged.append(aid)
    if purged:
        log.warning("retention removed the evidence of %d rejected alert(s) (%s)", len(purged), reason)
    return PurgeReport(tuple(purged), reason)


def purge_record(session, alert_id: str) -> AuditEntry | None:
    """The audit entry of an alert's evidence purge, if there was one."""
    return session.scalars(select(AuditEntry).where(AuditEntry.action == PURGE_ACTION,
                                                    AuditEntry.target_id == alert_id)).first()
