"""The API process's side of `vigil serve --ray`: camera groups as Ray actors, one recorder here, states polled.

`RayFleet` stands where `streams.supervisor.Supervisor` stands in one process (the runtime, /healthz, the wall,
/metrics and missed-violation marking use the same methods). It owns the event's life: every violation phase
comes back from a group's `poll` and goes to the one `Recorder` of this process, which ends in the outbox, the
database, the evidence store and the notifications of this process, under its instance lock. Actors write
nothing: an actor that dies cannot leave a half-written alert, and two actors cannot write one twice.

A group that dies (its node lost) is restarted by Ray on a live node (`max_restarts`); a new incarnation answers
the next poll. Events that were open in the old incarnation are closed here from what their evidence already
holds (the best frame, and the clip when it was cut), as a restart after a crash closes them (issue #15).
"""
from __future__ import annotations

import dataclasses
import functools
import logging
import threading
import time
import uuid
from typing import Any, Callable, Mapping

from api.cluster.actors import CameraGroup, DetectorSpec, GroupReport
from api.cluster.detector_pool import DetectorPool
from api.cluster.connect import ClusterOptions, cluster_gpus, connect, site_nodes
from api.cluster.groups import Group, merge_stats, plan_groups
from streams.evidence import ViolationEvent
from streams.recorder import AlertSink, Recorder, RecorderConfig
from streams.status import CameraStatus, SupervisorStats
from vigil.config_loader import LoadedConfig
from vigil.errors import NotFoundError, StreamError
from vigil.types import ClipRequest, utcnow

log = logging.getLogger(__name__)
RPC_SLACK_S = 10.0  # beyond a call's own timeout, for Ray to carry it
LATEST_TTL_S = 0.2


