"""Prometheus metrics (prometheus-client): the app's own registry, the histograms the pipeline feeds, the body.

Counters and gauges the pipeline already keeps (camera states and frame counts, batcher queues, the recorder's
events, the outbox's depth) are read at scrape time by `RuntimeCollector`; only what must accumulate as it
happens (detector latency and batch size, outbox job latency and failures) is observed here, through the ports
the pipeline takes at construction (`vision.batcher.BatchObserver`, the outbox's lane handlers).
"""
from __future__ import annotations

import dataclasses
import time
from typing import Any, Callable, Mapping

from prometheus_client import CollectorRegistry, Counter, Histogram, ProcessCollector
from prometheus_client.exposition import choose_encoder

from api.metrics.collector import RuntimeCollector
from vigil.errors import ConfigError
from vigil.outbox import Handler, Job, Lane

LATENCY_BUCKETS = (0.005, 0.01, 0.02, 0.035, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0)
BATCH_BUCKETS = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64)
JOB_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class VigilMetrics:
    """One per app (no global registry: two apps in one process do not collide)."""

    def __init__(self, runtime_of: Callable[[], Any]):
        self.registry = CollectorRegistry(auto_describe=True)
        self.detector_latency = Histogram(
            "vigil_detector_latency_seconds", "One inference of a batch of frames, by detector profile",
            ["profile"], buckets=LATENCY_BUCKETS, registry=self.registry)
        self.batch_size = Histogram("vigil_detector_batch_size", "Frames per inference, by detector profile",
                                    ["profile"], buckets=BATCH_BUCKETS, registry=self.registry)
        self.job_latency = Histogram(
            "vigil_outbox_job_seconds", "One outbox job done: lane store, kind evidence.put is an evidence write "
            "into the store; lane db is an alert row write", ["lane", "kind"], buckets=JOB_BUCKETS,
            registry=self.registry)
        self.job_failures = Counter(
            "vigil_outbox_job_failures", "Failed outbox job attempts (retried): lane store counts evidence store "
            "errors, lane db database errors", ["lane", "kind", "error"], registry=self.registry)
        self.registry.register(RuntimeCollector(runtime_of))
        ProcessCollector(registry=self.registry)  # CPU seconds, resident memory, open files of this process

    # -- vision.batcher.BatchObserver --------------------------------------------------------------------------
    def batch_done(self, name: str, frames: int, seconds: float) -> None:
        self.detector_latency.labels(name).observe(seconds)
        self.batch_size.labels(name).observe(frames)

    # -- the outbox's lanes ------------------------------------------------------------------------------------
    def observed_lanes(self, lanes: Mapping[str, Lane]) -> dict[str, Lane]:
        """The same lanes, each handler timed and its failures counted (the error class, never its message)."""
        return {lane: dataclasses.replace(spec, handlers={kind: self._timed(lane, kind, h)
                                                          for kind, h in spec.handlers.items()})
                for lane, spec in lanes.items()}

    def _timed(self, lane: str, kind: str, handler: Handler) -> Handler:
        latency = self.job_latency.labels(lane, kind)

        def run(job: Job) -> None:
            t0 = time.perf_counter()
            try:
                handler(job)
            except Exception as e:
                self.job_failures.labels(lane, kind, type(e).__name__).inc()
                raise
            latency.observe(time.perf_counter() - t0)

        return run

    # -- the body ----------------------------------------------------------------------------------------------
    def render(self, accept: str | None) -> tuple[bytes, str]:
        """The exposition in the format the scraper asked for (Prometheus text, or OpenMetrics), and its type."""
        encoder, content_type = choose_encoder(accept or "")
        return encoder(self.registry), content_type


class MetricsListener:
    """`server.metrics.listen`: a listener of its own serving only the exposition (prometheus_client's WSGI
    server on its thread), so a scraper on a management network needs no token and no route to the API."""

    def __init__(self, metrics: VigilMetrics, listen: str):
        from prometheus_client import start_wsgi_server

        host, _, port = listen.rpartition(":")
        host = host.strip("[]")
        try:
            self._httpd, self._thread = start_wsgi_server(int(port), addr=host, registry=metrics.registry)
        except OSError as e:
            raise ConfigError(f"server.metrics.listen: could not listen on {listen} ({e.strerror or e})") from None
        self.address = f"{host}:{self._httpd.server_port}"

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(5)
