"""The training service in the API: the job runner (progress on the event bus) and background dataset builds."""
from __future__ import annotations

import itertools
import logging
import threading
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from vigil.errors import VigilError
from vigil.redact import redact_text
from vigil.types import iso_utc, utcnow

log = logging.getLogger(__name__)
MAX_BUILDS_KEPT = 50


def ensure_bus(services) -> Any:
    """The live-update bus, created when none exists yet (as the routes do); a camera runtime may replace it."""
    if services.events is None:
        from api.service.events import EventBus

        services.events = EventBus()
    return services.events


def job_payload(job) -> dict:
    """A `job.progress` event for a training job (a `training.jobs.JobRecord`)."""
    metrics = job.metrics or {}
    latest = metrics.get("latest") or {}
    return {"id": job.id, "status": job.status, "profile": job.profile, "dataset_version": job.dataset_version,
            "epoch": job.epoch, "epochs": job.epochs, "latest": latest, "error": job.error,
            "model_version_id": job.model_version_id,
            "model": metrics.get("model") if job.status == "done" else None}


def publish_job(services, job) -> None:
    """Publish on the bus the service uses now (the camera runtime may have swapped it); never raises."""
    bus = services.events
    if bus is None:
        return
    try:
        bus.publish("job.progress", job_payload(job))
    except Exception:  # noqa: BLE001 - progress reporting must never fail a training job
        log.exception("job.progress: could not publish job %s", job.id)


@dataclass(frozen=True)
class BuildState:
    """One dataset build started from the API; replaced (never mutated) as it advances."""

    id: int
    profile: str
    status: str  # running | done | failed
    stage: str
    items: int
    version: dict | None
    error: str
    created_by: str
    started_at: datetime
    finished_at: datetime | None = None

    def as_dict(self) -> dict:
        return {"id": self.id, "profile": self.profile, "status": self.status, "stage": self.stage,
                "items": self.items, "version": self.version, "error": self.error, "created_by": self.created_by,
                "started_at": iso_utc(self.started_at),
                "finished_at": iso_utc(self.finished_at) if self.finished_at else None}


def version_dict(v) -> dict:
    """A `datasets.versions.VersionInfo` as JSON."""
    return {"id": v.id, "name": v.name, "profile": v.profile, "content_hash": v.content_hash, "stats": v.stats,
            "sources": v.sources, "parent": v.parent, "created_by": v.created_by,
            "created_at": iso_utc(v.created_at), "created": v.created}


class DatasetBuilds:
    """Dataset versions built on background threads, one at a time (a lock), with a pollable state each."""

    def __init__(self, services):
        self.services = services
        self._lock = threading.Lock()
        self._build_lock = threading.Lock()
        self._states: dict[int, BuildState] = {}
        self._ids = itertools.count(1)
        self._done: dict[int, threading.Event] = {}

    def start(self, spec) -> BuildState:
        """Start building `spec` (a `datasets.versions.BuildSpec`); returns its first state at once."""
        state = BuildState(next(self._ids), spec.profile, "running", "queued", 0, None, "", spec.created_by, utcnow())
        with self._lock:
            self._states[state.id] = state
            self._done[state.id] = threading.Event()
            for old in sorted(self._states)[:-MAX_BUILDS_KEPT]:
                if self._states[old].status != "running":
                    self._states.pop(old)
                    self._done.pop(old, None)
        threading.Thread(target=self._run, args=(state.id, spec), name=f"dataset-build-{state.id}",
                         daemon=True).start()
        return state

    def _set(self, build_id: int, **changes) -> None:
        with self._lock:
            self._states[build_id] = replace(self._states[build_id], **changes)

    def _run(self, build_id: int, spec) -> None:
        from datasets.versions import build_dataset
        from vigil import audit

        counts: dict[str, int] = {}

        def progress(stage: str, n: int) -> None:
            counts[stage] = counts.get(stage, 0) + n
            self._set(build_id, stage=stage, items=counts[stage])

        s = self.services
        try:
            with self._build_lock:
                self._set(build_id, stage="gathering")
                version = build_dataset(s.sessions, s.store, s.data_dir, spec, progress)
            audit.record(s.sessions, spec.created_by or "system", "dataset.build", "dataset", str(version.id),
                         {"name": version.name, "created": version.created, "sources": version.sources})
            self._set(build_id, status="done", stage="done", version=version_dict(version), finished_at=utcnow())
        except Exception as e:  # a build's boundary: record why for the poller
            log.exception("dataset build %s failed", build_id)
            msg = str(e) if isinstance(e, VigilError) else f"{type(e).__name__}: {e}"
            self._set(build_id, status="failed", error=redact_text(msg)[:2000], finished_at=utcnow())
        finally:
            self._done[build_id].set()

    def get(self, build_id: int) -> BuildState | None:
        with self._lock:
            return self._states.get(build_id)

    def list(self) -> list[BuildState]:
        with self._lock:
            return sorted(self._states.values(), key=lambda b: b.id, reverse=True)

    def wait(self, build_id: int, timeout: float) -> BuildState | None:
        """The state after the build finished or `timeout` seconds passed."""
        with self._lock:
            done = self._done.get(build_id)
        if done is not None:
            done.wait(timeout)
        return self.get(build_id)


class JobService:
    """What the app's lifespan starts: the training job runner and the dataset builds; `stop()` on shutdown."""

    def __init__(self, services, runner, builds: DatasetBuilds):
        self.services, self.runner, self.builds = services, runner, builds

    def submitted(self, job) -> None:
        """Announce a queued, cancelling or cancelled job and let the runner look for a queued one now."""
        publish_job(self.services, job)
        if job.status == "queued":
            self.runner.wake()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop taking jobs; a job already training finishes on its daemon thread (unless cancelled)."""
        self.runner.stop(timeout)


def start_jobs(services, *, poll_s: float = 2.0) -> JobService:
    """Start a `JobRunner` for `services` (`training.max_concurrent_jobs` at a time) publishing `job.progress`."""
    from training.compare import policy_and_options
    from training.jobs import JobRunner

    ensure_bus(services)
    cfg = services.loaded.config.training
    _policy, options = policy_and_options(services.loaded)
    runner = JobRunner(services.sessions, services.data_dir, max_concurrent=cfg.max_concurrent_jobs, poll_s=poll_s,
                       options=options, on_progress=lambda job: publish_job(services, job))
    runner.start()
    return JobService(services, runner, DatasetBuilds(services))