class RayFleet:
    """Supervisor-shaped: `start`, `stop`, `status`, `stats`, `latest`, `cut_clip`, `swap_model`, `recorder`."""

    def __init__(self, loaded: LoadedConfig, options: ClusterOptions, *, alert_sink: AlertSink, signer,
                 recorder_config: RecorderConfig = RecorderConfig(),
                 on_state: Callable[[CameraStatus], None] | None = None,
                 pipeline_overrides: Mapping[str, object] | None = None):
        self.loaded = loaded
        self.options = options
        self.recorder = Recorder(alert_sink, signer, clips=self, config=recorder_config,
                                 record_for=lambda cid: self.loaded.config.cameras[cid].record)
        self.sink = self.recorder
        self._on_state = on_state
        self._overrides = dict(pipeline_overrides or {})
        self._specs: dict[str, DetectorSpec] = {}
        self._detectors = DetectorPool()
        self._detector_actors = self._detectors.handles  # profile -> detector actor (--ray-detectors actor)
        self._groups: list[Group] = []
        self._by_camera: dict[str, Group] = {}
        self._event_incarnation: dict[str, str] = {}  # event -> the incarnation whose ring holds its footage
        self._latest: dict[str, tuple[float, Any]] = {}
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._since = utcnow()
        self._init_refs: list[Any] = []
        self._run = uuid.uuid4().hex[:6]  # actor names are cluster-wide: two services may share a cluster

    # -- lifecycle ---------------------------------------------------------------------------------------------
    def start(self) -> None:
        import ray

        connect(self.options.address)
        gpus = cluster_gpus()
        use_actors = self.options.detectors == "actor" or (self.options.detectors == "auto" and gpus > 0)
        if use_actors:
            self._detectors.start(self._specs, gpus, self.options.max_restarts, self._run)
        remote_group = ray.remote(CameraGroup)
        # Creation arguments by reference, held here for the fleet's life: Ray re-reads them to restart an actor
        # on another node, and would have dropped inline ones once the first incarnation was built.
        self._init_refs = [ray.put(self.loaded), ray.put(self._specs), ray.put(self._detector_actors),
                           ray.put(self._overrides)]
        for i, (name, site, cams) in enumerate(plan_groups(self.loaded, self.options.group_size)):
            group = Group(name, cams, specs={p: s.sha256 for p, s in self._specs.items()})
            group.handle = remote_group.options(
                name=f"vigil-{self._run}-cameras-{name}", num_cpus=self.options.group_cpus, max_concurrency=8,
                max_restarts=self.options.max_restarts, scheduling_strategy=self._placement(site, i)).remote(
                self._init_refs[0], cams, *self._init_refs[1:])
            self._groups.append(group)
            for cid in cams:
                self._by_camera[cid] = group
        log.info("%d camera group(s) started on the Ray cluster at %s", len(self._groups), self.options.address)
        self._thread = threading.Thread(target=self._poll_loop, name="vigil-ray-fleet", daemon=True)
        self._thread.start()

    @staticmethod
    def _placement(site: str, index: int):
        """A node that carries `vigil-site-<site>` is preferred (softly: any live node takes over; a site's groups
        take turns among its nodes); else spread over the cluster."""
        nodes = sorted(site_nodes(site))
        if not nodes:
            return "SPREAD"
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        return NodeAffinitySchedulingStrategy(nodes[index % len(nodes)], soft=True)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop analysis in every group, take the last phases, close open events with what the rings hold, then
        end the groups."""
        import ray

        groups = list(self._groups)
        calls = [g.handle.stop_analysis.remote(timeout) for g in groups if g.handle is not None]
        _wait_all(ray, calls, timeout + RPC_SLACK_S)
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout + RPC_SLACK_S)
        for g in groups:  # the last phases, every one of them
            for _ in range(1000):
                if not self._poll_once(g, timeout):
                    break
        self.recorder.stop(timeout)
        _wait_all(ray, [g.handle.stop.remote(timeout) for g in groups if g.handle is not None], timeout + RPC_SLACK_S)
        for handle in [g.handle for g in groups] + list(self._detector_actors.values()):
            try:
                ray.kill(handle, no_restart=True)
            except Exception:  # noqa: BLE001 - already gone
                pass
        self._groups.clear()
        self._by_camera.clear()

    # -- polling -----------------------------------------------------------------------------------------------
    def _poll_loop(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                self._poll_round(started)
            except Exception:  # noqa: BLE001 - the loop's boundary: states must keep coming
                log.exception("camera groups: a poll round failed")
            self._stop.wait(max(0.0, self.options.poll_s - (time.monotonic() - started)))

    def _poll_round(self, started: float) -> None:
        import ray

        for g in self._groups:
            if g.pending is None:
                g.pending, g.pending_since = g.handle.poll.remote(g.acked), started
        pending = {g.pending: g for g in self._groups if g.pending is not None}
        ready, _ = ray.wait(list(pending), num_returns=len(pending), timeout=self.options.poll_s)
        for ref in ready:
            g = pending[ref]
            g.pending = None
            self._take(g, functools.partial(ray.get, ref))
        now = time.monotonic()
        self._detectors.check(self._specs, now)
        for g in self._groups:
            if g.pending is not None and g.report is not None and g.unreachable_since is None \
                    and now - g.pending_since > 3 * self.options.poll_s + RPC_SLACK_S:
                self._unreachable(g, "no answer to a poll")
            self._maybe_close_lost(g, now)

    def _poll_once(self, g: Group, timeout: float) -> bool:
        """One poll now; whether it brought phases (there may be more)."""
        import ray

        if g.handle is None:
            return False
        return self._take(g, lambda: ray.get(g.handle.poll.remote(g.acked), timeout=timeout))

    def _take(self, g: Group, get: Callable[[], Any]) -> bool:
        try:
            report = get()
        except Exception as e:  # noqa: BLE001 - RayActorError, ActorUnavailableError, a timeout: the node may be gone
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
            log.warning("camera group %s (%s) restarted on node %s (was on %s)", g.name, ", ".join(g.camera_ids),
                        report.node_ip, g.node_ip or "?")
            self._close_open(g, "its camera group restarted", footage_gone=True)
        g.incarnation, g.acked = report.incarnation, 0
        for profile, spec in self._specs.items():  # a restarted actor runs the models it was created with
            if g.specs.get(profile) != spec.sha256 and profile not in self._detector_actors:
                g.handle.swap_model.remote(spec)
                g.specs[profile] = spec.sha256

    def _relay(self, g: Group, event: ViolationEvent) -> None:
        v = event.violation
        if v.phase == "closed":
            g.open.pop(v.event_id, None)
        else:
            g.open[v.event_id] = ViolationEvent(dataclasses.replace(v, best_image=None), event.site_id,
                                                event.profile, None)
        self._event_incarnation[v.event_id] = g.incarnation
        while len(self._event_incarnation) > 10_000:
            self._event_incarnation.pop(next(iter(self._event_incarnation)))
        self.recorder.on_violation(event)

    def _unreachable(self, g: Group, error: str) -> None:
        with self._lock:
            first = g.unreachable_since is None
            if first:
                g.unreachable_since = time.monotonic()
                log.warning("camera group %s (%s) on node %s unreachable: %s; Ray restarts it on a live node",
                            g.name, ", ".join(g.camera_ids), g.node_ip or "?", error)
            g.unreachable_error = error
        if first and self._on_state is not None:  # the wall hears it once; the next report brings the real state
            for cid in g.camera_ids:
                self._on_state(self._lost_status(g, cid))

    def _maybe_close_lost(self, g: Group, now: float) -> None:
        with self._lock:
            if g.unreachable_since is not None and not g.closed_lost \
                    and now - g.unreachable_since >= self.options.lost_after_s:
                g.closed_lost = True
                self._close_open(g, f"its camera group was unreachable for {self.options.lost_after_s:g} s")

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
        error = (f"its camera group {g.name} on node {g.node_ip or '?'} is unreachable ({g.unreachable_error}); "
                 f"Ray restarts it on a live node")
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
        """Per camera: its group, the node it runs on, and how often its group was restarted."""
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
            raise NotFoundError(f"camera {camera_id!r} is not running on the cluster")
        return g

    def latest(self, camera_id: str):
        import ray

        now = time.monotonic()
        hit = self._latest.get(camera_id)
        if hit is not None and now - hit[0] < LATEST_TTL_S:
            return hit[1]
        g = self._by_camera.get(camera_id)
        if g is None or g.unreachable_since is not None:
            return hit[1] if hit else None
        try:
            result = ray.get(g.handle.latest.remote(camera_id), timeout=2.0)
        except Exception:  # noqa: BLE001 - the node may be gone; the poll loop reports it
            return hit[1] if hit else None
        self._latest[camera_id] = (now, result)
        return result

    def cut_clip(self, request: ClipRequest, timeout: float):
        """The camera's own packets, cut by its group from its ring (the recorder calls this)."""
        import ray

        g = self._group(request.camera_id)
        made_by = self._event_incarnation.get(request.event_id)
        if made_by is not None and made_by != g.incarnation:
            raise StreamError(f"camera {request.camera_id}: event {request.event_id}'s footage was in a camera group "
                              f"that is gone (node lost or restarted); its evidence keeps what was already written")
        if g.unreachable_since is not None:
            raise StreamError(f"camera {request.camera_id}: its camera group is unreachable ({g.unreachable_error})")
        try:
            return ray.get(g.handle.cut_clip.remote(request, timeout), timeout=timeout + RPC_SLACK_S)
        except StreamError:
            raise
        except Exception as e:  # noqa: BLE001 - the actor or its node went away mid-call
            raise StreamError(f"camera {request.camera_id}: clip not cut: {type(e).__name__}: "
                              f"{str(e).splitlines()[0][:200] if str(e) else ''}") from None

    def pipeline(self, camera_id: str):
        raise NotFoundError(f"camera {camera_id!r} runs in a Ray actor; its packets are not in this process")

    def swap_model(self, profile: str, detector) -> None:
        """A new model for a profile: its bytes go to every group (or to the profile's detector actor)."""
        dcfg = next((d for p, d in self.loaded.config.detectors.items() if p == profile), None)
        spec = DetectorSpec.of(profile, detector, threads=dcfg.threads if dcfg is not None else 2)
        with self._lock:
            self._specs[profile] = spec
            if self._detectors.swap(spec):
                return
            for g in self._groups:
                if g.handle is not None and g.specs.get(profile) != spec.sha256:
                    g.handle.swap_model.remote(spec)
                    g.specs[profile] = spec.sha256

    def add_camera(self, camera_id: str, loaded: LoadedConfig | None = None) -> None:
        import ray

        if loaded is not None:
            self.loaded = loaded
        g = self._by_camera.get(camera_id)
        if g is None:
            raise NotFoundError(f"camera {camera_id!r} has no camera group; restart the service to place it")
        ray.get(g.handle.add_camera.remote(camera_id, self.loaded), timeout=60)

    def remove_camera(self, camera_id: str) -> None:
        import ray

        ray.get(self._group(camera_id).handle.remove_camera.remote(camera_id), timeout=60)

    def replace_camera(self, camera_id: str, loaded: LoadedConfig) -> None:
        """A camera edited from the UI: its group stops it (this recorder closes its open events with the footage
        that group's ring holds) and starts it again with `loaded` when enabled. A camera no group holds (added in
        the UI) is placed at the next restart; so is an edit after its group was restarted on another node."""
        import ray

        with self._lock:
            self.loaded = loaded
            g = self._by_camera.get(camera_id)
        if g is None or g.handle is None:
            log.warning("camera %s: no camera group holds it on the cluster; it runs from the next restart", camera_id)
            return
        try:
            ray.get(g.handle.remove_camera.remote(camera_id), timeout=60)
        except NotFoundError:
            pass  # it was not running there (disabled, or it could not start)
        self.recorder.close_camera(camera_id)
        cam = loaded.config.cameras.get(camera_id)
        if cam is not None and cam.enabled:
            ray.get(g.handle.add_camera.remote(camera_id, loaded), timeout=60)


def _wait_all(ray, refs: list, timeout: float) -> None:
    if not refs:
        return
    try:
        ray.wait(refs, num_returns=len(refs), timeout=timeout)
    except Exception:  # noqa: BLE001 - stopping: a dead actor must not hold the stop up
        log.warning("stopping camera groups: some did not answer")
