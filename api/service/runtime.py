"""The camera runtime: stream supervisor + evidence sink + notifier + live event bus + model hot reload."""
from __future__ import annotations

import dataclasses
import logging
import threading
from typing import TYPE_CHECKING, Any, Mapping

from api.notify.factory import alert_message, make_notifier
from api.problems import problem_identity
from api.service.alerts_db import OutboxAlertSink
from api.service.events import EventBus
from api.service.sources import detectors_at_start, make_resolver, resolve_file_sources
from streams.recorder import RecorderConfig
from vigil.outbox import Backoff, Outbox
from vigil.types import iso_utc

if TYPE_CHECKING:
    from api.cluster.connect import ClusterOptions
    from api.metrics import VigilMetrics
    from api.service.recording import Recording

log = logging.getLogger(__name__)
MODEL_CHECK_S = 2.0
AUDIT_CHECKPOINT_S = 60.0
RETENTION_S = 600.0
RECORDING_CHECK_S = 2.0  # cameras that record are tapped (again after a restart of their pipeline)
RECORDING_RETAIN_S = 60.0
HEALTH_CHECK_S = 2.0  # camera health notifications; pending deliveries marked by the CLI are picked up


def status_payload(status) -> dict:
    d = dataclasses.asdict(status)
    d["since"] = iso_utc(status.since)
    return d


