"""The event's life: per-event state, best frame, evidence revisions and the clip, ending in the AlertSink port.

Each event gets its own small thread that takes its phases in order. On `open` the alert is handed to the sink at
once with its best frame (revision 1, no clip): a rule's confirmation reaches the alert row without waiting for a
post-roll. The clip follows as revision 2 once the post-roll is buffered; updates add throttled revisions when
the best frame moves; `closed` writes the final revision with the clip over the whole event. The sink decides
how a write becomes durable (the server's sink queues it in the outbox; `vigil analyze` writes a folder).
"""
from __future__ import annotations

import collections
import dataclasses
import logging
import queue
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Protocol

from vigil.config import RecordConfig
from vigil.errors import VigilError
from vigil.evidence import EvidenceRevision, build_revision
from vigil.signing import Signer
from vigil.types import ClipRequest, Violation
from streams.evidence import FrameFiles, ViolationEvent, evidence_meta, file_map, frame_files

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AlertRef:
    """What a sink knows of an alert an event already has (a recorder rebuilt while the event went on)."""

    alert_id: str
    revision: int


@dataclass(frozen=True, eq=False)
class AlertWrite:
    """One write to an alert: the phase it reflects, and the new evidence revision when the evidence changed."""

    alert_id: str
    site_id: str
    violation: Violation
    evidence: EvidenceRevision | None
    closed_by: str = ""  # "" for the rule's own close; "shutdown" when the service stopped mid-event


class AlertSink(Protocol):
    """The port the recorder ends in. Calls must return fast (queue, do not wait on a network peer)."""

    def find(self, event_id: str) -> AlertRef | None: ...

    def insert(self, write: AlertWrite) -> None: ...

    def update(self, write: AlertWrite) -> None: ...


class ClipSource(Protocol):
    def cut_clip(self, request: ClipRequest, timeout: float) -> Any: ...  # -> streams.clip.ClipResult


@dataclass(frozen=True)
class RecorderConfig:
    revision_interval_s: float = 30.0  # at most one new revision per event this often while the best frame moves
    clip_timeout_extra_s: float = 20.0  # waited beyond the post-roll for the clip's packets
    clip_after_open: bool = True  # a clip revision as soon as the confirmation's post-roll is buffered
    stop_clip_timeout_s: float = 2.0  # at shutdown, what the ring holds is cut without waiting longer


@dataclass
class _Life:
    """One event between its phases; touched only by its own thread."""

    event_id: str
    site_id: str
    phases: "queue.Queue[ViolationEvent | None]"
    alert_id: str = ""
    revision: int = 0
    frames: FrameFiles | None = None
    pending: FrameFiles | None = None
    clip: bytes | None = None
    last: Violation | None = None
    last_revision_mono: float = 0.0
    thread: threading.Thread | None = None
    todo: int = 0  # phases handed over and not yet handled
    camera_id: str = ""
    closed_by: str = "shutdown"  # why it closes when told to stop mid-event


