"""Training jobs: a queue in the `training_jobs` table and a background runner (one job at a time by default)."""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Callable

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from datasets.versions import get_version
from training.compare import compare
from training.evaluate import EvalOptions
from training.registry import promoted_model, register_model, weights_of
from training.trainer import TrainingCancelled, TrainParams, train_and_export
from vigil.db.models import DatasetVersion, TrainingJob
from vigil.errors import NotFoundError, TrainingError, VigilError
from vigil.redact import redact_text
from vigil.types import utcnow
from vigil.worker_process import Send, WorkerContext, WorkerExit, WorkerProcess

log = logging.getLogger(__name__)
ProgressCallback = Callable[["JobRecord"], None]
# queued -> running -> registering -> done; running -> cancelling -> cancelled; queued -> cancelled;
# any unfinished state -> failed. "registering" is the point of no return: a cancel no longer applies.


@dataclass(frozen=True)
class JobRecord:
    id: int
    profile: str
    dataset_version: str | None
    status: str  # queued | running | cancelling | registering | done | failed | cancelled
    params: dict
    device: str
    epoch: int
    epochs: int
    metrics: dict  # {"latest": {...}, "history": [...]} while running; evaluation and model once done
    error: str
    model_version_id: int | None
    created_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    pid: int | None = None  # the worker process that ran (or runs) it


def _record(s: Session, row: TrainingJob) -> JobRecord:
    ds = s.get(DatasetVersion, row.dataset_version_id).name if row.dataset_version_id else None
    return JobRecord(row.id, row.profile, ds, row.status, dict(row.params), row.device, row.epoch, row.epochs,
                     dict(row.metrics), row.error, row.model_version_id, row.created_by, row.created_at,
                     row.started_at, row.finished_at, row.pid)


def submit_job(sessions: sessionmaker[Session], *, dataset: str | int, params: dict | None = None,
               created_by: str = "") -> JobRecord:
    """Queue a training job on a dataset version (name or id); `params` are TrainParams fields."""
    version = get_version(sessions, dataset)
    tp = TrainParams.from_dict(dict(params or {}))
    with sessions() as s:
        row = TrainingJob(profile=version.profile, dataset_version_id=version.id, status="queued",
                          params=tp.__dict__.copy(), device=tp.device, epochs=tp.epochs, created_by=created_by)
        s.add(row)
        s.commit()
        return _record(s, row)


def get_job(sessions: sessionmaker[Session], job_id: int) -> JobRecord:
    with sessions() as s:
        row = s.get(TrainingJob, job_id)
        if row is None:
            raise NotFoundError(f"training job {job_id} not found")
        return _record(s, row)


def list_jobs(sessions: sessionmaker[Session], status: str | None = None, limit: int = 100) -> list[JobRecord]:
    with sessions() as s:
        q = select(TrainingJob).order_by(TrainingJob.id.desc()).limit(limit)
        if status:
            q = q.where(TrainingJob.status == status)
        return [_record(s, r) for r in s.scalars(q)]


def cancel_job(sessions: sessionmaker[Session], job_id: int) -> JobRecord:
    """Cancel a job. A queued one is "cancelled" at once; a running one becomes "cancelling" (its runner stops
    the trainer at the next batch, registers nothing and marks it "cancelled"); asking again changes nothing.
    A job that ended, or is already registering its model, raises `TrainingError` naming its state."""
    with sessions() as s:
        for before, values in (("queued", {"status": "cancelled", "finished_at": utcnow()}),
                               ("running", {"status": "cancelling"})):
            n = s.execute(update(TrainingJob).where(TrainingJob.id == job_id, TrainingJob.status == before)
                          .values(**values)).rowcount
            s.commit()
            if n:
                break
    job = get_job(sessions, job_id)
    if not n and job.status != "cancelling":
        raise TrainingError(f"job {job_id} is {job.status}; only a queued or running job can be cancelled")
    return job


def _status(sessions: sessionmaker[Session], job_id: int) -> str | None:
    with sessions() as s:
        return s.scalar(select(TrainingJob.status).where(TrainingJob.id == job_id))


