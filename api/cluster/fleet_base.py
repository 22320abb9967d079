"""What every fleet of camera groups shares, whatever carries its calls: the event's relay to the API's one recorder,
each group's bookkeeping (acknowledged phases, incarnations, open events), the poll loop and the Supervisor-shaped
reads.

A subclass supplies the transport (`_submit`, `_ready`, `_result`: start a call on a group, wait for some, take an
answer) and the lifecycle of its groups: `fleet.RayFleet` (Ray actors over a cluster) and `procs.ProcessFleet`
(child processes on this machine). The groups themselves are `actors.CameraGroup` in both.
"""
from __future__ import annotations

import dataclasses
import functools
import logging
import threading
import time
from typing import Any, Callable

from api.cluster.actors import DetectorSpec, GroupReport
from api.cluster.groups import Group, merge_stats
from streams.evidence import ViolationEvent
from streams.recorder import AlertSink, Recorder, RecorderConfig
from streams.status import CameraStatus, SupervisorStats
from vigil.config_loader import LoadedConfig
from vigil.errors import NotFoundError, StreamError
from vigil.types import ClipRequest, utcnow

log = logging.getLogger(__name__)
RPC_SLACK_S = 10.0  # beyond a call's own timeout, for the transport to carry it
LATEST_TTL_S = 0.2
MAX_EVENT_OWNERS = 10_000


