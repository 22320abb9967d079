"""`server.camera_processes: 2`: four RTSP cameras in two child processes of the service, end to end; one child is
killed -9 mid-event and comes back with frames and alerts again, no event lost or duplicated; stop leaves no child.

Nothing is scripted: the vision tests' tiny real YOLO (fire = a red square) watches a looped toy-world clip with a
fire in it, served by the real GStreamer RTSP server, through the real streams, rules, recorder, outbox, database
and evidence store. The API (TestClient over `create_app`) shows the states the child processes report.
"""
from __future__ import annotations

import multiprocessing
import os
import signal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from api.cluster.procs import ProcessFleet, plan_processes, resolve_processes
from streams.recorder import RecorderConfig
from tests.faults.conftest import open_services, write_config
from tests.faults.rig import alerts, check_nothing_lost
from tests.scale.test_ray_failover import _alerts_of, _login, _metric, _states
from tests.servers import free_port, wait_for
from tests.streams.conftest import RtspServer, make_fire_video, to_ts, toy_onnx  # noqa: F401  (toy_onnx: fixture)
from vigil.config_loader import parse_config
from vigil.db.models import EvidenceItem
from vigil.errors import ConfigError

pytestmark = pytest.mark.slow  # two child processes and four paced cameras

CAMERAS = ("a1", "a2", "b1", "b2")


def _config(tmp_path: Path, model: Path, urls: dict[str, str]) -> tuple[Path, dict]:
    cams = "\n".join(
        f"  {cid}:\n    site: works\n    source: \"{url}\"\n    detect: {{fps: 5, width: 96, height: 96}}\n"
        f"    motion: {{enabled: false}}\n    record: {{pre_roll_s: 1, post_roll_s: 1}}\n"
        f"    rules: {{lab_fire: {{grace_s: 1.0, min_s: 0.5, cooldown_s: 0}}}}" for cid, url in urls.items())
    body = (f"sites:\n  works: {{name: Works lab, kind: lab}}\ncameras:\n{cams}\n"
            f"detectors:\n  lab: {{model: \"{model}\", imgsz: 64, conf: 0.25, threads: 1}}\n"
            f"server: {{camera_processes: 2, metrics: {{open: true}}}}\nreliability: {{min_free_mb: 0}}")
    return write_config(tmp_path, body)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_two_camera_processes_end_to_end_and_a_killed_one_comes_back(tmp_path, toy_onnx):  # noqa: F811
    fire = to_ts(make_fire_video(tmp_path / "fire.mp4", seconds=8, fire=(1.5, 5.0)))
    server = RtspServer({cid: (fire, "h264") for cid in CAMERAS}).start()
    cfg, env = _config(tmp_path, toy_onnx, {cid: server.url(cid) for cid in CAMERAS})
    services = open_services(cfg, env)
    app = create_app(services, run_cameras=True, run_jobs=False, runtime_options={
        "watch_models": False, "recorder_config": RecorderConfig(revision_interval_s=2)})
    try:
        with TestClient(app) as client:
            fleet = app.state.runtime.supervisor
            assert isinstance(fleet, ProcessFleet), type(fleet)
            _login(client, services)
            wait_for(lambda: app.state.runtime.started.is_set(), 60, "the camera processes started")
            pids = fleet.pids()
            assert len(pids) == 2 and os.getpid() not in pids, pids
            assert all(Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()[1] == str(os.getpid())
                       for p in pids), "the camera processes are children of the service"
            wait_for(lambda: all(s["state"] == "live" for s in _states(client).values()), 90,
                     "all four cameras live, as their processes report")
            where = fleet.placement()
            assert {where[c]["group"] for c in CAMERAS} == {"proc-0", "proc-1"}, where
            wait_for(lambda: {a.camera_id for a in alerts(services)} == set(CAMERAS), 90,
                     "an alert from every camera, from both processes")
            assert all(f'camera="{c}"' in client.get("/metrics").text for c in CAMERAS)
            assert fleet.latest("a1") is not None, "the live snapshot comes from the child"
            r = client.get("/api/cameras/a1/snapshot.jpg")
            assert r.status_code == 200 and r.content[:2] == b"\xff\xd8", (r.status_code, r.text[:300])

            # mid-event in proc-1: one of its cameras' alerts is in the database and still ongoing
            victims = {c for c in CAMERAS if where[c]["group"] == "proc-1"}
            wait_for(lambda: any(a.ongoing for a in _alerts_of(services, victims)), 60,
                     "an event going on in the second process", step=0.1)
            open_at_kill = [a.event_id for a in _alerts_of(services, victims) if a.ongoing]
            killed_at = max(a.created_at for a in alerts(services))
            victim_pid = fleet.pid("proc-1")
            os.kill(victim_pid, signal.SIGKILL)

            wait_for(lambda: fleet.pid("proc-1") not in (None, victim_pid), 30, "a new second process")
            wait_for(lambda: all(fleet.placement()[c]["restarts"] >= 1 for c in victims), 60,
                     "its cameras counted as restarted")
            wait_for(lambda: all(s["state"] == "live" for s in _states(client).values()), 60,
                     "every camera live again")
            decoded = {c.status.camera_id: c.status.decoded for c in fleet.stats().cameras}
            wait_for(lambda: all(c.status.decoded > decoded[c.status.camera_id] + 10 for c in fleet.stats().cameras
                                 if c.status.camera_id in victims), 30, "frames again from the restarted process")
            health = client.get("/healthz").json()["camera_states"]
            assert all(health[c]["restarts"] == 1 for c in victims), health
            assert not any(health[c]["restarts"] for c in set(CAMERAS) - victims), health
            wait_for(lambda: {a.camera_id for a in _alerts_of(services, victims, after=killed_at)} == victims, 90,
                     "new alerts from the restarted process's cameras")
            assert _metric(client.get("/metrics").text, "vigil_alerts_total") >= 6
            wait_for(lambda: not any(a.ongoing for a in _alerts_of(services, victims) if a.event_id in open_at_kill),
                     30, "the events open at the kill closed from their evidence")
            pids = fleet.pids()
        assert not any(_alive(p) for p in pids + [victim_pid]), "a camera process outlived the service"
        assert multiprocessing.active_children() == []
        opened = fleet.recorder.opened
        rows = check_nothing_lost(services, opened, cfg, env)
        with services.sessions() as session:
            with_clip = {e.alert_id for e in session.scalars(select(EvidenceItem)) if e.content_type == "video/mp4"}
        assert with_clip, "evidence clips are cut in the child processes"
        print(f"camera processes: {opened} events, {len(rows)} alerts ({len(with_clip)} with a clip); "
              f"{len(open_at_kill)} open at the kill, closed")
    finally:
        server.stop()
        services.close()


