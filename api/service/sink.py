"""The evidence sink: each violation phase becomes signed evidence first, then its alert row, then news."""
from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Protocol

from api.service import alerts_db
from api.service.evidence_files import BEST_ANNOTATED, BEST_RAW, CLIP, FrameFiles, evidence_meta, file_map, \
    frame_files
from api.service.events import EventBus
from vigil.errors import VigilError
from vigil.evidence import read_manifest, write_evidence
from vigil.types import ClipRequest, Violation

log = logging.getLogger(__name__)


class ClipCutter(Protocol):
    """What the sink needs from the stream service (the Supervisor): a clip of a camera's own packets."""

    def cut_clip(self, request: ClipRequest, timeout: float) -> Any: ...  # -> ClipResult(data, start_s, end_s, ...)


@dataclass
class _Event:
    """What the sink remembers of one ongoing event between its phases."""

    alert_id: str
    site_id: str
    revision: int
    frames: FrameFiles | None
    clip: bytes | None
    last_revision_mono: float
    pending: FrameFiles | None = None  # a better best frame seen since the last revision (throttled)


@dataclass(frozen=True)
class SinkConfig:
    revision_interval_s: float = 30.0  # at most one new evidence revision per event this often (best frame moves)
    clip_timeout_extra_s: float = 20.0  # waited beyond the post-roll for the clip's packets


class EvidenceSink:
    """`on_violation(event)`: open -> evidence r1 then alert; update -> extend (throttled revisions); closed -> final."""

    def __init__(self, services, bus: EventBus, *, notify: Callable[[dict], None] | None = None,
                 clips: ClipCutter | None = None, config: SinkConfig = SinkConfig()):
        self.services = services
        self.bus = bus
        self.notify = notify
        self.clips = clips  # set after the Supervisor is built (it needs the sink first)
        self.config = config
        self._events: dict[str, _Event] = {}
        self._locks: dict[str, threading.Lock] = {}  # one per event: its phases are handled in order
        self._lock = threading.Lock()
        self.errors = 0

    def on_violation(self, event) -> None:
        """Called on an evidence worker thread with a ViolationEvent(violation, site_id, profile, annotated)."""
        v: Violation = event.violation
        try:
            with self._lock_for(v.event_id):
                state = self._state_for(v.event_id)
                if state is None:
                    self._open(v, event.site_id, event.annotated)
                else:
                    self._extend(state, v, event.annotated)
            if v.phase == "closed":
                with self._lock:
                    self._events.pop(v.event_id, None)
                    self._locks.pop(v.event_id, None)
        except Exception:  # noqa: BLE001 - the sink's boundary: one bad event must not stop the next
            self.errors += 1
            log.exception("evidence for %s event %s on camera %s failed", v.rule, v.event_id, v.camera_id)

    # -- phases ----------------------------------------------------------------------------------------------
    def _lock_for(self, event_id: str) -> threading.Lock:
        with self._lock:
            return self._locks.setdefault(event_id, threading.Lock())

    def _state_for(self, event_id: str) -> _Event | None:
        with self._lock:
            state = self._events.get(event_id)
        if state is not None:
            return state
        alert_id = alerts_db.find_alert_id(self.services.sessions, event_id)
        return None if alert_id is None else self._recover(event_id, alert_id)

    def _open(self, v: Violation, site_id: str, annotated) -> None:
        alert_id = str(uuid.uuid4())
        frames = frame_files(v, annotated)
        clip = self._clip(v)
        manifest, key, body = self._write(alert_id, 1, v, site_id, frames, clip)
        state = _Event(alert_id, site_id, 1, frames, clip, time.monotonic())
        with self._lock:
            self._events[v.event_id] = state
        payload = alerts_db.insert_alert(self.services.sessions, alert_id, v, site_id, manifest, key, body)
        self.bus.publish("alert.new", payload)
        if self.notify is not None:
            self.notify(payload)

    def _extend(self, state: _Event, v: Violation, annotated) -> None:
        # The phase's best_* fields always describe the best frame so far, so the frames written with them must be
        # that frame too: a throttled improvement is kept until the next revision writes it.
        state.pending = frame_files(v, annotated) or state.pending
        due = time.monotonic() - state.last_revision_mono >= self.config.revision_interval_s
        evidence = None
        if v.phase == "closed" or (state.pending is not None and due):
            frames = state.pending or state.frames
            clip = (self._clip(v) or state.clip) if v.phase == "closed" else state.clip
            evidence = self._write(state.alert_id, state.revision + 1, v, state.site_id, frames, clip)
            state.revision, state.frames, state.clip, state.pending = state.revision + 1, frames, clip, None
            state.last_revision_mono = time.monotonic()
        payload = alerts_db.update_alert(self.services.sessions, state.alert_id, v, evidence)
        self.bus.publish("alert.updated", payload)

    # -- helpers ---------------------------------------------------------------------------------------------
    def _clip(self, v: Violation) -> bytes | None:
        """The camera's own packets from pre-roll to post-roll; None (logged) when the stream cannot give them."""
        if self.clips is None:
            return None
        record = self.services.loaded.config.cameras[v.camera_id].record
        request = ClipRequest(camera_id=v.camera_id, event_id=v.event_id, start_s=v.start_s, end_s=v.end_s,
                              pre_roll_s=record.pre_roll_s, post_roll_s=record.post_roll_s)
        try:
            result = self.clips.cut_clip(request, record.post_roll_s + self.config.clip_timeout_extra_s)
        except VigilError as e:
            log.warning("camera %s event %s: no clip (%s); evidence keeps the frames", v.camera_id, v.event_id, e)
            return None
        return result.data

    def _write(self, alert_id: str, revision: int, v: Violation, site_id: str, frames: FrameFiles | None,
               clip: bytes | None):
        record = self.services.loaded.config.cameras[v.camera_id].record
        meta = evidence_meta(v, site_id, {"pre_roll_s": record.pre_roll_s, "post_roll_s": record.post_roll_s,
                                          "event_id": v.event_id})
        manifest, key = write_evidence(self.services.store, self.services.signer, alert_id=alert_id,
                                       revision=revision, meta=meta, files=file_map(frames, clip))
        return manifest, key, manifest.canonical_json()

    def _recover(self, event_id: str, alert_id: str) -> _Event:
        """An event whose alert exists but whose state is gone (restart): rebuild it from the stored evidence."""
        manifest, _, _ = read_manifest(self.services.store, alert_id)
        get = {f.name: f.key for f in manifest.files}
        frames = None
        if BEST_RAW in get and BEST_ANNOTATED in get:
            frames = FrameFiles(self.services.store.get(get[BEST_RAW]), self.services.store.get(get[BEST_ANNOTATED]))
        clip = self.services.store.get(get[CLIP]) if CLIP in get else None
        state = _Event(alert_id, manifest.site_id, manifest.revision, frames, clip, time.monotonic())
        with self._lock:
            self._events[event_id] = state
        return state