class Recorder:
    """`on_violation(event)` never blocks; `stop()` closes every open event with what the ring holds."""

    def __init__(self, sink: AlertSink, signer: Signer, *, clips: ClipSource | None,
                 record_for: Callable[[str], RecordConfig], config: RecorderConfig = RecorderConfig(),
                 alert_id_for: Callable[[Violation], str] | None = None):
        self.sink = sink
        self.alert_id_for = alert_id_for or (lambda _v: str(uuid.uuid4()))  # offline analysis: the event id
        self.signer = signer
        self.clips = clips
        self.record_for = record_for
        self.config = config
        self._lock = threading.Lock()
        self._lives: dict[str, _Life] = {}
        self._stopping = False
        self.errors = 0
        self.truncated: "collections.OrderedDict[str, bool]" = collections.OrderedDict()  # event -> whether its
        # last clip lacked part of its span (the last 1000 events)
        self.opened = 0  # events seen opening (what the cameras produced), for /healthz and fault tests
        self.opened_by: "collections.Counter[tuple[str, str]]" = collections.Counter()  # (rule, site) -> opened
        self.confirmed_mono: "collections.OrderedDict[str, float]" = collections.OrderedDict()  # event -> when
        # its rule confirmed (monotonic), the last 1000: what the alert-latency bench measures from

    # -- the port the supervisor calls -------------------------------------------------------------------------
    def on_violation(self, event: ViolationEvent) -> None:
        v = event.violation
        with self._lock:
            life = self._lives.get(v.event_id)
            if life is None:
                self.opened += v.phase == "open"
                if v.phase == "open":
                    self.opened_by[(v.rule, event.site_id)] += 1
                    self.confirmed_mono[v.event_id] = time.monotonic()
                    while len(self.confirmed_mono) > 1000:
                        self.confirmed_mono.popitem(last=False)
                life = _Life(v.event_id, event.site_id, queue.Queue(), camera_id=v.camera_id)
                life.thread = threading.Thread(target=self._live, args=(life,), daemon=True,
                                               name=f"vigil-event-{v.event_id[:8]}")
                self._lives[v.event_id] = life
                life.thread.start()
            life.todo += 1
        life.phases.put(event)

    def opened_counts(self) -> tuple[tuple[str, str, int], ...]:
        """(rule, site, events opened) since start, sorted."""
        with self._lock:
            return tuple((rule, site, n) for (rule, site), n in sorted(self.opened_by.items()))

    def open_events(self) -> int:
        with self._lock:
            return len(self._lives)

    def wait_idle(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.open_events() == 0:
                return True
            time.sleep(0.05)
        return self.open_events() == 0

    def wait_settled(self, timeout: float) -> bool:
        """True once every phase handed over so far has been handled (open events may wait for more)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if all(life.todo == 0 for life in self._lives.values()):
                    return True
            time.sleep(0.02)
        return False

    def stop(self, timeout: float = 10.0) -> None:
        """Close every open event now (final revision with the clip the ring holds, alert no longer ongoing)."""
        with self._lock:
            self._stopping = True
            lives = list(self._lives.values())
        for life in lives:
            life.phases.put(None)
        deadline = time.monotonic() + timeout
        for life in lives:
            if life.thread is not None:
                life.thread.join(max(0.1, deadline - time.monotonic()))

    def close_camera(self, camera_id: str, timeout: float = 10.0, closed_by: str = "reconfigured") -> None:
        """Close the open events of one camera (it is being stopped or reconfigured) with what its ring holds."""
        with self._lock:
            lives = [life for life in self._lives.values() if life.camera_id == camera_id]
        for life in lives:
            life.closed_by = closed_by
            life.phases.put(None)
        deadline = time.monotonic() + timeout
        for life in lives:
            if life.thread is not None:
                life.thread.join(max(0.1, deadline - time.monotonic()))

    # -- one event's thread ------------------------------------------------------------------------------------
    def _live(self, life: _Life) -> None:
        try:
            while True:
                event = life.phases.get()
                if event is None:
                    self._close_at_stop(life)
                    return
                self._phase(life, event)
                if event.violation.phase != "closed" and life.revision == 1 and life.clip is None \
                        and self.config.clip_after_open and life.phases.empty():
                    self._clip_revision(life)
                with self._lock:
                    life.todo -= 1
                if event.violation.phase == "closed":
                    return
        finally:
            with self._lock:
                self._lives.pop(life.event_id, None)

    def _phase(self, life: _Life, event: ViolationEvent) -> None:
        v = event.violation
        try:
            if not life.alert_id:
                self._open(life, event)
            else:
                self._extend(life, event)
        except Exception:  # noqa: BLE001 - one event's boundary: the next phase tries again
            self.errors += 1
            log.exception("recorder: %s event %s on camera %s, phase %s failed", v.rule, v.event_id, v.camera_id,
                          v.phase)

    def _open(self, life: _Life, event: ViolationEvent) -> None:
        v = event.violation
        life.last = v
        ref = self.sink.find(v.event_id) if v.phase != "open" else None
        if ref is not None:  # the event outlived an earlier recorder (a camera restarted): continue its alert
            life.alert_id, life.revision = ref.alert_id, ref.revision
            self._extend(life, event)
            return
        life.frames = frame_files(v, event.annotated)
        life.alert_id = self.alert_id_for(v)
        rev = self._revision(life, v, life.frames, None)
        self.sink.insert(AlertWrite(life.alert_id, life.site_id, v, rev))

    def _extend(self, life: _Life, event: ViolationEvent) -> None:
        # The phase's best_* fields describe the best frame so far; the frames written with them must show that
        # frame, so a throttled improvement waits in `pending` until the next revision writes it.
        v = event.violation
        life.last = v
        life.pending = frame_files(v, event.annotated) or life.pending
        due = time.monotonic() - life.last_revision_mono >= self.config.revision_interval_s
        rev = None
        if v.phase == "closed":
            clip = self._cut(v, self.record_for(v.camera_id).post_roll_s + self.config.clip_timeout_extra_s)
            rev = self._revision(life, v, life.pending or life.frames, clip or life.clip)
        elif life.pending is not None and due:
            rev = self._revision(life, v, life.pending, life.clip)
        self.sink.update(AlertWrite(life.alert_id, life.site_id, v, rev))

    def _clip_revision(self, life: _Life) -> None:
        """The clip from pre-roll to the confirmation's post-roll, as soon as it is buffered."""
        v = life.last
        if v is None:
            return
        try:
            clip = self._cut(v, self.record_for(v.camera_id).post_roll_s + self.config.clip_timeout_extra_s)
            if clip is None:
                return
            rev = self._revision(life, v, life.pending or life.frames, clip)
            self.sink.update(AlertWrite(life.alert_id, life.site_id, v, rev))
        except Exception:  # noqa: BLE001 - one event's boundary
            self.errors += 1
            log.exception("recorder: clip revision of event %s failed", life.event_id)

    def _close_at_stop(self, life: _Life) -> None:
        if not life.alert_id or life.last is None:
            return
        v = dataclasses.replace(life.last, phase="closed", best_image=None)
        try:
            clip = self._cut(v, self.config.stop_clip_timeout_s)
            rev = self._revision(life, v, life.pending or life.frames, clip or life.clip)
            self.sink.update(AlertWrite(life.alert_id, life.site_id, v, rev, closed_by=life.closed_by))
        except Exception:  # noqa: BLE001 - shutting down: log it; start-up closes what is left ongoing
            self.errors += 1
            log.exception("recorder: closing event %s at shutdown failed", life.event_id)

    # -- evidence ----------------------------------------------------------------------------------------------
    def _revision(self, life: _Life, v: Violation, frames: FrameFiles | None,
                  clip: bytes | None) -> EvidenceRevision:
        record = self.record_for(v.camera_id)
        meta = evidence_meta(v, life.site_id, {"pre_roll_s": record.pre_roll_s, "post_roll_s": record.post_roll_s,
                                               "event_id": v.event_id})
        rev = build_revision(self.signer, alert_id=life.alert_id, revision=life.revision + 1, meta=meta,
                             files=file_map(frames, clip))
        life.revision, life.frames, life.clip, life.pending = life.revision + 1, frames, clip, None
        life.last_revision_mono = time.monotonic()
        return rev

    def _cut(self, v: Violation, timeout: float) -> bytes | None:
        """The camera's own packets from pre-roll to post-roll; None (logged) when the stream cannot give them."""
        if self.clips is None:
            return None
        record = self.record_for(v.camera_id)
        request = ClipRequest(camera_id=v.camera_id, event_id=v.event_id, start_s=v.start_s, end_s=v.end_s,
                              pre_roll_s=record.pre_roll_s, post_roll_s=record.post_roll_s)
        deadline = time.monotonic() + timeout
        try:
            while True:  # in slices, so that a stop need not wait out a post-roll that will never come
                remaining = deadline - time.monotonic()
                wait = max(0.0, min(1.0, remaining))
                t0 = time.monotonic()
                result = self.clips.cut_clip(request, wait)
                ended = wait > 0 and time.monotonic() - t0 < 0.9 * wait  # back before its time: nothing will come
                if not result.truncated or ended or remaining <= 1.0 or self._stopping:
                    self.truncated[v.event_id] = result.truncated
                    while len(self.truncated) > 1000:
                        self.truncated.popitem(last=False)
                    return result.data
        except VigilError as e:
            log.warning("camera %s event %s: no clip (%s); evidence keeps the frames", v.camera_id, v.event_id, e)
            return None
