"""A worker process: its messages come back in order, and how it ended is said in words, whatever ended it."""
from __future__ import annotations

import logging
import os
import signal
import time

import pytest

from vigil.worker_process import PARENT_GONE, WorkerContext, WorkerExit, WorkerProcess


def count_then(send, ctx: WorkerContext, n: int, then: str) -> None:
    """Runs in the child: sends its pid and 0..n-1, then returns, raises, sleeps or ignores SIGTERM."""
    send(os.getpid())
    for i in range(n):
        send(i)
    if then == "raise":
        raise RuntimeError("boom")
    if then == "ignore_term":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if then in ("sleep", "ignore_term"):
        send("sleeping")
        time.sleep(120)


def _ctx(tmp_path) -> WorkerContext:
    return WorkerContext(f"sqlite:///{tmp_path / 'x.db'}", tmp_path, "test worker", logging.WARNING)


def _run(worker: WorkerProcess) -> list:
    """What it sent until it ended or went to sleep."""
    got: list = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and worker.alive() and "sleeping" not in got:
        got += worker.poll(0.2)
    return got + worker.drain()


@pytest.mark.parametrize("then,stop_grace_s,exitcode,says", [
    ("return", None, 0, "exited with code 0"),
    ("raise", None, 1, "exited with code 1"),  # the traceback goes to the server's stderr
    ("sleep", 5.0, -signal.SIGTERM, "was killed by SIGTERM"),
    ("ignore_term", 0.5, -signal.SIGKILL, "was killed by SIGKILL"),  # the grace ran out
])
def test_messages_and_how_it_ended(tmp_path, then, stop_grace_s, exitcode, says):
    worker = WorkerProcess(count_then, _ctx(tmp_path), 3, then)
    worker.start()
    got = _run(worker)
    if stop_grace_s is not None:
        worker.stop(stop_grace_s)
    ended = worker.join(10)
    assert got[0] == worker.pid != os.getpid() and got[1:4] == [0, 1, 2]
    assert ended == WorkerExit(worker.pid, exitcode, stop_grace_s is not None)
    assert ended.describe() == says and not worker.alive()


@pytest.mark.parametrize("exitcode,says", [
    (None, "was still running"), (0, "exited with code 0"), (PARENT_GONE, "exited with code 70"),
    (-9, "was killed by SIGKILL"), (-15, "was killed by SIGTERM"), (-200, "was killed by signal 200"),
])
def test_exit_described(exitcode, says):
    assert WorkerExit(1, exitcode, False).describe() == says