def test_how_many_processes_and_which_cameras():
    assert resolve_processes(1, 40) == 1
    assert resolve_processes(4, 3) == 3  # never more processes than cameras
    assert resolve_processes("auto", 12, cores=2) == 1  # fewer than 8 cameras each: one process
    assert resolve_processes("auto", 16, cores=2) == 2
    assert resolve_processes("auto", 64, cores=2) == 2
    cams = "\n".join(f"  c{i}: {{site: {'s1' if i < 3 else 's2'}, source: 'rtsp://cam{i}/'"
                     f"{', enabled: false' if i == 4 else ''}}}" for i in range(6))
    loaded = parse_config(f"sites:\n  s1: {{name: One}}\n  s2: {{name: Two}}\ncameras:\n{cams}\n")
    assert plan_processes(loaded, 2) == [("proc-0", ["c0", "c1", "c2"]), ("proc-1", ["c3", "c5"])]
    assert plan_processes(loaded, 8) == [(f"proc-{i}", [c]) for i, c in enumerate(["c0", "c1", "c2", "c3", "c5"])]
    with pytest.raises(ConfigError, match="camera_processes: expected auto or a number of processes from 1 to 256, "
                                          "found 0"):
        parse_config("server: {camera_processes: 0}")


def _camera_children(pid: int) -> list[int]:
    """The camera processes of service `pid` (its spawned children; not multiprocessing's resource tracker)."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if Path(entry, "stat").read_text().rsplit(")", 1)[1].split()[1] == str(pid) \
                        and b"spawn_main" in Path(entry, "cmdline").read_bytes():
                    out.append(int(entry.name))
            except OSError:
                continue
    return [p for p in out if _alive(p)]


def _serve(tmp_path: Path, name: str):
    import subprocess
    import sys

    cams = "\n".join(f"  c{i}: {{site: works, source: 'rtsp://127.0.0.1:9/none'}}" for i in range(4))
    cfg, env = write_config(tmp_path / name, f"sites:\n  works: {{name: Works}}\ncameras:\n{cams}\n"
                                             f"server: {{camera_processes: 2}}\nreliability: {{min_free_mb: 0}}")
    root = Path(__file__).resolve().parents[2]
    log = open(tmp_path / f"{name}.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "-c", str(cfg), "--port", str(free_port())],
                            cwd=root, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                            env={**os.environ, **env, "PYTHONPATH": str(root)})
    try:
        wait_for(lambda: (tmp_path / f"{name}.log").read_text().count("api.cluster.actors: camera group") == 2, 90,
                 f"two camera groups started under `vigil serve` (log: {tmp_path / name}.log)")
        kids = _camera_children(proc.pid)
        assert len(kids) == 2, kids
    except BaseException:
        os.killpg(proc.pid, signal.SIGKILL)  # the children follow within a second (their parent watch)
        proc.wait(10)
        log.close()
        raise
    return proc, kids, log


def test_no_camera_process_outlives_the_service(tmp_path):
    """SIGTERM to the whole process group (systemd, Ctrl-C): the service stops its children itself, none is left.
    The service killed -9 alone: its children notice and exit within seconds."""
    proc, kids, log = _serve(tmp_path, "term")
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        code = proc.wait(60)  # uvicorn stops gracefully, then ends by the signal it caught (-15)
        text = (tmp_path / "term.log").read_text()
        assert code in (0, -signal.SIGTERM) and "Application shutdown complete" in text, f"exit {code}: {text[-3000:]}"
        wait_for(lambda: not any(_alive(p) for p in kids), 10, "the camera processes gone with the service")
    finally:
        log.close()
    proc, kids, log = _serve(tmp_path, "kill")
    try:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        wait_for(lambda: not any(_alive(p) for p in kids), 10, "the orphaned camera processes exited")
    finally:
        for p in kids:
            if _alive(p):
                os.kill(p, signal.SIGKILL)
        log.close()