class Runtime:
    """What `start_runtime` returns; the app keeps it in `app.state.runtime`."""

    def __init__(self, services, supervisor, events: EventBus, sink: OutboxAlertSink, notifier, watcher=None):
        self.services = services
        self.supervisor = supervisor
        self.events = events
        self.sink = sink
        self.outbox: Outbox = sink.outbox
        self.notifier = notifier
        self.watcher = watcher
        self.started = threading.Event()  # the supervisor is running (demo scenes rendered, cameras added)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._logged: set[str] = set()  # health problems last written to the log
        self.lock_problem: str | None = None  # the instance lock lost (another instance took it after a restart)
        self.recording: Recording | None = None  # continuous recording and its retention
        self.sampling: Any = None  # active learning (api.service.sampling) when enabled

    def _spawn(self, target, name: str) -> None:
        t = threading.Thread(target=target, name=name, daemon=True)
        self._threads.append(t)
        t.start()

    def _start_supervisor(self) -> None:
        try:
            self.supervisor.start()
        except Exception:  # noqa: BLE001 - a camera that cannot start must not take the API down; say why
            log.exception("camera runtime: the stream supervisor failed to start")
            return
        self.started.set()

    def _watch_models(self) -> None:
        while not self._stop.wait(MODEL_CHECK_S):
            try:
                self.watcher.check()
            except Exception:  # noqa: BLE001 - the watcher's boundary: keep checking
                log.exception("model watch: check failed")

    def _checkpoint_audit(self) -> None:
        """The audit chain's head, signed, into the evidence store every minute it moved (and at stop)."""
        from vigil.audit import checkpoint

        while True:
            stopping = self._stop.wait(AUDIT_CHECKPOINT_S)
            try:
                checkpoint(self.services.sessions, self.services.store, self.services.signer)
            except Exception as e:  # noqa: BLE001 - database or store down: the next minute tries again
                log.warning("audit checkpoint failed: %s", str(e).splitlines()[0] if str(e) else type(e).__name__)
            if stopping:
                return

    def _retention(self) -> None:
        from api.service.retention import run_retention

        while True:
            try:
                run_retention(self.services)
            except Exception:  # noqa: BLE001 - the next pass tries again
                log.exception("evidence retention pass failed")
            if self._stop.wait(RETENTION_S):
                return

    def _record(self) -> None:
        ticks = 0
        while self.recording is not None and not self._stop.wait(RECORDING_CHECK_S):
            try:
                if self.started.is_set():
                    self.recording.attach()
                if ticks % int(RECORDING_RETAIN_S / RECORDING_CHECK_S) == 0:
                    self.recording.retain()
            except Exception:  # noqa: BLE001 - the recorder's watch: keep watching
                log.exception("recording watch failed")
            ticks += 1

    def _watch_health(self) -> None:
        from api.service.camera_watch import CameraWatch

        cfg = self.services.loaded.config
        watch = CameraWatch(cfg.reliability.camera_down_notify_s, {c: cam.site for c, cam in cfg.cameras.items()},
                            self.notifier.record)
        ticks = 0
        while not self._stop.wait(HEALTH_CHECK_S):
            ticks += 1
            try:
                if self.started.is_set():
                    watch.sites = {c: cam.site for c, cam in self.services.loaded.config.cameras.items()}  # UI edits
                    watch.check(self.supervisor.status())
                if ticks % 5 == 0:
                    self.notifier.resume()
                    self._check_lock()
                if ticks % 15 == 0:
                    self._log_problems()
            except Exception:  # noqa: BLE001 - the watcher's boundary: keep watching
                log.exception("health watch failed")

    def _log_problems(self) -> None:
        """Disk under the watermark, outbox filling or waiting: said in the log too, once per change."""
        from api.app import health

        body, _ = health(self.services, self)
        # camera states are logged by their pipeline; a problem is "the same" while only its figures or its error
        # text change: its code and the names it concerns (disk, lane, camera) identify it
        shown = {problem_identity(p): p["text"] for p in body["problem_details"] if p["code"] != "camera"}
        for key in sorted(shown.keys() - self._logged):
            log.warning("health: %s", shown[key])
        for key in sorted(self._logged - shown.keys()):
            log.info("health: resolved: %s", key)
        self._logged = set(shown)

    def _check_lock(self) -> None:
        lock = getattr(self.services, "instance_lock", None)
        problem = lock.check() if lock is not None else None
        if problem and problem != self.lock_problem:
            log.error("%s", problem)
        self.lock_problem = problem

    def camera_states(self):
        return self.supervisor.status()

    def latest(self, camera_id: str):
        return self.supervisor.latest(camera_id)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop watching models, stop every camera (evidence workers finish), then the notifier."""
        self._stop.set()
        for t in self._threads:
            t.join(timeout * 6)  # the start thread may be rendering a demo scene
        self.supervisor.stop(timeout)  # open events are closed with what the ring holds, queued in the outbox
        if self.recording is not None:
            self.recording.stop()  # the segments being cut are written
        if not self.outbox.wait_idle(timeout):
            log.warning("stopping with %d outbox job(s) left; they run at the next start", self.outbox.pending())
        self.outbox.close()
        self.notifier.stop()
        if self.services.events is self.events:
            self.services.events = None


def _watcher(services, swap):
    try:
        from api.service.model_watch import ModelWatcher
    except ImportError as e:
        log.info("model hot reload unavailable (%s)", e)
        return None
    return ModelWatcher(services, swap)


def open_outbox(services, backoff: Backoff | None = None) -> Outbox:
    """The durable outbox under data_dir (bounded by `reliability.outbox_max_mb`)."""
    rel = services.loaded.config.reliability
    return Outbox(services.data_dir / "outbox" / "outbox.sqlite", max_bytes=rel.outbox_max_mb << 20,
                  backoff=backoff or Backoff(rel.retry_base_s, rel.retry_cap_s))


def start_runtime(services, *, detectors: Mapping | None = None,
                  recorder_config: RecorderConfig = RecorderConfig(),
                  pipeline_overrides: Mapping[str, object] | None = None, watch_models: bool = True,
                  events: EventBus | None = None, backoff: Backoff | None = None,
                  metrics: VigilMetrics | None = None, cluster: ClusterOptions | None = None) -> Runtime:
    """Build and start the camera service for `services`; returns at once (cameras start on a thread).

    `detectors` (profile -> Detector) replaces the promoted/configured models (tests, benches); `events` lets a
    caller subscribe before the first camera reports; `metrics` (the app's) observes detector batches and outbox
    jobs. Work a crash or stop left in the outbox runs first, then
    alerts left `ongoing` are closed. `cluster` (`vigil serve --ray`) runs the cameras as Ray actors
    (api.cluster.fleet), `server.camera_processes` > 1 in child processes (api.cluster.procs), while the event's
    life, the outbox and everything else stay in this process.
    """
    from streams.supervisor import Supervisor

    bus = events or EventBus()
    notifier = make_notifier(services)
    outbox = open_outbox(services, backoff)
    from api.ops.grade_policy import GradedNotifier

    graded = GradedNotifier(services, notifier)  # the site's grade: live, high priority, or the daily digest
    sink = OutboxAlertSink(services.sessions, services.store, outbox, publish=bus.publish,
                           notify=lambda alert: graded.notify(alert_message("alert.new", alert, services)))
    sink.recover()
    outbox.start(metrics.observed_lanes(sink.handlers()) if metrics is not None else sink.handlers())
    loaded = resolve_file_sources(services.loaded)
    on_state = lambda st: bus.publish("camera.state", status_payload(st))  # noqa: E731
    if cluster is not None:
        from api.cluster.fleet import RayFleet

        supervisor: Any = RayFleet(loaded, cluster, alert_sink=sink, signer=services.signer,
                                   recorder_config=recorder_config, on_state=on_state,
                                   pipeline_overrides=pipeline_overrides)
        for profile, detector in (detectors or {}).items():
            supervisor.swap_model(profile, detector)
    elif (processes := camera_processes(loaded)) > 1:
        from api.cluster.procs import ProcessFleet

        supervisor = ProcessFleet(loaded, processes, alert_sink=sink, signer=services.signer,
                                  recorder_config=recorder_config, on_state=on_state,
                                  pipeline_overrides=pipeline_overrides)
        for profile, detector in (detectors or {}).items():
            supervisor.swap_model(profile, detector)
    else:
        supervisor = Supervisor(loaded, alert_sink=sink, signer=services.signer, recorder_config=recorder_config,
                                resolve_source=make_resolver(services), detectors=dict(detectors or {}),
                                on_state=on_state, pipeline_overrides=pipeline_overrides, batch_observer=metrics)
    watcher = _watcher(services, supervisor.swap_model) if watch_models else None
    if detectors is None:  # the promoted model per profile, else the config's
        for profile, detector in detectors_at_start(services, watcher).items():
            supervisor.swap_model(profile, detector)
    services.events = bus
    runtime = Runtime(services, supervisor, bus, sink, notifier.start(), watcher)
    try:
        notifier.resume()  # deliveries left pending by the last run
    except Exception:  # noqa: BLE001 - the database may be down; the deliveries stay pending for the next start
        log.exception("notifications: could not resume pending deliveries")
    runtime._spawn(runtime._start_supervisor, "vigil-runtime-start")
    runtime._spawn(lambda: enforcement_loop(services, notifier, runtime._stop), "vigil-enforcement")
    runtime._spawn(runtime._checkpoint_audit, "vigil-audit-checkpoint")
    runtime._spawn(runtime._retention, "vigil-retention")
    runtime._spawn(runtime._watch_health, "vigil-health-watch")
    from api.service.recording import Recording

    runtime.recording = Recording(services, supervisor).start()
    runtime._spawn(runtime._record, "vigil-recording-watch")
    if services.loaded.config.active_learning.enabled:
        from api.service.sampling import ActiveSampling
        runtime.sampling = ActiveSampling(services, supervisor, runtime._stop)
        runtime._spawn(runtime.sampling.run, "vigil-active-learning")
    if watcher is not None:
        runtime._spawn(runtime._watch_models, "vigil-model-watch")
    return runtime


def camera_processes(loaded) -> int:
    """How many processes run the cameras (`server.camera_processes`); `auto` keeps one while a camera records
    continuously (its packets must reach this process's recorder)."""
    from api.cluster.procs import resolve_processes

    cfg = loaded.config
    enabled = [cam for cam in cfg.cameras.values() if cam.enabled]
    setting = cfg.server.camera_processes
    recording = [cid for cid, cam in cfg.cameras.items() if cam.enabled and cam.record.continuous]
    if setting == "auto" and recording:
        return 1
    n = resolve_processes(setting, len(enabled))
    if n > 1 and recording:
        log.warning("server.camera_processes: %d processes; continuous recording is unavailable in them, so "
                    "camera(s) %s record nothing (set camera_processes: 1 to record)", n, ", ".join(recording))
    return n


ENFORCEMENT_CHECK_S = 60.0


def enforcement_loop(services, notifier, stop: threading.Event, every_s: float = ENFORCEMENT_CHECK_S) -> None:
    """Every minute: send the daily digest when due, escalate overdue rectification notices."""
    from api.ops.grade_policy import DigestClock, flush_digest
    from api.ops.rectification import escalate_overdue
    from vigil.types import utcnow

    clock = DigestClock(services.loaded.config.grading.digest_hour_utc)
    while not stop.wait(every_s):
        try:
            now = utcnow()
            if clock.due(now):
                flush_digest(services, notifier, now)
            items = escalate_overdue(services, now)
            for item in items:
                notifier.notify(item)
            if items:
                notifier.resume()  # the escalation e-mails queued in the outbox
        except Exception:  # noqa: BLE001 - the loop's boundary: try again next minute
            log.exception("enforcement loop: digest or escalation failed")
