"""`server.camera_processes`: camera groups in child processes of `vigil serve`, on this machine.

One Python process runs every camera's threads by default; near the box's limit they contend for the GIL (24
sub-stream cameras at 2 fps are held in two processes, not in one: docs/BENCHMARKS.md). Here each group of cameras
is an `actors.CameraGroup` (the same class a Ray actor runs) hosted in its own process by the standard library's
`multiprocessing.managers` (spawned, over a Unix socket with a random key: no port, no protocol of our own).
`fleet_base.GroupFleet` relays every violation phase to this process's one recorder, as under `--ray`.

A child that dies is started again within a second or two (then with a growing pause if it keeps dying); its open
events are closed from their evidence and its cameras reconnect. A child that outlives this process (killed -9)
notices within a second and exits. Children ignore SIGINT/SIGTERM: the service stops them itself, after it has
taken their last phases.
"""
from __future__ import annotations

import logging
import math
import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor, wait as wait_futures
from multiprocessing.managers import BaseManager
from typing import Any, Callable, Mapping

from api.cluster.actors import CameraGroup
from api.cluster.fleet_base import GroupFleet
from api.cluster.groups import Group
from streams.recorder import AlertSink, RecorderConfig
from streams.status import CameraStatus
from vigil.config_loader import LoadedConfig

log = logging.getLogger(__name__)
GROUP_METHODS = ("poll", "cut_clip", "latest", "swap_model", "add_camera", "remove_camera", "stop_analysis", "stop")
RESTART_PAUSE_S = (0.0, 1.0, 2.0, 5.0, 10.0, 30.0)  # before each further restart of a child that keeps dying
STABLE_S = 60.0  # a child that lived this long starts the pauses over
START_WAIT_S = 120.0  # `start` waits this long for the children's groups, then lets the slow ones finish alone
CAMERAS_PER_PROCESS = 8  # `auto`: one process per core, but no fewer than this many cameras in each


class _GroupManager(BaseManager):
    pass


_GroupManager.register("CameraGroup", CameraGroup, exposed=GROUP_METHODS)


def resolve_processes(setting: int | str, cameras: int, cores: int | None = None) -> int:
    """How many camera processes `server.camera_processes` asks for with `cameras` enabled cameras."""
    if setting == "auto":
        cores = cores or os.cpu_count() or 1
        return max(1, min(cores, cameras // CAMERAS_PER_PROCESS))
    return max(1, min(int(setting), cameras))


def plan_processes(loaded: LoadedConfig, processes: int) -> list[tuple[str, list[str]]]:
    """(group name, cameras): the enabled cameras, by site then id, in `processes` runs of near-equal length."""
    cams = sorted((cam.site, cid) for cid, cam in loaded.config.cameras.items() if cam.enabled)
    n = max(1, min(processes, len(cams)))
    size = math.ceil(len(cams) / n) if cams else 0
    return [(f"proc-{i}", [cid for _, cid in cams[i * size:(i + 1) * size]]) for i in range(n)
            if cams[i * size:(i + 1) * size]]


def _child_init(group: str, level: int, parent: int) -> None:
    """In the child, before the group is made: log like the parent, leave stopping to it, die with it."""
    logging.basicConfig(level=level, format=f"%(asctime)s %(levelname)s [{group}] %(name)s: %(message)s")
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)

    def orphaned() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)  # noqa: SLF001 - the service is gone (killed): its cameras must not run on unseen
    threading.Thread(target=orphaned, name="vigil-parent-watch", daemon=True).start()


class _Child:
    """One child process and when it was started."""

    def __init__(self, manager: _GroupManager, started: float):
        self.manager, self.started = manager, started

    @property
    def pid(self) -> int | None:
        proc = getattr(self.manager, "_process", None)
        return proc.pid if proc is not None else None

    def alive(self) -> bool:
        proc = getattr(self.manager, "_process", None)
        return proc is not None and proc.is_alive()

    def end(self) -> None:
        try:
            self.manager.shutdown()  # asks, then terminates, then kills; joins the process
        except Exception:  # noqa: BLE001 - already gone
            pass


