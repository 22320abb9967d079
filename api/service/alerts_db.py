"""Alert rows for the evidence sink: insert after evidence exists, extend on later revisions."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from vigil.db.models import Alert, AlertDetection, EvidenceItem
from vigil.db.session import session_scope
from vigil.store.base import sha256_hex
from vigil.types import EvidenceManifest, Violation, iso_utc


def alert_payload(alert: Alert) -> dict:
    """What the live bus and notifications carry about an alert (JSON-ready)."""
    return {"id": alert.id, "event_id": alert.event_id, "rule": alert.rule, "camera_id": alert.camera_id,
            "site_id": alert.site_id, "track_id": alert.track_id, "started_at": iso_utc(alert.started_at),
            "ended_at": iso_utc(alert.ended_at), "best_at": iso_utc(alert.best_at),
            "best_score": round(float(alert.best_score), 4), "ongoing": alert.ongoing, "state": alert.state,
            "model_name": alert.model_name, "model_version": alert.model_version,
            "evidence_revision": alert.evidence_revision, "manifest_sha256": alert.manifest_sha256}


def _apply_manifest(s: Session, alert: Alert, manifest: EvidenceManifest, key: str, body_sha: str) -> None:
    alert.manifest_key, alert.manifest_sha256 = key, body_sha
    alert.evidence_revision = manifest.revision
    known = {e.key for e in alert.evidence}
    for f in manifest.files:
        if f.key not in known:
            alert.evidence.append(EvidenceItem(name=f.name, key=f.key, sha256=f.sha256, size=f.size,
                                               content_type=f.content_type, revision=manifest.revision))
    alert.detections.clear()
    for b in manifest.detections:
        x1, y1, x2, y2 = b.xyxy
        alert.detections.append(AlertDetection(class_name=b.class_name, confidence=b.confidence, x1=x1, y1=y1,
                                               x2=x2, y2=y2, track_id=b.track_id))


def insert_alert(sessions: sessionmaker[Session], alert_id: str, v: Violation, site_id: str,
                 manifest: EvidenceManifest, key: str, body: bytes) -> dict:
    """The alert row, its best-frame detections and its evidence items, in one transaction."""
    with session_scope(sessions) as s:
        alert = Alert(id=alert_id, event_id=v.event_id, rule=v.rule, camera_id=v.camera_id, site_id=site_id,
                      track_id=v.track_id, started_at=v.started_at, ended_at=v.ended_at, best_at=v.best_at,
                      best_score=float(v.best_score), ongoing=v.phase != "closed", state="new",
                      model_name=v.model_name, model_version=v.model_version, thresholds=dict(v.thresholds))
        s.add(alert)
        _apply_manifest(s, alert, manifest, key, sha256_hex(body))
        s.flush()
        return alert_payload(alert)


def update_alert(sessions: sessionmaker[Session], alert_id: str, v: Violation,
                 evidence: tuple[EvidenceManifest, str, bytes] | None) -> dict:
    """Extend an alert: end time, ongoing flag, and (with a new revision) best frame and evidence."""
    with session_scope(sessions) as s:
        alert = s.get(Alert, alert_id)
        if alert is None:
            raise LookupError(f"alert {alert_id} (event {v.event_id}) is not in the database")
        alert.ended_at = max(alert.ended_at, v.ended_at)
        alert.ongoing = v.phase != "closed"
        if v.best_image is not None and v.best_score >= alert.best_score:
            alert.best_at, alert.best_score = v.best_at, float(v.best_score)
            if v.model_name:
                alert.model_name, alert.model_version = v.model_name, v.model_version
        if evidence is not None:
            manifest, key, body = evidence
            _apply_manifest(s, alert, manifest, key, sha256_hex(body))
        s.flush()
        return alert_payload(alert)


def find_alert_id(sessions: sessionmaker[Session], event_id: str) -> str | None:
    with sessions() as s:
        return s.scalars(select(Alert.id).where(Alert.event_id == event_id)).first()
