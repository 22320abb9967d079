"""A real Ray cluster on loopback for tests: a head and worker nodes (`ray start --block`), each its own process
tree, killed whole (a node lost) or stopped at teardown. Never `ray stop`: it would end every Ray on the machine.

Ray turns 127.0.0.1 into the host's outward address (`resolve_ip_for_localhost`), so the nodes use other
loopback addresses (127.0.0.2, 127.0.0.3, ...), which it leaves alone: nothing leaves the machine.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.servers import free_port

RAY = Path(sys.executable).with_name("ray")
# Quiet and quick: no usage stats; a lost node is declared dead after ~3 s instead of ~30 s (test only).
RAY_ENV = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_health_check_period_ms": "1000",
           "RAY_health_check_timeout_ms": "1000", "RAY_health_check_failure_threshold": "3",
           "RAY_DEDUP_LOGS": "0"}


def _children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                stat = Path(f"/proc/{d}/stat").read_text()
            except OSError:
                continue
            kids.setdefault(int(stat.rsplit(")", 1)[1].split()[1]), []).append(int(d))
    return kids


def process_tree(root: int) -> list[int]:
    kids, out, todo = _children(), [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(kids.get(pid, []))
    return out


@dataclass
class RayNode:
    """One `ray start --block` and everything it starts (raylet, agents, the actors' worker processes)."""

    ip: str
    log: Path
    proc: subprocess.Popen | None = None
    pids: list[int] = field(default_factory=list)

    def start(self, args: list[str], timeout: float = 90) -> "RayNode":
        if not RAY.exists():
            pytest.fail(f"{RAY} is missing: install Ray (`pip install -e '.[ray]'`, make install does)")
        out = self.log.open("w")
        self.proc = subprocess.Popen([str(RAY), "start", "--block", "--node-ip-address", self.ip,
                                      "--disable-usage-stats", *args], stdout=out, stderr=subprocess.STDOUT,
                                     env={**os.environ, **RAY_ENV}, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if "Ray runtime started" in self.log.read_text(errors="replace"):
                return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.3)
        tail = self.log.read_text(errors="replace")[-3000:]
        self.kill()
        pytest.fail(f"Ray could not start a node on {self.ip} ({' '.join(args)}):\n{tail}")

    def kill(self, sig: int = signal.SIGKILL) -> list[int]:
        """Signal the node's whole process tree at once (SIGKILL: the machine is gone); the pids signalled."""
        if self.proc is None:
            return []
        pids = process_tree(self.proc.pid)
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        if sig == signal.SIGKILL:
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                pass
        return pids

    def stop(self) -> None:
        if self.proc is None:
            return
        self.kill(signal.SIGTERM)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(Path(f"/proc/{p}").exists() for p in process_tree(self.proc.pid)[1:]):
            time.sleep(0.2)
        self.kill(signal.SIGKILL)
        self.proc = None


@dataclass
class RayCluster:
    head: RayNode
    workers: list[RayNode]
    address: str
    temp_dir: Path

    def stop(self) -> None:
        for node in [*self.workers, self.head]:
            node.stop()
        shutil.rmtree(self.temp_dir, ignore_errors=True)


def start_cluster(workers: list[dict], *, head_cpus: int = 4, worker_cpus: int = 2,
                  head_resources: dict | None = None) -> RayCluster:
    """A head on 127.0.0.2 and one worker per entry of `workers` (its custom resources) on 127.0.0.3, ..."""
    temp = Path(tempfile.mkdtemp(prefix="vr", dir="/tmp"))  # short: Ray's socket paths must fit 107 bytes
    port = free_port()
    head = RayNode("127.0.0.2", temp / "head.log")
    cluster = RayCluster(head, [], f"127.0.0.2:{port}", temp)
    try:
        head.start(["--head", "--port", str(port), "--num-cpus", str(head_cpus), "--include-dashboard", "false",
                    "--dashboard-port", str(free_port()), "--temp-dir", str(temp),
                    "--object-store-memory", str(150 << 20), "--resources", json.dumps(head_resources or {})])
        for i, resources in enumerate(workers):
            node = RayNode(f"127.0.0.{3 + i}", temp / f"worker{i}.log")
            cluster.workers.append(node)
            node.start(["--address", cluster.address, "--num-cpus", str(worker_cpus), "--resources",
                        json.dumps(resources), "--object-store-memory", str(100 << 20)])
    except BaseException:
        cluster.stop()
        raise
    return cluster