class CancelWatch:
    """Whether a running job was asked to stop (its row says "cancelling"). The trainer asks after every batch,
    so the database is read at most every `every_s` seconds; `check(where)` reads it now and raises."""

    def __init__(self, sessions: sessionmaker[Session], job_id: int, every_s: float = 1.0):
        self.sessions, self.job_id, self.every_s = sessions, job_id, every_s
        self._requested = False
        self._read_at = float("-inf")

    def _read(self) -> bool:
        self._read_at = time.monotonic()
        self._requested = _status(self.sessions, self.job_id) == "cancelling"
        return self._requested

    def __call__(self) -> bool:
        if self._requested or time.monotonic() - self._read_at < self.every_s:
            return self._requested
        return self._read()

    def check(self, where: str) -> None:
        if self._requested or self._read():
            raise TrainingCancelled(f"job {self.job_id} was cancelled {where}")


def _begin_registering(sessions: sessionmaker[Session], job_id: int) -> None:
    """running -> registering, atomically: from here a cancel is refused; if one came first, stop here."""
    with sessions() as s:
        n = s.execute(update(TrainingJob).where(TrainingJob.id == job_id, TrainingJob.status == "running")
                      .values(status="registering")).rowcount
        s.commit()
    if not n:
        raise TrainingCancelled(f"job {job_id} was cancelled before its model was registered")


def _claim(sessions: sessionmaker[Session], job_id: int | None = None) -> int | None:
    """Atomically move the oldest queued job (or `job_id`) to running; None when there is none."""
    with sessions() as s:
        q = select(TrainingJob.id).where(TrainingJob.status == "queued").order_by(TrainingJob.id)
        ids = [job_id] if job_id is not None else list(s.scalars(q.limit(5)))
        for jid in ids:
            n = s.execute(update(TrainingJob).where(TrainingJob.id == jid, TrainingJob.status == "queued")
                          .values(status="running", started_at=utcnow(), error="")).rowcount
            s.commit()
            if n:
                return jid
    return None


def _update(sessions, job_id: int, **values) -> JobRecord:
    with sessions() as s:
        row = s.get(TrainingJob, job_id)
        for k, v in values.items():
            setattr(row, k, v)
        s.commit()
        return _record(s, row)


def _execute(sessions, data_dir: Path, job: JobRecord, options: EvalOptions,
             on_progress: ProgressCallback | None) -> JobRecord:
    params = _resolve_base(sessions, job.profile, TrainParams.from_dict(job.params))
    dataset = get_version(sessions, job.dataset_version)
    history: list[dict] = []

    def on_epoch(epoch: int, epochs: int, row: dict) -> None:
        history.append(row)
        rec = _update(sessions, job.id, epoch=epoch, epochs=epochs, metrics={"latest": row, "history": list(history)})
        if on_progress:
            on_progress(rec)

    watch = CancelWatch(sessions, job.id)
    out = train_and_export(dataset.path, Path(data_dir) / "jobs" / str(job.id), params, on_epoch, watch)
    watch.check("before its evaluation")
    baseline = promoted_model(sessions, job.profile)
    cand, base = compare(data_dir, dataset, out.onnx, params.imgsz, baseline, options)
    evaluation = {"dataset_version": dataset.name, "candidate": cand, "baseline": base,
                  "baseline_id": baseline.id if baseline else None,
                  "baseline_version": baseline.version if baseline else None}
    _begin_registering(sessions, job.id)
    model = register_model(sessions, data_dir, out.onnx, profile=job.profile,
                           classes=tuple(dataset.stats.get("class_names") or ()), dataset_version_id=dataset.id,
                           metrics={"imgsz": params.imgsz, "train": history[-1] if history else {},
                                    "evaluation": evaluation, "job_id": job.id, "base": job.params.get("base_weights", "")},
                           trained_by=job.created_by, weights=out.weights)
    return _update(sessions, job.id, status="done", finished_at=utcnow(), model_version_id=model.id,
                   metrics={"latest": history[-1] if history else {}, "history": history, "evaluation": evaluation,
                            "model": {"id": model.id, "version": model.version}})


def _resolve_base(sessions, profile: str, params: TrainParams) -> TrainParams:
    """`base_weights="promoted"` fine-tunes the promoted model's checkpoint."""
    if params.base_weights != "promoted":
        return params
    rec = promoted_model(sessions, profile)
    pt = weights_of(rec) if rec else None
    if pt is None:
        raise TrainingError(f"base 'promoted': no promoted {profile} model with a .pt checkpoint to fine-tune")
    return replace(params, base_weights=str(pt))