class ProcessFleet(GroupFleet):
    """Supervisor-shaped, like `fleet.RayFleet`: the cameras in `processes` child processes of this one."""

    WHERE = "this machine's camera processes"
    COMES_BACK = "its process is started again"

    def __init__(self, loaded: LoadedConfig, processes: int, *, alert_sink: AlertSink, signer,
                 recorder_config: RecorderConfig = RecorderConfig(),
                 on_state: Callable[[CameraStatus], None] | None = None,
                 pipeline_overrides: Mapping[str, object] | None = None, poll_s: float = 0.25,
                 lost_after_s: float = 10.0):
        super().__init__(loaded, alert_sink=alert_sink, signer=signer, poll_s=poll_s, lost_after_s=lost_after_s,
                         recorder_config=recorder_config, on_state=on_state)
        self.processes = processes
        self._overrides = dict(pipeline_overrides or {})
        self._ctx = multiprocessing.get_context("spawn")  # never fork a process with threads running
        self._calls = ThreadPoolExecutor(max(8, 4 * processes), thread_name_prefix="vigil-procs-call")
        # polls on threads of their own: clips being cut and snapshots for a busy wall never hold them up
        self._polls = ThreadPoolExecutor(processes, thread_name_prefix="vigil-procs-poll")
        self._children: dict[str, _Child] = {}
        self._starting: set[str] = set()
        self._deaths: dict[str, int] = {}  # deaths in a row (the child did not live STABLE_S)
        self._next_start: dict[str, float] = {}

    # -- lifecycle ---------------------------------------------------------------------------------------------
    def start(self) -> None:
        groups = [Group(name, cams) for name, cams in plan_processes(self.loaded, self.processes)]
        for g in groups:
            self._add_group(g)
            self._starting.add(g.name)
        wait_futures([self._calls.submit(self._spawn, g) for g in groups], START_WAIT_S)  # a slow one goes on alone
        log.info("%d camera process(es) started: %s", len(groups),
                 "; ".join(f"{g.name} (pid {self.pid(g.name)}): {len(g.camera_ids)} camera(s)" for g in groups))
        self._start_polling()

    def pid(self, group: str) -> int | None:
        child = self._children.get(group)
        return child.pid if child is not None else None

    def pids(self) -> list[int]:
        """The child processes running now."""
        return [p for c in list(self._children.values()) if (p := c.pid) is not None and c.alive()]

    def _spawn(self, g: Group) -> None:
        """Start the group's process and its CameraGroup (the cameras connect on their own threads)."""
        try:
            manager = _GroupManager(ctx=self._ctx)
            manager.start(_child_init, (g.name, logging.getLogger().getEffectiveLevel(), os.getpid()))
            child = _Child(manager, time.monotonic())
            try:
                specs = dict(self._specs)
                handle = manager.CameraGroup(self.loaded, g.camera_ids, specs, None, self._overrides)  # type: ignore[attr-defined]
            except BaseException:
                child.end()
                raise
            with self._lock:
                if self._stop.is_set():  # the service stopped meanwhile
                    child.end()
                    return
                self._children[g.name] = child
                g.handle, g.pending = handle, None
                g.specs = {p: s.sha256 for p, s in specs.items()}
        except Exception as e:  # noqa: BLE001 - the next round tries again, after a pause
            log.error("camera process %s (%s): could not start: %s: %s", g.name, ", ".join(g.camera_ids),
                      type(e).__name__, e)
            self._died(g)
        finally:
            self._starting.discard(g.name)

    def _died(self, g: Group) -> None:
        n = self._deaths.get(g.name, 0)
        self._deaths[g.name] = n + 1
        self._next_start[g.name] = time.monotonic() + RESTART_PAUSE_S[min(n, len(RESTART_PAUSE_S) - 1)]

    def _tick(self, now: float) -> None:
        """A child that died is started again (after its pause); its open events close at its new incarnation."""
        if self._stop.is_set():
            return
        for g in self._groups:
            if g.name in self._starting:
                continue
            child = self._children.get(g.name)
            if child is not None and child.alive():
                if now - child.started > STABLE_S:
                    self._deaths.pop(g.name, None)
                continue
            if child is not None:  # it died: say so once, end what is left of it
                with self._lock:
                    del self._children[g.name]
                    g.handle, g.pending = None, None
                self._unreachable(g, f"process {child.pid} exited")
                child.end()
                self._died(g)
            if now >= self._next_start.get(g.name, 0.0):
                self._starting.add(g.name)
                self._calls.submit(self._spawn, g)

    def _end_groups(self, groups: list[Group]) -> None:
        """End every child (asked, then terminated, then killed), and the calls still waiting on one."""
        with self._lock:
            children = list(self._children.values())
            self._children.clear()
        for child in children:
            child.end()
        self._calls.shutdown(wait=True, cancel_futures=True)  # a start under way ends itself (stopped)
        self._polls.shutdown(wait=True, cancel_futures=True)

    # -- the transport: a proxy call on a worker thread ---------------------------------------------------------
    def _submit(self, g: Group, method: str, *args) -> Any:
        handle = g.handle
        if handle is None:
            failed: Future = Future()
            failed.set_exception(ConnectionError(f"camera process {g.name} is not running"))
            return failed
        return (self._polls if method == "poll" else self._calls).submit(getattr(handle, method), *args)

    def _ready(self, pending: list, timeout: float) -> list:
        return list(wait_futures(pending, timeout).done)

    def _result(self, pending: Any, timeout: float | None = None) -> Any:
        return pending.result(timeout)
