"""SIGKILL mid-event and restart; a second instance on the same database; a bad camera among good ones."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.app import health
from api.cli import app as cli_app
from api.service.runtime import start_runtime
from streams.recorder import RecorderConfig
from tests.faults.conftest import open_services, write_config
from tests.faults.rig import SITES, ClockFire, alerts, cameras_yaml, check_nothing_lost, wait_for
from tests.servers import free_port, postgres_ctl
from vigil.db.instance_lock import InstanceLock, InstanceLockedError
from vigil.outbox import Backoff

pytestmark = pytest.mark.slow  # real servers stopped and started, cameras paced in real time

ROOT = Path(__file__).resolve().parents[2]


def _status(path: Path) -> tuple[int, int]:
    try:
        opened, open_now = path.read_text().split()[:2]
        return int(opened), int(open_now)
    except (FileNotFoundError, ValueError):
        return 0, 0


def _start(cfg: Path, status: Path, env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "tests.faults.run_runtime", str(cfg), str(status)], cwd=ROOT,
                            env={**os.environ, **env, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def test_sigkill_mid_event_then_restart(tmp_path, clip):
    cfg, env = write_config(tmp_path, cameras_yaml({"gate": clip}))
    status = tmp_path / "status"
    first = _start(cfg, status, env)
    services = open_services(cfg, env)

    def mid_event():  # an event is open and its alert row is in (the ms between a rule's confirmation and the
        opened, open_now = _status(status)  # outbox's commit are the one window a kill can lose; see RELIABILITY)
        rows = alerts(services)
        return opened >= 2 and open_now >= 1 and len(rows) == opened and any(a.ongoing for a in rows) and opened

    try:
        opened_first = wait_for(mid_event, 90, "a second event, open, its alert in the database", step=0.05)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    status.unlink()
    second = _start(cfg, status, env)
    try:
        wait_for(lambda: _status(status)[0] >= 1, 60, "an event in the restarted process")
        second.send_signal(signal.SIGTERM)
        out, _ = second.communicate(timeout=60)
    finally:
        if second.poll() is None:
            second.kill()
    assert second.returncode == 0, out[-3000:]
    opened_second = _status(status)[0]
    rows = check_nothing_lost(services, opened_first + opened_second, cfg, env)
    print(f"SIGKILL mid-event: {opened_first} events before the kill, {opened_second} after the restart, "
          f"{len(rows)} alerts, none ongoing")
    services.close()


def test_a_second_instance_refuses(tmp_path, clip, own_postgres):
    from tests.faults.conftest import pg_database

    cfg, env = write_config(tmp_path, cameras_yaml({"gate": clip}))
    port = free_port()
    vigil = str(Path(sys.executable).parent / "vigil")
    first = subprocess.Popen([vigil, "serve", "-c", str(cfg), "--port", str(port)], cwd=ROOT,
                             env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for(lambda: (tmp_path / "data" / "vigil.db.instance.lock").exists(), 60, "the first instance's lock")
        time.sleep(1)
        second = subprocess.run([vigil, "serve", "-c", str(cfg), "--port", str(free_port())], cwd=ROOT,
                                env={**os.environ, **env}, capture_output=True, text=True, timeout=120)
        assert second.returncode == 2, second.stdout + second.stderr
        assert "another `vigil serve`" in second.stderr and "one instance per database" in second.stderr
        assert "Traceback" not in second.stderr
    finally:
        first.terminate()
        first.communicate(timeout=60)
    # PostgreSQL: the advisory lock, held by a session; it goes with the session
    (tmp_path / "pg").mkdir()
    services = open_services(*write_config(tmp_path / "pg", SITES, database_url=pg_database(
        own_postgres, "lock")))
    held = InstanceLock(services.engine, services.data_dir).acquire()
    try:
        InstanceLock(services.engine, services.data_dir).acquire()
        raise AssertionError("a second lock on the same PostgreSQL database was granted")
    except InstanceLockedError as e:
        assert "PostgreSQL advisory lock" in str(e)
    postgres_ctl(own_postgres, "restart")  # the lock's session is gone; the holder takes the lock again
    assert held.check() is None
    try:
        InstanceLock(services.engine, services.data_dir).acquire()
        raise AssertionError("after a PostgreSQL restart a second instance got the lock")
    except InstanceLockedError:
        pass
    held.release()
    InstanceLock(services.engine, services.data_dir).acquire().release()
    services.close()


def test_a_bad_camera_among_good_ones(tmp_path, clip):
    sources = {"good": clip, "typo": "rtsp:/host/stream", "web": "http://127.0.0.1:9/cam.mjpg", "gone": "/nope.mp4"}
    cfg, env = write_config(tmp_path, cameras_yaml(sources))
    result = CliRunner().invoke(cli_app, ["config", "check", str(cfg)], env=env)
    assert result.exit_code == 2
    for cid, scheme in (("typo", "rtsp"), ("web", "http")):
        assert f"cameras.{cid}.source: scheme {scheme}" in result.output, result.output
    assert "cameras.gone.source: expected a video file" in result.output and "cameras.good" not in result.output
    services = open_services(cfg, env)
    runtime = start_runtime(services, detectors={"site": ClockFire()}, backoff=Backoff(0.2, 2.0),
                            recorder_config=RecorderConfig(revision_interval_s=2), watch_models=False)
    try:
        wait_for(lambda: runtime.started.is_set(), 30, "the supervisor to start")
        wait_for(lambda: len(alerts(services)) >= 2, 60, "alerts from the good camera")
        states = runtime.camera_states()
        assert states["good"].state == "live"
        for cid in ("typo", "web", "gone"):
            assert states[cid].state == "offline" and states[cid].last_error, (cid, states[cid])
        body, problems = health(services, runtime)
        assert {p.split(":")[0] for p in problems if p.startswith("camera")} == {"camera typo", "camera web",
                                                                                 "camera gone"}
    finally:
        runtime.stop()
    check_nothing_lost(services, runtime.supervisor.recorder.opened, cfg, env)
    services.close()