def run_job(sessions: sessionmaker[Session], data_dir: Path, job_id: int | None = None, *,
            options: EvalOptions | None = None, on_progress: ProgressCallback | None = None) -> JobRecord | None:
    """Run one queued job (the oldest, or `job_id`) to the end in this process (the CLI; the server's
    `JobRunner` runs each in a worker process): train, export, evaluate against the promoted model, register
    the candidate. Returns the finished job (done, failed, or cancelled when `cancel_job` asked it to stop),
    or None if none."""
    jid = _claim(sessions, job_id)
    if jid is None:
        if job_id is not None:
            raise TrainingError(f"job {job_id} is {get_job(sessions, job_id).status}, not queued")
        return None
    if on_progress:
        on_progress(get_job(sessions, jid))
    return run_claimed(sessions, data_dir, jid, options=options, on_progress=on_progress)


def run_claimed(sessions: sessionmaker[Session], data_dir: Path, job_id: int, *,
                options: EvalOptions | None = None, on_progress: ProgressCallback | None = None) -> JobRecord:
    """Run a job already claimed (running) to its end, recording how it ended; reports progress, not its start."""
    job = get_job(sessions, job_id)
    try:
        job = _execute(sessions, data_dir, job, options or EvalOptions(), on_progress)
    except TrainingCancelled as e:
        log.info("training job %s stopped: %s", job_id, e)
        job = _update(sessions, job_id, status="cancelled", finished_at=utcnow())
    except Exception as e:  # a job boundary: record why, keep the runner alive
        log.exception("training job %s failed", job_id)
        msg = str(e) if isinstance(e, VigilError) else f"{type(e).__name__}: {e}"
        job = _update(sessions, job_id, status="failed", finished_at=utcnow(), error=redact_text(msg)[:4000])
    if on_progress:
        on_progress(job)
    return job


INTERRUPTED = "interrupted: the process running it stopped"
UNFINISHED = ("running", "cancelling", "registering")


def recover_interrupted(sessions: sessionmaker[Session]) -> int:
    """Jobs left unfinished by a server that died (its workers die with it): a running (or registering) one is
    failed with a clear error, never re-queued (submit it again); one being cancelled is cancelled. Returns how
    many."""
    now = utcnow()
    with sessions() as s:
        n = s.execute(update(TrainingJob).where(TrainingJob.status.in_(("running", "registering"))).values(
            status="failed", finished_at=now, error=INTERRUPTED)).rowcount
        n += s.execute(update(TrainingJob).where(TrainingJob.status == "cancelling").values(
            status="cancelled", finished_at=now)).rowcount
        s.commit()
        return n


def work_on_job(send: Send, ctx: WorkerContext, job_id: int, options: EvalOptions | None) -> None:
    """A worker process's whole life: run one claimed job, sending each `JobRecord` back as progress."""
    engine, sessions = ctx.open_sessions()
    try:
        run_claimed(sessions, ctx.data_dir, job_id, options=options, on_progress=send)
    finally:
        engine.dispose()


def _settle(sessions, job_id: int, worker: WorkerExit, server_stopping: bool) -> JobRecord:
    """The job's end once its worker is gone: what the worker recorded, else cancelled (it was being
    cancelled), else failed saying why (the server stopped, or the worker died)."""
    if _status(sessions, job_id) == "cancelling":
        values = {"status": "cancelled"}
    elif server_stopping:
        values = {"status": "failed", "error": f"{INTERRUPTED} (the server shut down); submit it again"}
    else:
        values = {"status": "failed", "error": f"its worker process (pid {worker.pid}) {worker.describe()} "
                                                f"before the job finished"}
    with sessions() as s:
        s.execute(update(TrainingJob).where(TrainingJob.id == job_id, TrainingJob.status.in_(UNFINISHED))
                  .values(finished_at=utcnow(), **values))
        s.commit()
    return get_job(sessions, job_id)


