"""The job runner runs each training job in its own worker process: the server keeps none of a job's memory, a
cancel stops the worker, and a worker that dies leaves its job failed saying how."""
from __future__ import annotations

import os
import signal
import subprocess
import sys

import psutil
import pytest

from datasets.versions import BuildSpec, build_dataset
from tests.datasets.conftest import data_env  # noqa: F401  (fixture)
from tests.servers import wait_for
from training.evaluate import EvalOptions
from training.jobs import JobRunner, cancel_job, get_job, submit_job

OPTIONS = EvalOptions(imgsz=64, scene_seeds=(9901,), scene_duration_s=4, scene_fps=1, threads=1)
RSS_BOUND = 100 << 20  # one epoch in-process grows a server by about 1 GB (torch, ultralytics, the model)


def _dataset(env) -> str:
    return build_dataset(env.sessions, env.store, env.data_dir, BuildSpec(
        "site", reviews=False, scene_seeds=(3, 4, 5), scene_duration_s=3, scene_fps=1)).name


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


@pytest.mark.slow
def test_a_job_runs_in_a_worker_process_and_the_server_keeps_none_of_its_memory(data_env):
    S = data_env.sessions
    name = _dataset(data_env)
    seen = []
    runner = JobRunner(S, data_env.data_dir, poll_s=0.2, options=OPTIONS, on_progress=seen.append)
    runner.start()
    try:
        rss_before = psutil.Process().memory_info().rss
        job = submit_job(S, dataset=name, params={"epochs": 1, "imgsz": 64, "batch": 8})
        runner.wake()
        pid = wait_for(lambda: runner.worker_pids().get(job.id), 60, "the job's worker process")
        assert pid != os.getpid() and psutil.Process(pid).ppid() == os.getpid()
        done = wait_for(lambda: (j := get_job(S, job.id)).status in ("done", "failed", "cancelled") and j, 300,
                     "the job to end")
        rss_after = psutil.Process().memory_info().rss
    finally:
        runner.stop()
    assert done.status == "done", done.error
    assert done.model_version_id and done.metrics["history"][0]["epoch"] == 1
    assert done.pid == pid  # the job row names the worker process that ran it
    assert [r.status for r in seen][0] == "running" and seen[-1].status == "done"
    assert any(r.status == "running" and r.epoch == 1 for r in seen)  # progress relayed from the worker
    assert _gone(pid) and runner.worker_pids() == {}
    assert rss_after - rss_before < RSS_BOUND, f"the server grew by {(rss_after - rss_before) >> 20} MB"


def _long_job(env, runner) -> tuple[int, int]:
    """A 500-epoch job on the runner, once its first epoch ended: (job id, worker pid)."""
    job = submit_job(env.sessions, dataset=_dataset(env), params={"epochs": 500, "imgsz": 64, "batch": 8})
    runner.wake()
    pid = wait_for(lambda: runner.worker_pids().get(job.id), 60, "the job's worker process")
    wait_for(lambda: get_job(env.sessions, job.id).epoch >= 1, 300, "the first epoch")
    return job.id, pid


@pytest.mark.slow
@pytest.mark.parametrize("cancel_grace_s", [
    0.0,  # terminated at once: SIGTERM ends the worker mid-epoch
    60.0,  # the worker stops itself at its next batch, well inside the grace
])
def test_cancelling_a_running_job_ends_its_worker_and_the_job_reads_cancelled(data_env, cancel_grace_s):
    S = data_env.sessions
    runner = JobRunner(S, data_env.data_dir, poll_s=0.2, options=OPTIONS, cancel_grace_s=cancel_grace_s,
                       kill_grace_s=5)
    runner.start()
    try:
        jid, pid = _long_job(data_env, runner)
        assert cancel_job(S, jid).status == "cancelling"
        job = wait_for(lambda: (j := get_job(S, jid)).status != "cancelling" and j, 60, "the job to stop")
        wait_for(lambda: _gone(pid), 15, f"worker {pid} to end")
    finally:
        runner.stop()
    assert job.status == "cancelled" and job.finished_at and job.model_version_id is None
    assert 1 <= job.epoch < 500


@pytest.mark.slow
def test_a_killed_worker_leaves_its_job_failed_saying_so_and_the_runner_goes_on(data_env):
    S = data_env.sessions
    runner = JobRunner(S, data_env.data_dir, poll_s=0.2, options=OPTIONS)
    runner.start()
    try:
        jid, pid = _long_job(data_env, runner)
        os.kill(pid, signal.SIGKILL)
        job = wait_for(lambda: (j := get_job(S, jid)).status != "running" and j, 30, "the job to be settled")
        assert job.status == "failed" and job.finished_at
        assert job.error == f"its worker process (pid {pid}) was killed by SIGKILL before the job finished"
        # the runner still takes jobs: a bad one fails in its own worker with its own message
        bad = submit_job(S, dataset=job.dataset_version, params={"epochs": 1, "base_weights": "/nowhere/x.pt"})
        runner.wake()
        bad = wait_for(lambda: (j := get_job(S, bad.id)).status not in ("queued", "running") and j, 120, "the next job")
    finally:
        runner.stop()
    assert bad.status == "failed" and "expected a .pt checkpoint" in bad.error


@pytest.mark.slow
def test_stopping_the_runner_stops_a_running_worker_and_fails_its_job_as_interrupted(data_env):
    S = data_env.sessions
    runner = JobRunner(S, data_env.data_dir, poll_s=0.2, options=OPTIONS, kill_grace_s=5)
    runner.start()
    try:
        jid, pid = _long_job(data_env, runner)
    finally:
        runner.stop()
    assert _gone(pid)
    job = get_job(S, jid)
    assert job.status == "failed" and job.error.startswith("interrupted") and "shut down" in job.error


# a server that starts a runner, prints its first worker's pid and waits: the test kills it like an OOM killer
SERVER = """import sys, time
from training.evaluate import EvalOptions
from training.jobs import JobRunner
from vigil.db.session import make_engine, make_session_factory
runner = JobRunner(make_session_factory(make_engine(sys.argv[1])), sys.argv[2], poll_s=0.2,
                   options=EvalOptions(imgsz=64, scene_seeds=(9901,), scene_duration_s=4, scene_fps=1, threads=1))
runner.start()
while not runner.worker_pids():
    time.sleep(0.1)
print(*runner.worker_pids().values(), flush=True)
time.sleep(600)
"""


@pytest.mark.slow
def test_a_killed_server_takes_its_workers_with_it_and_the_next_start_fails_their_jobs(data_env):
    S = data_env.sessions
    job = submit_job(S, dataset=_dataset(data_env), params={"epochs": 500, "imgsz": 64, "batch": 8})
    url = S.kw["bind"].url.render_as_string(hide_password=False)
    server = subprocess.Popen([sys.executable, "-c", SERVER, url, str(data_env.data_dir)], stdout=subprocess.PIPE,
                              text=True)
    try:
        pid = int(server.stdout.readline())
        wait_for(lambda: get_job(S, job.id).epoch >= 1, 300, "the first epoch")
    finally:
        server.kill()
        server.wait()
    wait_for(lambda: _gone(pid), 15, f"the orphaned worker {pid} to stop")
    assert get_job(S, job.id).status == "running"  # nobody settled it: the server died
    runner = JobRunner(S, data_env.data_dir, poll_s=0.2)
    runner.start()  # a restart: what was running is failed, never re-queued
    runner.stop()
    job = get_job(S, job.id)
    assert job.status == "failed" and job.error == "interrupted: the process running it stopped" and job.finished_at
