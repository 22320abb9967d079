"""Missed violations: a person marks "violation here" on a live camera; the newest analysed frame and the ring
buffer's pre-roll become signed evidence and an alert that is reviewed like any other. Confirmed with the boxes the
reviewer draws, it becomes a labelled example of what the model missed (a false negative)."""
from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta

from vigil import audit
from vigil.catalogue import rules_for_profile
from vigil.errors import InputError, NotFoundError, VigilError
from vigil.evidence import write_evidence
from vigil.types import ClipRequest, Violation

log = logging.getLogger(__name__)
EVENT_PREFIX = "missed-"  # event ids of marked alerts start with this (the detector raised none)
CLIP_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class MissedMark:
    camera_id: str
    rule: str
    user: str
    note: str = ""


def is_missed(event_id: str) -> bool:
    return event_id.startswith(EVENT_PREFIX)


def _violation(mark: MissedMark, latest, pre_roll_s: float) -> Violation:
    frame = latest.frame
    pre = timedelta(seconds=pre_roll_s)
    return Violation(event_id=EVENT_PREFIX + uuid.uuid4().hex, rule=mark.rule, camera_id=mark.camera_id,
                     phase="closed", track_id=None, start_s=frame.pts_s - pre_roll_s, end_s=frame.pts_s,
                     started_at=frame.captured_at - pre, ended_at=frame.captured_at, best_s=frame.pts_s,
                     best_at=frame.captured_at, best_score=0.0, best_image=frame.image, detections=(),
                     thresholds={"missed": True, "marked_by": mark.user, "note": mark.note})


def _clip(runtime, camera_id: str, v: Violation, pre_roll_s: float) -> bytes | None:
    """The camera's own packets up to the marked frame; None (logged) when the buffer cannot give them."""
    request = ClipRequest(camera_id=camera_id, event_id=v.event_id, start_s=v.end_s, end_s=v.end_s,
                          pre_roll_s=pre_roll_s, post_roll_s=0.0)
    try:
        return runtime.supervisor.cut_clip(request, CLIP_TIMEOUT_S).data
    except VigilError as e:
        log.warning("camera %s missed violation %s: no clip (%s); evidence keeps the frame", camera_id,
                    v.event_id, e)
        return None


def mark_missed(services, runtime, mark: MissedMark) -> dict:
    """Make the alert for a violation the model missed; returns its live-bus payload (the alert row)."""
    from api.service.alerts_db import insert_alert
    from api.service.evidence_files import evidence_meta, file_map, frame_files

    config = services.loaded.config
    if mark.camera_id not in config.cameras:
        raise NotFoundError(f"camera {mark.camera_id!r} does not exist")
    profile = config.camera_profile(mark.camera_id)
    allowed = [r.name for r in rules_for_profile(profile)]
    if mark.rule not in allowed:
        raise InputError(f"rule: expected one of {', '.join(allowed)} (camera profile {profile}), "
                         f"found {mark.rule!r}")
    latest = runtime.latest(mark.camera_id) if runtime is not None else None
    if latest is None:
        raise InputError(f"camera {mark.camera_id!r} has no analysed frame yet; mark the violation once it shows "
                         f"a picture")
    record = config.cameras[mark.camera_id].record
    v = _violation(mark, latest, record.pre_roll_s)
    clip = _clip(runtime, mark.camera_id, v, record.pre_roll_s)
    site_id = config.cameras[mark.camera_id].site
    alert_id = str(uuid.uuid4())
    meta = evidence_meta(v, site_id, {"pre_roll_s": record.pre_roll_s, "post_roll_s": 0.0, "event_id": v.event_id})
    manifest, key = write_evidence(services.store, services.signer, alert_id=alert_id, revision=1, meta=meta,
                                   files=file_map(frame_files(v, None), clip))
    payload = insert_alert(services.sessions, alert_id, v, site_id, manifest, key, manifest.canonical_json())
    audit.record(services.sessions, mark.user, "alert.missed", "alert", alert_id,
                 {"camera_id": mark.camera_id, "rule": mark.rule, "note": mark.note, "clip": clip is not None,
                  "frame_seq": latest.frame.seq})
    if services.events is not None:
        services.events.publish("alert.new", payload)
    return payload