class JobRunner:
    """Threads in the server that take queued jobs, `max_concurrent` (default 1) at a time, and run each in its
    own worker process (`vigil.worker_process`: the server never imports torch nor keeps a job's memory). A
    cancelled job's worker gets `cancel_grace_s` to stop at its next batch, then SIGTERM, then SIGKILL after
    `kill_grace_s`."""

    def __init__(self, sessions: sessionmaker[Session], data_dir: Path, *, max_concurrent: int = 1,
                 poll_s: float = 2.0, options: EvalOptions | None = None,
                 on_progress: ProgressCallback | None = None, cancel_grace_s: float = 10.0,
                 kill_grace_s: float = 5.0):
        if max_concurrent < 1:
            raise ValueError(f"max_concurrent must be at least 1, found {max_concurrent}")
        self.sessions, self.data_dir = sessions, Path(data_dir)
        self.max_concurrent, self.poll_s = max_concurrent, poll_s
        self.options, self.on_progress = options, on_progress
        self.cancel_grace_s, self.kill_grace_s = cancel_grace_s, kill_grace_s
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._threads: list[threading.Thread] = []
        self._workers: dict[int, WorkerProcess] = {}

    def start(self) -> None:
        recover_interrupted(self.sessions)
        for i in range(self.max_concurrent):
            t = threading.Thread(target=self._loop, name=f"training-job-{i}", daemon=True)
            t.start()
            self._threads.append(t)

    def wake(self) -> None:
        """Look for queued jobs now (call after `submit_job`)."""
        self._wake.set()

    def worker_pids(self) -> dict[int, int]:
        """{job id: worker pid} of the jobs running now."""
        return {jid: w.pid for jid, w in list(self._workers.items()) if w.pid is not None}

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                jid = _claim(self.sessions)
                if jid is not None:
                    self._supervise(jid)
            except Exception:  # the database may be briefly unavailable; try again later
                log.exception("training runner: could not take or finish a job")
                jid = None
            if jid is None:
                self._wake.wait(self.poll_s)
                self._wake.clear()

    def _report(self, job: JobRecord) -> None:
        if self.on_progress:
            self.on_progress(job)

    def _supervise(self, jid: int) -> None:
        """Run claimed job `jid` in a worker process, relay its progress, stop it when cancelled, settle it."""
        last = get_job(self.sessions, jid)
        self._report(last)
        worker = WorkerProcess(work_on_job, WorkerContext.of(self.sessions, self.data_dir, f"training job {jid}"),
                               jid, self.options)
        self._workers[jid] = worker
        try:
            worker.start()
            self._note_pid(jid, worker.pid)
            cancel_seen: float | None = None
            while worker.alive():
                for last in worker.poll(0.5):
                    self._report(last)
                if self._stop.is_set():
                    worker.stop(self.kill_grace_s)
                elif self._cancelling(jid):
                    cancel_seen = cancel_seen or time.monotonic()
                    if time.monotonic() - cancel_seen >= self.cancel_grace_s:
                        worker.stop(self.kill_grace_s)
            for last in worker.drain():
                self._report(last)
        finally:
            self._workers.pop(jid, None)
            worker.stop(self.kill_grace_s)  # only if something here failed while it ran: never leave it unwatched
            ended = worker.join(self.kill_grace_s)
            job = _settle(self.sessions, jid, ended, self._stop.is_set())
        if ended.exitcode or job.status != last.status:
            log.log(logging.WARNING if job.status == "failed" else logging.INFO, "training job %s: %s (%s)",
                    jid, job.status, job.error or ended.describe())
        if (job.status, job.epoch, job.error) != (last.status, last.epoch, last.error):
            self._report(job)

    def _note_pid(self, jid: int, pid: int | None) -> None:
        with self.sessions() as s:
            s.execute(update(TrainingJob).where(TrainingJob.id == jid).values(pid=pid))
            s.commit()

    def _cancelling(self, jid: int) -> bool:
        try:
            return _status(self.sessions, jid) == "cancelling"
        except Exception:  # noqa: BLE001 - the database may be briefly unavailable; the worker goes on meanwhile
            log.warning("training job %s: could not read its status; asking again shortly", jid, exc_info=True)
            return False

    def stop(self, timeout: float = 10.0) -> None:
        """Stop taking jobs and stop the running ones' workers (their jobs fail as interrupted by the shutdown)."""
        self._stop.set()
        self._wake.set()
        for t in self._threads:
            t.join(max(timeout, self.kill_grace_s + 5))
        self._threads.clear()
