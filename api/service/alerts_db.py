"""Alert rows behind the recorder's AlertSink port: every write goes through the durable outbox, then the bus.

`OutboxAlertSink.insert/update` only queue (the outbox commits to local disk and returns): the evidence upload goes
to the `store` lane, the row write and its notification to the `db` lane. The lanes' handlers below do the work,
idempotently, so a job re-run after a crash changes nothing twice.
"""
from __future__ import annotations

import json
import logging
from typing import Callable

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from streams.recorder import AlertRef, AlertWrite
from vigil.db.models import Alert, AlertDetection, EvidenceItem
from vigil.db.session import session_scope
from vigil.evidence import store_revision
from vigil.errors import KeyEscapeError, ObjectExistsError
from vigil.outbox import Job, Lane, Outbox, OutboxFullError
from vigil.store.base import sha256_hex
from vigil.types import EvidenceManifest, Violation, iso_utc, parse_utc, utcnow

log = logging.getLogger(__name__)
DB, STORE = "db", "store"


def alert_payload(alert: Alert) -> dict:
    """What the live bus and notifications carry about an alert (JSON-ready), checked against the one schema the
    API documents for it (`AlertEvent`, also what marking a missed violation answers)."""
    from api.routes.alert_schemas import AlertEvent

    return AlertEvent.model_validate({
            "id": alert.id, "event_id": alert.event_id, "rule": alert.rule, "camera_id": alert.camera_id,
            "site_id": alert.site_id, "track_id": alert.track_id, "started_at": iso_utc(alert.started_at),
            "ended_at": iso_utc(alert.ended_at), "best_at": iso_utc(alert.best_at),
            "best_score": round(float(alert.best_score), 4), "ongoing": alert.ongoing, "state": alert.state,
            "model_name": alert.model_name, "model_version": alert.model_version,
            "evidence_revision": alert.evidence_revision, "manifest_sha256": alert.manifest_sha256,
            "acknowledged_by": alert.acknowledged_by,
            "acknowledged_at": iso_utc(alert.acknowledged_at) if alert.acknowledged_at else None}).model_dump()


def _apply_manifest(s: Session, alert: Alert, manifest: EvidenceManifest, key: str, body_sha: str) -> None:
    if manifest.revision <= (alert.evidence_revision or 0):
        return  # a re-run job, or an older revision: the row already records a newer one
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
                 manifest: EvidenceManifest | None, key: str = "", body: bytes = b"") -> dict:
    """The alert row, its best-frame detections and its evidence items, in one transaction (idempotent)."""
    with session_scope(sessions) as s:
        alert = s.get(Alert, alert_id)
        if alert is None:
            alert = Alert(id=alert_id, event_id=v.event_id, rule=v.rule, camera_id=v.camera_id, site_id=site_id,
                          track_id=v.track_id, started_at=v.started_at, ended_at=v.ended_at, best_at=v.best_at,
                          best_score=float(v.best_score), ongoing=v.phase != "closed", state="new",
                          model_name=v.model_name, model_version=v.model_version, thresholds=dict(v.thresholds))
            s.add(alert)
        if manifest is not None:
            _apply_manifest(s, alert, manifest, key, sha256_hex(body))
        s.flush()
        return alert_payload(alert)


def update_alert(sessions: sessionmaker[Session], alert_id: str, v: Violation,
                 evidence: tuple[EvidenceManifest, str, bytes] | None, *, new_best: bool | None = None) -> dict:
    """Extend an alert: end time, ongoing flag, and (with a new revision) best frame and evidence."""
    with session_scope(sessions) as s:
        alert = s.get(Alert, alert_id)
        if alert is None:
            raise LookupError(f"alert {alert_id} (event {v.event_id}) is not in the database")
        alert.ended_at = max(alert.ended_at, v.ended_at)
        alert.ongoing = alert.ongoing and v.phase != "closed"
        new_best = v.best_image is not None if new_best is None else new_best
        if new_best and v.best_score >= alert.best_score:
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


def close_left_ongoing(sessions: sessionmaker[Session]) -> list[str]:
    """Alerts a stopped or crashed process left `ongoing`: closed with what their row and evidence hold."""
    with session_scope(sessions) as s:
        ids = list(s.scalars(select(Alert.id).where(Alert.ongoing.is_(True))))
        if ids:
            s.execute(update(Alert).where(Alert.id.in_(ids)).values(ongoing=False, updated_at=utcnow()))
    return ids


# -- the port ----------------------------------------------------------------------------------------------------
def violation_json(v: Violation) -> dict:
    return {"event_id": v.event_id, "rule": v.rule, "camera_id": v.camera_id, "phase": v.phase,
            "track_id": v.track_id, "start_s": v.start_s, "end_s": v.end_s, "started_at": iso_utc(v.started_at),
            "ended_at": iso_utc(v.ended_at), "best_s": v.best_s, "best_at": iso_utc(v.best_at),
            "best_score": float(v.best_score), "new_best": v.best_image is not None,
            "thresholds": dict(v.thresholds), "model_name": v.model_name, "model_version": v.model_version}


