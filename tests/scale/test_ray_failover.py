"""`vigil serve --ray`: four cameras over a real two-node Ray cluster on loopback; the worker node is killed
mid-event and its cameras come back on the head, with frames and alerts again and no event lost or duplicated.

Nothing is scripted: the vision tests' tiny real YOLO (fire = a red square) watches looped toy-world videos
with a fire in them, through the real streams, rules, recorder, outbox, database and evidence store. The API
(TestClient over `create_app`) shows the states the camera-group actors report.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from api.cluster.connect import ClusterOptions, disconnect
from streams.recorder import RecorderConfig
from tests.faults.conftest import open_services, write_config
from tests.faults.rig import alerts, check_nothing_lost
from tests.scale.ray_nodes import start_cluster
from tests.servers import free_port, wait_for
from tests.streams.conftest import make_fire_video, toy_onnx  # noqa: F401  (toy_onnx is a fixture)
from vigil.db.models import Alert

pytestmark = pytest.mark.slow  # a Ray cluster and four paced cameras

SITE_RESOURCE = "vigil-site-"  # the worker carries vigil-site-far, the head vigil-site-near: each site's cameras
# prefer its node (softly: when the node is lost, any live node takes them)


def _config(tmp_path: Path, model: Path, video: Path) -> tuple[Path, dict]:
    cams = "\n".join(
        f"  {cid}:\n    site: {site}\n    source: \"{video}\"\n    detect: {{fps: 5, width: 96, height: 96}}\n"
        f"    motion: {{enabled: false}}\n    record: {{pre_roll_s: 1, post_roll_s: 1}}\n"
        f"    rules: {{lab_fire: {{grace_s: 1.0, min_s: 0.5, cooldown_s: 0}}}}"
        for cid, site in (("n1", "near"), ("n2", "near"), ("f1", "far"), ("f2", "far")))
    body = (f"sites:\n  near: {{name: Near lab, kind: lab}}\n  far: {{name: Far lab, kind: lab}}\ncameras:\n{cams}\n"
            f"detectors:\n  lab: {{model: \"{model}\", imgsz: 64, conf: 0.25, threads: 1}}\n"
            f"server: {{metrics: {{open: true}}}}\nreliability: {{min_free_mb: 0}}")
    return write_config(tmp_path, body)


def _login(client: TestClient, services) -> None:
    from tests.web.seed import PASSWORD, add_role_users

    add_role_users(services)
    r = client.post("/api/auth/login", json={"username": "ada", "password": PASSWORD})
    assert r.status_code == 200, r.text


def _states(client: TestClient) -> dict[str, dict]:
    r = client.get("/api/cameras")
    assert r.status_code == 200, r.text
    return {c["id"]: c for c in r.json()["items"]}


def _metric(text: str, name: str) -> float:
    return sum(float(m.group(1)) for m in re.finditer(rf"^{name}(?:{{[^}}]*}})? ([0-9.e+-]+)$", text, re.M))


def _alerts_of(services, cameras: set[str], after=None) -> list[Alert]:
    with services.sessions() as s:
        q = select(Alert).where(Alert.camera_id.in_(cameras))
        if after is not None:
            q = q.where(Alert.created_at > after)
        return list(s.scalars(q))


def test_worker_node_lost_mid_event(tmp_path, toy_onnx):  # noqa: F811
    video = make_fire_video(tmp_path / "fire.mp4", seconds=8, fire=(1.5, 5.0))
    cfg, env = _config(tmp_path, toy_onnx, video)
    cluster = start_cluster([{SITE_RESOURCE + "far": 1}], head_resources={SITE_RESOURCE + "near": 1})
    services = open_services(cfg, env)
    options = ClusterOptions(cluster.address, group_size=2, group_cpus=1, lost_after_s=6)
    app = create_app(services, run_cameras=True, run_jobs=False, runtime_options={
        "cluster": options, "watch_models": False, "recorder_config": RecorderConfig(revision_interval_s=2)})
    head_ip, worker_ip = cluster.head.ip, cluster.workers[0].ip
    try:
        with TestClient(app) as client:
            runtime = app.state.runtime
            fleet = runtime.supervisor
            _login(client, services)
            wait_for(lambda: all(s["state"] == "live" for s in _states(client).values()), 120,
                     "all four cameras live, as their camera groups report")
            where = fleet.placement()
            assert {c: where[c]["node"] for c in where} == {"n1": head_ip, "n2": head_ip, "f1": worker_ip,
                                                            "f2": worker_ip}, where
            wait_for(lambda: {a.camera_id for a in alerts(services)} == {"n1", "n2", "f1", "f2"}, 90,
                     "an alert from every camera, on both nodes")
            metrics = client.get("/metrics").text
            assert all(f'camera="{c}"' in metrics for c in ("n1", "n2", "f1", "f2")), metrics[:2000]

            # mid-event on the worker: a far camera's alert is in the database and still ongoing
            wait_for(lambda: any(a.ongoing for a in _alerts_of(services, {"f1", "f2"})), 60,
                     "an event going on on the worker node", step=0.1)
            open_at_kill = [a.event_id for a in _alerts_of(services, {"f1", "f2"}) if a.ongoing]
            killed_at = max(a.created_at for a in alerts(services))
            pids = cluster.workers[0].kill()
            assert len(pids) >= 3, pids  # ray start, its raylet and the camera group's worker process at least

            wait_for(lambda: {_states(client)[c]["state"] for c in ("f1", "f2")} == {"reconnecting"}, 30,
                     "the far cameras shown reconnecting while their node is gone")
            wait_for(lambda: all(fleet.placement()[c]["node"] == head_ip and fleet.placement()[c]["restarts"] >= 1
                                 for c in ("f1", "f2")), 90, "the far cameras rescheduled onto the head")
            wait_for(lambda: all(s["state"] == "live" for s in _states(client).values()), 60,
                     "every camera live again")
            decoded = {c.status.camera_id: c.status.decoded for c in fleet.stats().cameras}
            wait_for(lambda: all(c.status.decoded > decoded[c.status.camera_id] + 10 for c in fleet.stats().cameras
                                 if c.status.camera_id in ("f1", "f2")), 30, "frames from the far cameras on the head")
            health = client.get("/healthz").json()["camera_states"]
            assert {c: (health[c]["node"], health[c]["restarts"]) for c in ("n1", "f1")} == {
                "n1": (head_ip, 0), "f1": (head_ip, 1)}, health
            wait_for(lambda: {a.camera_id for a in _alerts_of(services, {"f1", "f2"}, after=killed_at)}
                     == {"f1", "f2"}, 90, "new alerts from both far cameras after the failover")
            assert _metric(client.get("/metrics").text, "vigil_alerts_total") >= 6
            with services.sessions() as s:
                closed = {a.event_id: a for a in s.scalars(select(Alert).where(Alert.event_id.in_(open_at_kill)))}
            assert set(closed) == set(open_at_kill)
            wait_for(lambda: not any(a.ongoing for a in _alerts_of(services, {"f1", "f2"}, None)
                                     if a.event_id in open_at_kill), 30,
                     "the events open at the kill closed from their evidence")
        opened = fleet.recorder.opened
        rows = check_nothing_lost(services, opened, cfg, env)
        print(f"ray failover: {opened} events, {len(rows)} alerts; {len(open_at_kill)} open at the kill, closed")
    finally:
        disconnect()
        cluster.stop()
        services.close()


def test_serve_says_why_when_the_cluster_cannot_be_joined(tmp_path):
    """`vigil serve --ray` with no head at the address: one clear line and exit 2, nothing held or started."""
    cfg, env = write_config(tmp_path, "sites: {works: {name: Works}}")
    port = free_port()
    root = Path(__file__).resolve().parents[2]
    r = subprocess.run([sys.executable, "-m", "api.cli", "serve", "-c", str(cfg), "--ray", f"127.0.0.2:{port}",
                        "--port", str(free_port())], capture_output=True, text=True, timeout=120, cwd=root,
                       env={**os.environ, **env, "PYTHONPATH": str(root)})
    assert r.returncode == 2, r.stdout + r.stderr
    assert f"--ray 127.0.0.2:{port}: expected a Ray head" in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert not (tmp_path / "data" / "vigil.db.instance.lock").exists()


@pytest.mark.parametrize("kwargs, expected", [
    ({"detectors": "gpu"}, "--ray-detectors: expected one of auto, local, actor, found 'gpu'"),
    ({"group_size": 0}, "--ray-group-size: expected at least 1, found 0"),
])
def test_cluster_options_say_what_they_expected(kwargs, expected):
    from api.cluster.connect import ClusterUnavailableError

    with pytest.raises(ClusterUnavailableError) as e:
        ClusterOptions("127.0.0.2:6379", **kwargs)
    assert str(e.value) == expected


def test_groups_keep_a_site_together_in_chunks(tmp_path):
    from api.cluster.groups import plan_groups
    from vigil.config_loader import parse_config

    cams = "".join(f"  {c}: {{site: {s}, source: demo:site}}\n" for c, s in
                   (("a1", "a"), ("a2", "a"), ("a3", "a"), ("b1", "b")))
    loaded = parse_config(f"sites: {{a: {{name: A}}, b: {{name: B}}}}\ncameras:\n{cams}"
                          "  spare: {site: b, source: demo:site, enabled: false}\n", base_dir=tmp_path)
    assert plan_groups(loaded, 2) == [("a-0", "a", ["a1", "a2"]), ("a-1", "a", ["a3"]), ("b-0", "b", ["b1"])]


def test_detector_actor_serves_the_groups(tmp_path, toy_onnx):  # noqa: F811
    """`--ray-detectors actor` (what a GPU cluster gets by default): the groups send their batches to one detector
    actor per profile, and the alerts name the model it ran."""
    from api.service.runtime import start_runtime

    video = make_fire_video(tmp_path / "fire.mp4", seconds=8, fire=(1.5, 5.0))
    cfg, env = _config(tmp_path, toy_onnx, video)
    cluster = start_cluster([])
    services = open_services(cfg, env)
    runtime = None
    try:
        runtime = start_runtime(services, watch_models=False, cluster=ClusterOptions(
            cluster.address, group_size=4, group_cpus=0.5, detectors="actor"))
        wait_for(lambda: {a.camera_id for a in alerts(services)} >= {"n1", "f2"}, 120, "alerts through the detector "
                 "actor")
        stats = runtime.supervisor.stats()
        assert [d.profile for d in stats.detectors] == ["lab"] and stats.detectors[0].frames > 0, stats.detectors
        assert {a.model_name for a in alerts(services)} == {"lab"}
    finally:
        if runtime is not None:
            runtime.stop()
        disconnect()
        cluster.stop()
    check_nothing_lost(services, runtime.supervisor.recorder.opened, cfg, env)
    services.close()
