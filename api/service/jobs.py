"""The training service in the API: the job runner (progress on the event bus) and background dataset builds."""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from vigil.errors import NotFoundError, VigilError
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
    """One dataset build started from the API, as its row in `dataset_builds` reads."""

    id: int
    profile: str
    status: str  # running | done | failed | cancelled
    stage: str
    items: int
    version: dict | None
    error: str
    created_by: str
    started_at: datetime
    finished_at: datetime | None = None
    pid: int | None = None

    @classmethod
    def of(cls, row) -> "BuildState":
        return cls(row.id, row.profile, row.status, row.stage, row.items, row.version, row.error, row.created_by,
                   row.started_at, row.finished_at, row.pid)

    def as_dict(self) -> dict:
        return {"id": self.id, "profile": self.profile, "status": self.status, "stage": self.stage,
                "items": self.items, "version": self.version, "error": self.error, "created_by": self.created_by,
                "started_at": iso_utc(self.started_at),
                "finished_at": iso_utc(self.finished_at) if self.finished_at else None, "pid": self.pid}


BUILD_INTERRUPTED = "interrupted: the server stopped before the build finished; request it again"


def version_dict(v) -> dict:
    """A `datasets.versions.VersionInfo` as JSON."""
    return {"id": v.id, "name": v.name, "profile": v.profile, "content_hash": v.content_hash, "stats": v.stats,
            "sources": v.sources, "parent": v.parent, "created_by": v.created_by,
            "created_at": iso_utc(v.created_at), "created": v.created}