def violation_from_json(d: dict) -> Violation:
    return Violation(event_id=d["event_id"], rule=d["rule"], camera_id=d["camera_id"], phase=d["phase"],
                     track_id=d["track_id"], start_s=d["start_s"], end_s=d["end_s"],
                     started_at=parse_utc(d["started_at"]), ended_at=parse_utc(d["ended_at"]), best_s=d["best_s"],
                     best_at=parse_utc(d["best_at"]), best_score=d["best_score"],
                     best_image=None, detections=(),
                     thresholds=d["thresholds"], model_name=d["model_name"], model_version=d["model_version"])


def db_transient(e: Exception) -> bool:
    """The database down, restarting or busy: wait it out. Anything else (bad data, a bug) may be parked."""
    from sqlalchemy.exc import InterfaceError, OperationalError, TimeoutError as PoolTimeout

    return isinstance(e, (OperationalError, InterfaceError, PoolTimeout, ConnectionError, TimeoutError))


def store_transient(e: Exception) -> bool:
    """A store down or a disk full: wait it out; a key refused or taken by other bytes will not get better."""
    return not isinstance(e, (ObjectExistsError, KeyEscapeError, KeyError, ValueError))


class OutboxAlertSink:
    """The server's AlertSink: queue durably, write when the peers answer, then publish and notify."""

    def __init__(self, sessions: sessionmaker[Session], store, outbox: Outbox, *,
                 publish: Callable[[str, dict], None] | None = None,
                 notify: Callable[[dict], object] | None = None):
        self.sessions, self.store, self.outbox = sessions, store, outbox
        self.publish = publish
        self.notify = notify  # called by the db lane after the row exists; raises if it could not record it
        self.evidence_refused = 0

    def handlers(self) -> dict[str, Lane]:
        return {DB: Lane({"alert.insert": self._insert, "alert.update": self._update, "alert.notify": self._notify,
                          "alerts.close_left_ongoing": self._close_left}, db_transient),
                STORE: Lane({"evidence.put": self._put}, store_transient)}

    # -- AlertSink ---------------------------------------------------------------------------------------------
    def find(self, event_id: str) -> AlertRef | None:
        with self.sessions() as s:
            row = s.execute(select(Alert.id, Alert.evidence_revision).where(Alert.event_id == event_id)).first()
        return None if row is None else AlertRef(row[0], row[1])

    def insert(self, write: AlertWrite) -> None:
        self._queue("alert.insert", write)
        self.outbox.put(DB, "alert.notify", {"alert_id": write.alert_id})

    def update(self, write: AlertWrite) -> None:
        self._queue("alert.update", write)

    def recover(self) -> None:
        """At start-up, behind whatever a crash left queued: close the alerts left `ongoing`."""
        self.outbox.put(DB, "alerts.close_left_ongoing", {"at": iso_utc(utcnow())})

    def _queue(self, kind: str, write: AlertWrite) -> None:
        payload = {"alert_id": write.alert_id, "site_id": write.site_id, "violation": violation_json(write.violation),
                   "closed_by": write.closed_by}
        rev = write.evidence
        if rev is not None:
            try:
                self.outbox.put(STORE, "evidence.put", {"alert_id": write.alert_id, "revision": rev.manifest.revision,
                                                        "objects": [[k, ct] for k, _, ct in rev.objects]},
                                {str(i): data for i, (_, data, _) in enumerate(rev.objects)})
            except OutboxFullError as e:  # the row still goes in; the evidence of this revision cannot wait
                self.evidence_refused += 1
                log.error("alert %s: evidence revision %d dropped: %s", write.alert_id, rev.manifest.revision, e)
                rev = None
        if rev is not None:
            payload["evidence"] = {"key": rev.key, "body": rev.body.decode()}
        self.outbox.put(DB, kind, payload)

    # -- lane handlers -----------------------------------------------------------------------------------------
    @staticmethod
    def _evidence(job: Job):
        ev = job.payload.get("evidence")
        if ev is None:
            return None
        body = ev["body"].encode()
        return EvidenceManifest.from_dict(json.loads(body)), ev["key"], body

    def _insert(self, job: Job) -> None:
        p = job.payload
        manifest, key, body = self._evidence(job) or (None, "", b"")
        row = insert_alert(self.sessions, p["alert_id"], violation_from_json(p["violation"]), p["site_id"],
                           manifest, key, body)
        if self.publish is not None:
            self.publish("alert.new", row)

    def _update(self, job: Job) -> None:
        p = job.payload
        row = update_alert(self.sessions, p["alert_id"], violation_from_json(p["violation"]), self._evidence(job),
                           new_best=p["violation"]["new_best"])
        if self.publish is not None:
            self.publish("alert.updated", row)

    def _notify(self, job: Job) -> None:
        if self.notify is None:
            return
        with self.sessions() as s:
            alert = s.get(Alert, job.payload["alert_id"])
            if alert is None:
                raise LookupError(f"alert {job.payload['alert_id']} is not in the database yet")
            row = alert_payload(alert)
        self.notify(row)

    def _close_left(self, job: Job) -> None:
        ids = close_left_ongoing(self.sessions)
        if ids:
            log.warning("closed %d alert(s) left ongoing by an earlier run: %s", len(ids), ", ".join(ids[:10]))

    def _put(self, job: Job) -> None:
        store_revision(self.store, [(key, job.blobs[str(i)], ct) for i, (key, ct) in enumerate(job.payload["objects"])])
