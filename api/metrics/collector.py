"""The scrape-time collector: reads the running supervisor's and outbox's own counters when Prometheus asks."""
from __future__ import annotations

import logging
from typing import Any, Callable, Iterable

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from streams.status import STATES, CameraStats, SupervisorStats
from vigil import __version__
from vigil.outbox import PARKED

log = logging.getLogger(__name__)
CAMERA = ["camera", "site"]


def _gauge(name: str, doc: str, labels: list[str] | None = None, *, value: float | None = None) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, value=value, labels=labels)


def _counter(name: str, doc: str, labels: list[str] | None = None, *,
             value: float | None = None) -> CounterMetricFamily:
    return CounterMetricFamily(name, doc, value=value, labels=labels)


# per camera: (name, help, kind, value of a CameraStats); counters are cumulative since the service started
CAMERA_SERIES: tuple[tuple[str, str, str, Callable[[CameraStats], float]], ...] = (
    ("vigil_camera_packets", "Packets read from the camera (rate: fps in)", "counter", lambda c: c.status.packets),
    ("vigil_camera_received_bytes", "Bytes read from the camera", "counter", lambda c: c.status.bytes),
    ("vigil_camera_frames_decoded", "Frames decoded (rate: fps decoded)", "counter", lambda c: c.status.decoded),
    ("vigil_camera_frames_emitted", "Frames handed to analysis at detect fps", "counter", lambda c: c.status.emitted),
    ("vigil_camera_frames_dropped", "Frames dropped at the hand-off to analysis (analysis too slow)", "counter",
     lambda c: c.status.dropped),
    ("vigil_camera_frames_analysed", "Frames analysed: motion gate, tracker and rules ran (rate: fps analysed)",
     "counter", lambda c: c.analysed),
    ("vigil_camera_frames_detected", "Analysed frames the detector saw", "counter", lambda c: c.detected),
    ("vigil_camera_frames_motion_skipped", "Analysed frames the motion gate kept from the detector", "counter",
     lambda c: c.analysed - c.detected),
    ("vigil_camera_reconnects", "Times the stream went to reconnecting", "counter", lambda c: c.status.reconnects),
    ("vigil_camera_thread_restarts", "Reader or analyzer threads the watchdog restarted", "counter",
     lambda c: c.restarts),
    ("vigil_camera_fps", "Frames handed to analysis per second, over the last 10 s", "gauge", lambda c: c.status.fps),
    ("vigil_camera_lag_seconds", "Decode to rules done, of the latest analysed frame", "gauge", lambda c: c.lag_s),
    ("vigil_camera_motion_skip_ratio", "Share of analysed frames the motion gate skipped, since start", "gauge",
     lambda c: (c.analysed - c.detected) / c.analysed if c.analysed else 0.0),
    ("vigil_camera_queue_depth", "Decoded frames waiting for analysis", "gauge", lambda c: c.queued),
    ("vigil_camera_buffer_bytes", "Bytes in the camera's packet ring buffer (pre-roll)", "gauge",
     lambda c: c.status.buffer_bytes),
    ("vigil_camera_buffer_seconds", "Seconds of footage in the packet ring buffer", "gauge",
     lambda c: c.status.buffer_s),
)


def camera_families(stats: SupervisorStats) -> Iterable[Metric]:
    state = _gauge("vigil_camera_state", "1 for the camera's current stream state, 0 for the others",
                   CAMERA + ["state"])
    since = _gauge("vigil_camera_state_since_timestamp_seconds", "When the camera entered its current state (UTC)",
                   CAMERA)
    families = [((_counter if kind == "counter" else _gauge)(name, doc, CAMERA), fn)
                for name, doc, kind, fn in CAMERA_SERIES]
    for cam in stats.cameras:
        labels = [cam.status.camera_id, cam.site_id]
        for s in STATES:
            state.add_metric(labels + [s], 1.0 if cam.status.state == s else 0.0)
        since.add_metric(labels, cam.status.since.timestamp())
        for family, fn in families:
            family.add_metric(labels, float(fn(cam)))
    yield state
    yield since
    yield from (family for family, _ in families)


def detector_families(stats: SupervisorStats) -> Iterable[Metric]:
    failures = _counter("vigil_detector_failures", "Inferences that raised (their frames were not detected)",
                        ["profile"])
    depth = _gauge("vigil_detector_queue_depth", "Frames waiting for the profile's detector", ["profile"])
    for d in stats.detectors:
        failures.add_metric([d.profile], d.failures)
        depth.add_metric([d.profile], d.pending)
    yield failures
    yield depth


def alert_families(stats: SupervisorStats) -> Iterable[Metric]:
    alerts = _counter("vigil_alerts", "Events a rule confirmed (one alert each), by rule and site", ["rule", "site"])
    for rule, site, n in stats.alerts:
        alerts.add_metric([rule, site], n)
    yield alerts
    yield _gauge("vigil_events_open", "Events open now (alert ongoing)", value=stats.open_events)
    yield _counter("vigil_recorder_errors", "Event phases the recorder failed to write (retried next phase)",
                   value=stats.recorder_errors)


def outbox_families(runtime: Any) -> Iterable[Metric]:
    outbox = runtime.outbox
    jobs = _gauge("vigil_outbox_jobs", "Jobs waiting in the durable outbox, by lane (parked: given up on until "
                  "retried)", ["lane", "parked"])
    nbytes = _gauge("vigil_outbox_bytes", "Bytes queued in the outbox, by lane", ["lane", "parked"])
    oldest = _gauge("vigil_outbox_oldest_job_age_seconds", "Age of the oldest waiting job, by lane",
                    ["lane", "parked"])
    attempts = _gauge("vigil_outbox_head_attempts", "Failed attempts of the job at the head of the lane",
                      ["lane", "parked"])
    for st in outbox.stats():
        parked = st.lane.startswith(PARKED)
        labels = [st.lane.removeprefix(PARKED), "true" if parked else "false"]
        jobs.add_metric(labels, st.jobs)
        nbytes.add_metric(labels, st.bytes)
        oldest.add_metric(labels, st.oldest_age_s)
        attempts.add_metric(labels, st.attempts)
    yield from (jobs, nbytes, oldest, attempts)
    yield _gauge("vigil_outbox_max_bytes", "The outbox's bound (reliability.outbox_max_mb)", value=outbox.max_bytes)
    yield _counter("vigil_outbox_refused", "Jobs refused because the outbox was full", value=outbox.refused)
    yield _counter("vigil_evidence_refused", "Evidence revisions dropped because the outbox was full",
                   value=runtime.sink.evidence_refused)


class RuntimeCollector(Collector):
    """Registered once per app; each scrape reads `runtime_of()` (None: the app runs without cameras)."""

    def __init__(self, runtime_of: Callable[[], Any]):
        self._runtime_of = runtime_of

    def collect(self) -> Iterable[Metric]:
        info = _gauge("vigil_build_info", "Always 1; the running Vigil's version", ["version"])
        info.add_metric([__version__], 1.0)
        yield info
        runtime = self._runtime_of()
        yield _gauge("vigil_runtime_up", "1 while the camera runtime runs in this process",
                     value=int(runtime is not None))
        if runtime is None:
            return
        stats = runtime.supervisor.stats()
        yield from camera_families(stats)
        yield from detector_families(stats)
        yield from alert_families(stats)
        try:
            yield from outbox_families(runtime)
        except Exception as e:  # noqa: BLE001 - the outbox closed mid-scrape (stopping): the rest still answers
            log.debug("metrics: outbox not readable (%s)", type(e).__name__)
