"""Heavy work in a child process: spawn it, hear its messages, stop it (terminate, then kill), say how it ended."""
from __future__ import annotations

import logging
import os
import pickle
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.connection import wait as wait_ready
from pathlib import Path
from typing import Any, Callable

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)
Send = Callable[[Any], None]  # what a worker calls to hand a message (a frozen dataclass) to the server
PARENT_GONE = 70  # a child's exit status when its server died first


@dataclass(frozen=True)
class WorkerContext:
    """What a child needs to reopen the server's state: the database (URL with its password: it travels over a
    pipe to our own child only), the data folder, and how to log."""

    database_url: str
    data_dir: Path
    name: str  # "training job 7": prefixes the child's log lines
    log_level: int = logging.INFO

    @classmethod
    def of(cls, sessions: sessionmaker[Session], data_dir: Path, name: str) -> "WorkerContext":
        engine = sessions.kw["bind"]
        return cls(engine.url.render_as_string(hide_password=False), Path(data_dir), name,
                   logging.getLogger().getEffectiveLevel())

    def open_sessions(self) -> tuple[Engine, sessionmaker[Session]]:
        """The child's own engine (never the parent's pool) and session factory; no schema upgrade."""
        from vigil.db.session import make_engine, make_session_factory

        engine = make_engine(self.database_url)
        return engine, make_session_factory(engine)


@dataclass(frozen=True)
class WorkerExit:
    """How a child ended: its exit code (negative: the signal that ended it) and whether we stopped it."""

    pid: int | None
    exitcode: int | None
    stopped: bool

    def describe(self) -> str:
        if self.exitcode is None:
            return "was still running"
        if self.exitcode < 0:
            try:
                name = signal.Signals(-self.exitcode).name
            except ValueError:
                name = f"signal {-self.exitcode}"
            return f"was killed by {name}"
        return f"exited with code {self.exitcode}"


def _watch_parent(parent_pid: int) -> None:
    """A child whose server died stops too: nothing would watch or cancel it, and a restarted server
    fails its job as interrupted."""
    while True:
        time.sleep(1.0)
        if os.getppid() != parent_pid:
            os._exit(PARENT_GONE)


@dataclass(frozen=True)
class _Launch:
    """What the parent hands a new child on its stdin."""

    target: Callable
    ctx: WorkerContext
    parent_pid: int
    args: tuple


# The child's first lines: the parent's import path first, so the pickled target and its arguments resolve
# (the server may run from a checkout, not an installed package); then `_child_main` reads the launch.
_BOOT = ("import pickle, sys; path, launch = pickle.load(sys.stdin.buffer); sys.path[:0] = path; "
         "from vigil.worker_process import _child_main; _child_main(int(sys.argv[1]), launch)")


def _child_main(fd: int, blob: bytes) -> None:
    launch: _Launch = pickle.loads(blob)
    ctx = launch.ctx
    logging.basicConfig(level=ctx.log_level, force=True,
                        format=f"%(asctime)s %(levelname)s [{ctx.name} pid %(process)d] %(name)s: %(message)s")
    threading.Thread(target=_watch_parent, args=(launch.parent_pid,), name="parent-watch", daemon=True).start()
    conn = Connection(fd, readable=False)

    def send(message: Any) -> None:
        try:
            conn.send(message)
        except OSError:  # the server is gone: nobody hears, and its next start settles the work
            os._exit(PARENT_GONE)

    try:
        launch.target(send, ctx, *launch.args)
    finally:
        conn.close()


def raise_on_terminate(exc_type: type[BaseException]) -> None:
    """In a child: SIGTERM raises `exc_type` in the main thread, so its `finally` blocks clean up."""
    def handler(signum, _frame):
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second SIGTERM ends it at once
        raise exc_type(f"stopped by {signal.Signals(signum).name}")

    signal.signal(signal.SIGTERM, handler)


def ignore_terminate() -> None:
    """In a child past its point of no return: SIGTERM no longer interrupts it (SIGKILL still does)."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


class WorkerProcess:
    """One child process (`python -c`, in its own session) running `target(send, ctx, *args)`, a module-level
    function; what it sends comes back over a pipe. Not `multiprocessing`: its spawn re-runs the server's main
    script in the child, and a fork would copy the server."""

    def __init__(self, target: Callable, ctx: WorkerContext, *args: Any):
        self.target, self.ctx, self.args = target, ctx, args
        self._proc: subprocess.Popen | None = None
        self._conn: Connection | None = None
        self._stopped = False
        self._eof = False

    def start(self) -> None:
        launch = pickle.dumps(_Launch(self.target, self.ctx, os.getpid(), self.args))
        read_fd, write_fd = os.pipe()
        try:
            proc = subprocess.Popen([sys.executable, "-c", _BOOT, str(write_fd)], stdin=subprocess.PIPE,
                                    pass_fds=(write_fd,), start_new_session=True)
        except BaseException:
            os.close(read_fd)
            raise
        finally:
            os.close(write_fd)  # the child holds the only write end: EOF here means it is gone
        self._proc, self._conn = proc, Connection(read_fd, writable=False)
        assert proc.stdin is not None  # stdin=PIPE
        try:
            pickle.dump(([p for p in sys.path if p], launch), proc.stdin)
            proc.stdin.close()
        except OSError:  # it died at once; `join` says how
            pass
        log.info("%s: worker process %s started", self.ctx.name, proc.pid)

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def poll(self, timeout: float) -> list:
        """The messages that arrive within `timeout` seconds (returns early on the first, or the pipe's end)."""
        if self._conn is None or self._eof:
            time.sleep(timeout)
            return []
        wait_ready([self._conn], timeout)
        return self.drain()

    def drain(self) -> list:
        """Every message already sent."""
        out: list = []
        while self._conn is not None and not self._eof:
            try:
                if not self._conn.poll():
                    break
                out.append(self._conn.recv())
            except (EOFError, OSError):
                self._eof = True
        return out

    def stop(self, grace_s: float) -> None:
        """Terminate (SIGTERM), and kill (SIGKILL) what still runs after `grace_s` seconds; its whole session, so
        a GPU job's data loader processes go too."""
        proc = self._proc
        if proc is None or proc.poll() is not None:
            return
        self._stopped = True
        log.info("%s: stopping worker process %s", self.ctx.name, proc.pid)
        for sig, wait_s in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 10.0)):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                return
            try:
                proc.wait(wait_s)
                return
            except subprocess.TimeoutExpired:
                if sig == signal.SIGTERM:
                    log.warning("%s: worker process %s ignored SIGTERM for %.0f s; killing it", self.ctx.name,
                                proc.pid, grace_s)

    def join(self, timeout: float | None = None) -> WorkerExit:
        """Wait for the child to end (it should have by now) and release its pipe."""
        if self._proc is None:
            return WorkerExit(None, None, self._stopped)
        try:
            self._proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
        if self._conn is not None:
            self._conn.close()
            self._conn, self._eof = None, True
        return WorkerExit(self._proc.pid, self._proc.returncode, self._stopped)