class GroupFleet:
    """Supervisor-shaped: `start`, `stop`, `status`, `stats`, `latest`, `cut_clip`, `swap_model`, `recorder`."""

    WHERE = "the cluster"  # where the groups run, for messages
    COMES_BACK = "Ray restarts it on a live node"  # how a lost group comes back, for messages

    def __init__(self, loaded: LoadedConfig, *, alert_sink: AlertSink, signer, poll_s: float, lost_after_s: float,
                 recorder_config: RecorderConfig = RecorderConfig(),
                 on_state: Callable[[CameraStatus], None] | None = None):
        self.loaded = loaded
        self.poll_s, self.lost_after_s = poll_s, lost_after_s
        self.recorder = Recorder(alert_sink, signer, clips=self, config=recorder_config,
                                 record_for=lambda cid: self.loaded.config.cameras[cid].record)
        self.sink = self.recorder
        self._on_state = on_state
        self._specs: dict[str, DetectorSpec] = {}
        self._groups: list[Group] = []
        self._by_camera: dict[str, Group] = {}
        self._event_incarnation: dict[str, str] = {}  # event -> the incarnation whose ring holds its footage
        self._latest: dict[str, tuple[float, Any]] = {}
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._since = utcnow()

    # -- the transport (subclasses) ----------------------------------------------------------------------------
    def _submit(self, g: Group, method: str, *args) -> Any:
        """Start `method(*args)` on the group; returns what `_ready` and `_result` take."""
        raise NotImplementedError

    def _ready(self, pending: list, timeout: float) -> list:
        """Those of `pending` that have answered within `timeout` seconds."""
        raise NotImplementedError

    def _result(self, pending: Any, timeout: float | None = None) -> Any:
        """A call's answer, or its error raised here."""
        raise NotImplementedError

    def _call(self, g: Group, method: str, *args, timeout: float) -> Any:
        return self._result(self._submit(g, method, *args), timeout)

    def _end_groups(self, groups: list[Group]) -> None:
        """End the groups' processes (after `stop`)."""

    def _tick(self, now: float) -> None:
        """Once per poll round, after the answers (a subclass restarts or checks what it owns)."""

    def _swap_shared(self, spec: DetectorSpec) -> bool:
        """Send a model to a detector shared by the groups; False when the groups detect themselves."""
        return False

    def _shared_detector(self, profile: str) -> bool:
        return False

    def _start_polling(self) -> None:
        self._thread = threading.Thread(target=self._poll_loop, name="vigil-fleet-poll", daemon=True)
        self._thread.start()

    def _add_group(self, group: Group) -> None:
        self._groups.append(group)
        for cid in group.camera_ids:
            self._by_camera[cid] = group

    # -- lifecycle ---------------------------------------------------------------------------------------------
    def stop(self, timeout: float = 10.0) -> None:
        """Stop analysis in every group, take the last phases, close open events with what the rings hold, then
        end the groups."""
        groups = list(self._groups)
        self._wait_all([self._submit(g, "stop_analysis", timeout) for g in groups if g.handle is not None],
                       timeout + RPC_SLACK_S)
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout + RPC_SLACK_S)
        for g in groups:  # the last phases, every one of them
            for _ in range(1000):
                if not self._poll_once(g, timeout):
                    break
        self.recorder.stop(timeout)
        self._wait_all([self._submit(g, "stop", timeout) for g in groups if g.handle is not None],
                       timeout + RPC_SLACK_S)
        self._end_groups(groups)
        self._groups.clear()
        self._by_camera.clear()

    def _wait_all(self, pending: list, timeout: float) -> None:
        if not pending:
            return
        try:
            self._ready(pending, timeout)
        except Exception:  # noqa: BLE001 - stopping: a dead group must not hold the stop up
            log.warning("stopping camera groups: some did not answer")

    # -- polling -----------------------------------------------------------------------------------------------
    def _poll_loop(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                self._poll_round(started)
            except Exception:  # noqa: BLE001 - the loop's boundary: states must keep coming
                log.exception("camera groups: a poll round failed")
            self._stop.wait(max(0.0, self.poll_s - (time.monotonic() - started)))

    def _poll_round(self, started: float) -> None:
        for g in self._groups:
            if g.pending is None and g.handle is not None:
                g.pending, g.pending_since = self._submit(g, "poll", g.acked), started
        pending = {g.pending: g for g in self._groups if g.pending is not None}
        ready = self._ready(list(pending), self.poll_s) if pending else []
        for ref in ready:
            g = pending[ref]
            g.pending = None
            self._take(g, functools.partial(self._result, ref))
        now = time.monotonic()
        self._tick(now)
        for g in self._groups:
            if g.pending is not None and g.report is not None and g.unreachable_since is None \
                    and now - g.pending_since > 3 * self.poll_s + RPC_SLACK_S:
                self._unreachable(g, "no answer to a poll")
            self._maybe_close_lost(g, now)

    def _poll_once(self, g: Group, timeout: float) -> bool:
        """One poll now; whether it brought phases (there may be more)."""
        if g.handle is None:
            return False
        return self._take(g, lambda: self._call(g, "poll", g.acked, timeout=timeout))

    def _take(self, g: Group, get: Callable[[], Any]) -> bool:
        try:
            report = get()
        except Exception as e:  # noqa: BLE001 - a dead actor or process, a timeout: the group may be gone
            self._unreachable(g, f"{type(e).__name__}: {str(e).splitlines()[0][:200] if str(e) else ''}")
            return False
        with self._lock:
            if report.incarnation != g.incarnation:
                self._new_incarnation(g, report)
            elif report.dropped_events > g.dropped:
                log.error("camera group %s dropped %d violation phase(s): the API did not poll for too long",
                          g.name, report.dropped_events - g.dropped)
            g.dropped = report.dropped_events
            for seq, event in report.events:
                if seq > g.acked:
                    self._relay(g, event)
                    g.acked = seq
            old = g.report if g.unreachable_since is None else None  # back from lost: every state anew
            g.report, g.node_ip = report, report.node_ip
            g.unreachable_since, g.unreachable_error, g.closed_lost = None, "", False
        self._report_states(old, report)
        return bool(report.events)

    def _new_incarnation(self, g: Group, report: GroupReport) -> None:
        if g.incarnation:
            g.restarts += 1
            log.warning("camera group %s (%s) restarted on %s (was on %s)", g.name, ", ".join(g.camera_ids),
                        report.node_ip, g.node_ip or "?")
            self._close_open(g, "its camera group restarted", footage_gone=True)
        g.incarnation, g.acked = report.incarnation, 0
        for profile, spec in self._specs.items():  # a restarted group runs the models it was created with
            if g.specs.get(profile) != spec.sha256 and not self._shared_detector(profile):
                self._submit(g, "swap_model", spec)
                g.specs[profile] = spec.sha256

    def _relay(self, g: Group, event: ViolationEvent) -> None:
        v = event.violation
        if v.phase == "closed":
            g.open.pop(v.event_id, None)
        else:
            g.open[v.event_id] = ViolationEvent(dataclasses.replace(v, best_image=None), event.site_id,
                                                event.profile, None)
        self._event_incarnation[v.event_id] = g.incarnation
        while len(self._event_incarnation) > MAX_EVENT_OWNERS:
            self._event_incarnation.pop(next(iter(self._event_incarnation)))
        self.recorder.on_violation(event)

    def _unreachable(self, g: Group, error: str) -> None:
        with self._lock:
            first = g.unreachable_since is None
            if first:
                g.unreachable_since = time.monotonic()
                log.warning("camera group %s (%s) on %s unreachable: %s; %s", g.name, ", ".join(g.camera_ids),
                            g.node_ip or "?", error, self.COMES_BACK)
            g.unreachable_error = error
        if first and self._on_state is not None:  # the wall hears it once; the next report brings the real state
            for cid in g.camera_ids:
                self._on_state(self._lost_status(g, cid))

    def _maybe_close_lost(self, g: Group, now: float) -> None:
        with self._lock:
            if g.unreachable_since is not None and not g.closed_lost and now - g.unreachable_since >= self.lost_after_s:
                g.closed_lost = True
                self._close_open(g, f"its camera group was unreachable for {self.lost_after_s:g} s")

    def _close_open(self, g: Group, why: str, footage_gone: bool = False) -> None:
        """Close the events the group had open from what their evidence holds (no more footage will come)."""
        if g.open:
            log.warning("camera group %s: closing %d open event(s): %s", g.name, len(g.open), why)
        for ev in list(g.open.values()):
            v = dataclasses.replace(ev.violation, phase="closed", best_image=None)
            if footage_gone:  # it went with the old incarnation (an unreachable one may yet answer)
                self._event_incarnation[v.event_id] = ""
            self.recorder.on_violation(ViolationEvent(v, ev.site_id, ev.profile, None))
        g.open.clear()

    def _report_states(self, old: GroupReport | None, new: GroupReport) -> None:
        if self._on_state is None:
            return
        for cid, st in new.statuses.items():
            before = old.statuses.get(cid) if old is not None else None
            if before is None or before.state != st.state or before.last_error != st.last_error:
                self._on_state(st)

    # -- what the runtime, the routes and metrics read ---------------------------------------------------------
    def _lost_status(self, g: Group, cid: str) -> CameraStatus:
        last = g.report.statuses.get(cid) if g.report is not None else None
        error = (f"its camera group {g.name} on {g.node_ip or '?'} is unreachable ({g.unreachable_error}); "
                 f"{self.COMES_BACK}")
        if last is None:
            return CameraStatus(cid, "reconnecting", error, 0, 0, 0, 0, 0, 0.0, self._since)
        return dataclasses.replace(last, state="reconnecting", last_error=error, fps=0.0)

    def status(self) -> dict[str, CameraStatus]:
        out: dict[str, CameraStatus] = {}
        with self._lock:
            for g in self._groups:
                for cid in g.camera_ids:
                    if g.unreachable_since is not None:
                        out[cid] = self._lost_status(g, cid)
                    elif g.report is not None and cid in g.report.statuses:
                        out[cid] = g.report.statuses[cid]
                    else:
                        out[cid] = CameraStatus(cid, "connecting", "", 0, 0, 0, 0, 0, 0.0, self._since)
        return out

    def placement(self) -> dict[str, dict]:
        """Per camera: its group, where it runs, and how often its group was restarted."""
        with self._lock:
            return {cid: {"group": g.name, "node": g.node_ip, "restarts": g.restarts,
                          "reachable": g.unreachable_since is None}
                    for g in self._groups for cid in g.camera_ids}

    def stats(self) -> SupervisorStats:
        statuses = self.status()
        with self._lock:
            return merge_stats(self._groups, statuses, self.loaded, self.recorder)

    def _group(self, camera_id: str) -> Group:
        g = self._by_camera.get(camera_id)
        if g is None:
            raise NotFoundError(f"camera {camera_id!r} is not running on {self.WHERE}")
        return g

    def latest(self, camera_id: str):
        now = time.monotonic()
        hit = self._latest.get(camera_id)
        if hit is not None and now - hit[0] < LATEST_TTL_S:
            return hit[1]
        g = self._by_camera.get(camera_id)
        if g is None or g.handle is None or g.unreachable_since is not None:
            return hit[1] if hit else None
        try:
            result = self._call(g, "latest", camera_id, timeout=2.0)
        except Exception:  # noqa: BLE001 - the group may be gone; the poll loop reports it
            return hit[1] if hit else None
        self._latest[camera_id] = (now, result)
        return result

    def cut_clip(self, request: ClipRequest, timeout: float):
        """The camera's own packets, cut by its group from its ring (the recorder calls this)."""
        g = self._group(request.camera_id)
        made_by = self._event_incarnation.get(request.event_id)
        if made_by is not None and made_by != g.incarnation:
            raise StreamError(f"camera {request.camera_id}: event {request.event_id}'s footage was in a camera group "
                              f"that is gone (lost or restarted); its evidence keeps what was already written")
        if g.unreachable_since is not None or g.handle is None:
            raise StreamError(f"camera {request.camera_id}: its camera group is unreachable ({g.unreachable_error})")
        try:
            return self._call(g, "cut_clip", request, timeout, timeout=timeout + RPC_SLACK_S)
        except StreamError:
            raise
        except Exception as e:  # noqa: BLE001 - the group went away mid-call
            raise StreamError(f"camera {request.camera_id}: clip not cut: {type(e).__name__}: "
                              f"{str(e).splitlines()[0][:200] if str(e) else ''}") from None

    def pipeline(self, camera_id: str):
        raise NotFoundError(f"camera {camera_id!r} runs in a camera group on {self.WHERE}; its packets are not in "
                            f"this process")

    def swap_model(self, profile: str, detector) -> None:
        """A new model for a profile: its bytes go to every group (or to the profile's shared detector)."""
        dcfg = next((d for p, d in self.loaded.config.detectors.items() if p == profile), None)
        spec = DetectorSpec.of(profile, detector, threads=dcfg.threads if dcfg is not None else 2)
        with self._lock:
            self._specs[profile] = spec
            if self._swap_shared(spec):
                return
            for g in self._groups:
                if g.handle is not None and g.specs.get(profile) != spec.sha256:
                    self._submit(g, "swap_model", spec)
                    g.specs[profile] = spec.sha256

    def add_camera(self, camera_id: str, loaded: LoadedConfig | None = None) -> None:
        if loaded is not None:
            self.loaded = loaded
        g = self._by_camera.get(camera_id)
        if g is None:
            raise NotFoundError(f"camera {camera_id!r} has no camera group; restart the service to place it")
        self._call(g, "add_camera", camera_id, self.loaded, timeout=60)

    def remove_camera(self, camera_id: str) -> None:
        self._call(self._group(camera_id), "remove_camera", camera_id, timeout=60)

    def replace_camera(self, camera_id: str, loaded: LoadedConfig) -> None:
        """A camera edited from the UI: its group stops it (this recorder closes its open events with the footage
        that group's ring holds) and starts it again with `loaded` when enabled. A camera no group holds (added in
        the UI) is placed at the next restart."""
        with self._lock:
            self.loaded = loaded
            g = self._by_camera.get(camera_id)
        if g is None or g.handle is None:
            log.warning("camera %s: no camera group holds it on %s; it runs from the next restart", camera_id,
                        self.WHERE)
            return
        try:
            self._call(g, "remove_camera", camera_id, timeout=60)
        except NotFoundError:
            pass  # it was not running there (disabled, or it could not start)
        self.recorder.close_camera(camera_id)
        cam = loaded.config.cameras.get(camera_id)
        if cam is not None and cam.enabled:
            self._call(g, "add_camera", camera_id, loaded, timeout=60)