class DatasetBuilds:
    """Dataset versions built in worker processes, one at a time, each with a pollable state kept in the database
    (`dataset_builds`: a restart keeps the list, and fails the builds it interrupted); `cancel` stops a build's
    worker (SIGTERM: it removes what it half wrote; SIGKILL after `kill_grace_s`)."""

    def __init__(self, services, *, kill_grace_s: float = 5.0):
        self.services, self.kill_grace_s = services, kill_grace_s
        self._lock = threading.Lock()
        self._build_lock = threading.Lock()
        self._done: dict[int, threading.Event] = {}
        self._cancel: dict[int, threading.Event] = {}
        self._stopping = threading.Event()
        self._workers: dict[int, Any] = {}
        self.recovered = self._recover()

    def _recover(self) -> int:
        """Builds a previous server left running (their workers ended with it): failed, saying so."""
        from sqlalchemy import update

        from vigil.db.models import DatasetBuild

        with self.services.sessions() as s:
            n = s.execute(update(DatasetBuild).where(DatasetBuild.status == "running").values(
                status="failed", error=BUILD_INTERRUPTED, finished_at=utcnow())).rowcount
            s.commit()
        if n:
            log.warning("%d dataset build(s) were interrupted by the last stop; marked failed", n)
        return n

    def start(self, spec) -> BuildState:
        """Start building `spec` (a `datasets.versions.BuildSpec`); returns its first state at once."""
        from vigil.db.models import DatasetBuild

        with self.services.sessions() as s:
            row = DatasetBuild(profile=spec.profile, status="running", stage="queued", items=0, error="",
                               created_by=spec.created_by or "", started_at=utcnow())
            s.add(row)
            s.commit()
            state = BuildState.of(row)
        with self._lock:
            self._done[state.id] = threading.Event()
            self._cancel[state.id] = threading.Event()
        threading.Thread(target=self._run, args=(state.id, spec), name=f"dataset-build-{state.id}",
                         daemon=True).start()
        return state

    def _set(self, build_id: int, **changes) -> None:
        from sqlalchemy import update

        from vigil.db.models import DatasetBuild

        with self.services.sessions() as s:
            s.execute(update(DatasetBuild).where(DatasetBuild.id == build_id).values(**changes))
            s.commit()

    def _run(self, build_id: int, spec) -> None:
        from datasets.build_worker import BuildOutcome
        from vigil import audit

        s = self.services
        try:
            outcome = self._build(build_id, spec)
        except Exception as e:  # a build's boundary (the worker could not start): record why for the poller
            log.exception("dataset build %s failed", build_id)
            outcome = BuildOutcome("failed", error=redact_text(f"{type(e).__name__}: {e}")[:2000])
        try:
            if outcome.status == "done":
                version = outcome.version
                audit.record(s.sessions, spec.created_by or "system", "dataset.build", "dataset", str(version.id),
                             {"name": version.name, "created": version.created, "sources": version.sources})
                self._set(build_id, status="done", stage="done", version=version_dict(version),
                          finished_at=utcnow())
            else:
                self._set(build_id, status=outcome.status, error=outcome.error, finished_at=utcnow())
        finally:
            self._done[build_id].set()

    def _build(self, build_id: int, spec):
        """Wait for the build lock, run the build's worker, relay its progress; the worker's outcome, or why
        there is none."""
        from datasets.build_worker import BuildOutcome, BuildProgress, work_on_build
        from vigil.worker_process import WorkerContext, WorkerProcess

        cancel = self._cancel[build_id]
        while not self._build_lock.acquire(timeout=0.2):
            if cancel.is_set() or self._stopping.is_set():
                return self._unfinished(cancel, " before it started")
        try:
            if cancel.is_set() or self._stopping.is_set():
                return self._unfinished(cancel, " before it started")
            s = self.services
            worker = WorkerProcess(work_on_build, WorkerContext.of(s.sessions, s.data_dir, f"dataset build {build_id}"),
                                   s.store, spec)
            self._workers[build_id] = worker
            worker.start()
            self._set(build_id, pid=worker.pid)
            outcome = None
            while True:
                alive = worker.alive()
                for msg in worker.poll(0.5) if alive else worker.drain():
                    if isinstance(msg, BuildProgress):
                        self._set(build_id, stage=msg.stage, items=msg.items)
                    elif isinstance(msg, BuildOutcome):
                        outcome = msg
                if not alive:
                    break
                if cancel.is_set() or self._stopping.is_set():
                    worker.stop(self.kill_grace_s)
            ended = worker.join(self.kill_grace_s)
        finally:
            self._workers.pop(build_id, None)
            self._build_lock.release()
        if outcome is not None and (outcome.status != "cancelled" or cancel.is_set()):
            return outcome  # done, failed, or cancelled cleanly (what it half wrote removed)
        if outcome is None and not ended.stopped:
            return BuildOutcome("failed", error=f"its worker process (pid {ended.pid}) {ended.describe()} "
                                                f"before the build finished")
        # stopped: cleanly (it said so, having removed what it half wrote), or killed after the grace
        return self._unfinished(cancel, "" if outcome is not None else f" (its worker process {ended.describe()})")

    def _unfinished(self, cancel: threading.Event, how: str):
        from datasets.build_worker import BuildOutcome

        if cancel.is_set():
            return BuildOutcome("cancelled", error=f"cancelled{how}")
        return BuildOutcome("failed", error=f"interrupted: the server shut down{how}; request it again")

    def cancel(self, build_id: int) -> BuildState:
        """Ask a queued or running build to stop (its worker is terminated); `wait` for its end."""
        state = self.get(build_id)
        with self._lock:
            flag = self._cancel.get(build_id)
        if state is None:
            raise NotFoundError(f"dataset build {build_id} not found")
        if state.status != "running" or flag is None:
            raise VigilError(f"dataset build {build_id} is {state.status}; only a running build can be cancelled")
        flag.set()
        return state

    def worker_pids(self) -> dict[int, int]:
        """{build id: worker pid} of the builds running now."""
        return {bid: w.pid for bid, w in list(self._workers.items()) if w.pid is not None}

    def stop(self, timeout: float = 10.0) -> None:
        """Stop every build (their workers are terminated; they end failed, interrupted by the shutdown)."""
        self._stopping.set()
        with self._lock:
            pending = [e for e in self._done.values() if not e.is_set()]
        deadline = time.monotonic() + max(timeout, self.kill_grace_s + 5)
        for done in pending:
            done.wait(max(0.0, deadline - time.monotonic()))

    def get(self, build_id: int) -> BuildState | None:
        from vigil.db.models import DatasetBuild

        with self.services.sessions() as s:
            row = s.get(DatasetBuild, build_id)
            return BuildState.of(row) if row is not None else None

    def list(self) -> list[BuildState]:
        """The newest MAX_BUILDS_KEPT builds, newest first."""
        from sqlalchemy import select

        from vigil.db.models import DatasetBuild

        with self.services.sessions() as s:
            rows = s.scalars(select(DatasetBuild).order_by(DatasetBuild.id.desc()).limit(MAX_BUILDS_KEPT)).all()
            return [BuildState.of(r) for r in rows]

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
        """Stop taking jobs and builds; running ones are stopped and end failed, interrupted by the shutdown."""
        self.runner.stop(timeout)
        self.builds.stop(timeout)


def start_jobs(services, *, poll_s: float = 2.0) -> JobService:
    """Start a `JobRunner` for `services` (`training.max_concurrent_jobs` at a time) publishing `job.progress`."""
    from training.compare import policy_and_options
    from training.jobs import JobRunner

    ensure_bus(services)
    cfg = services.loaded.config.training
    _policy, options = policy_and_options(services.loaded)
    runner = JobRunner(services.sessions, services.data_dir, max_concurrent=cfg.max_concurrent_jobs, poll_s=poll_s,
                       options=options, on_progress=lambda job: publish_job(services, job),
                       cancel_grace_s=cfg.cancel_grace_s, kill_grace_s=cfg.kill_grace_s)
    runner.start()
    return JobService(services, runner, DatasetBuilds(services, kill_grace_s=cfg.kill_grace_s))
