"""Dataset builds requested through the API run in a worker process and can be stopped: a cancel (while it
renders scenes, or while it writes the version) ends the worker and leaves nothing half written; a worker killed
from outside leaves the build failed saying so; the next build then runs."""
from __future__ import annotations

import os
import signal

import psutil
import pytest

from tests.servers import wait_for
from tests.training.test_job_workers import _gone
from tests.web.test_models_jobs import SCENES, bearer, services  # noqa: F401  (fixtures)

# what data staff asked for when the server grew by 3 MB/s until restarted: 50 scenes of 600 s
HUGE = {"profile": "site", "reviews": False, "scene_seeds": list(range(10, 60)), "scene_duration_s": 600,
        "scene_fps": 10, "wait_s": 0}
# 6,000 images: about 6 s of writing the version on a quiet 2-core box, to catch it in the act (the write
# stage counts images as they are written)
WRITES = {"profile": "site", "reviews": False, "scene_seeds": list(range(10, 16)), "scene_duration_s": 250,
          "scene_fps": 4, "wait_s": 0}


@pytest.mark.slow
@pytest.mark.parametrize("request_body,stage,stop,status,says", [
    (HUGE, "scenes", "cancel", "cancelled", ""),  # stopped cleanly: nothing to say
    (WRITES, "write", "cancel", "cancelled", ""),
    (HUGE, "scenes", "sigkill", "failed", "its worker process (pid {pid}) was killed by SIGKILL before the build "
                                          "finished"),
])
def test_a_dataset_build_runs_in_a_worker_and_can_be_stopped(services, bearer, request_body, stage, stop,
                                                             status, says):
    from fastapi.testclient import TestClient

    from api.app import create_app

    staff = bearer["data_staff"]
    with TestClient(create_app(services, run_cameras=False), headers=staff) as c:
        builds = c.app.state.jobs.builds
        r = c.post("/api/datasets", json=request_body)
        assert r.status_code == 202, r.text
        where, bid = r.headers["location"], r.json()["build"]["id"]
        pid = wait_for(lambda: builds.worker_pids().get(bid), 60, "the build's worker process")
        assert pid != os.getpid() and psutil.Process(pid).ppid() == os.getpid()
        wait_for(lambda: (b := c.get(where).json())["stage"] == stage and b["items"] > 0, 240, f"stage {stage}")
        if stop == "cancel":
            r = c.post(f"/api/datasets/builds/{bid}/cancel")
            assert r.status_code == 200 and r.json()["status"] == status, r.text
        else:
            os.kill(pid, signal.SIGKILL)
        build = wait_for(lambda: (b := c.get(where).json())["status"] != "running" and b, 30, "the build to end")
        assert build["status"] == status and build["finished_at"] and build["version"] is None
        assert build["error"] == says.format(pid=pid), build
        assert build["pid"] == pid  # the worker that ran it, kept with the build
        assert _gone(pid) and builds.worker_pids() == {}
        assert c.post(f"/api/datasets/builds/{bid}/cancel").status_code == 409
        assert c.get("/api/datasets").json()["total"] == 0
        root = services.data_dir / "datasets"
        assert not root.exists() or [p.name for p in root.iterdir()] == []  # no staging folder left behind
        # the build lock is free again: a small build goes through
        r = c.post("/api/datasets", json={**SCENES, "wait_s": 30})
        assert r.status_code == 201 and r.json()["version"]["name"] == "site-v1", r.text
        assert c.post("/api/datasets/builds/999/cancel").status_code == 404


@pytest.mark.slow
def test_a_queued_build_cancels_and_a_server_stop_fails_running_and_queued_builds_as_interrupted(services, bearer):
    from fastapi.testclient import TestClient

    from api.app import create_app

    with TestClient(create_app(services, run_cameras=False), headers=bearer["data_staff"]) as c:
        builds = c.app.state.jobs.builds
        bid = c.post("/api/datasets", json=HUGE).json()["build"]["id"]
        pid = wait_for(lambda: builds.worker_pids().get(bid), 60, "the build's worker process")
        wait_for(lambda: c.get(f"/api/datasets/builds/{bid}").json()["items"] > 0, 240, "the first scene frames")
        # builds wait their turn (one at a time): a queued one is cancelled before it starts
        queued = c.post("/api/datasets", json={**SCENES, "wait_s": 0}).json()["build"]
        assert queued["stage"] == "queued"
        r = c.post(f"/api/datasets/builds/{queued['id']}/cancel")
        assert r.status_code == 200 and r.json()["status"] == "cancelled", r.text
        assert r.json()["error"] == "cancelled before it started"
        waiting = c.post("/api/datasets", json={**SCENES, "wait_s": 0}).json()["build"]["id"]
    # the lifespan's stop waited for the worker to end
    assert _gone(pid)
    build = builds.get(bid)
    assert build.status == "failed" and build.finished_at
    assert build.error == "interrupted: the server shut down; request it again"
    assert builds.get(waiting).error == "interrupted: the server shut down before it started; request it again"

    # a restart keeps the list; a build a killed server left "running" is failed, saying why
    from vigil.db.models import DatasetBuild

    with services.sessions() as s:
        s.add(DatasetBuild(profile="site", status="running", stage="scenes", items=12, created_by="dana"))
        s.commit()
        orphan = s.query(DatasetBuild).order_by(DatasetBuild.id.desc()).first().id
    with TestClient(create_app(services, run_cameras=False), headers=bearer["data_staff"]) as c:
        listed = {b["id"]: b for b in c.get("/api/datasets/builds").json()["items"]}
        assert {bid, queued["id"], waiting, orphan} <= set(listed)
        assert listed[bid]["status"] == "failed" and listed[bid]["pid"] == pid
        assert listed[queued["id"]]["status"] == "cancelled"
        assert listed[orphan]["status"] == "failed" and listed[orphan]["finished_at"]
        assert listed[orphan]["error"] == "interrupted: the server stopped before the build finished; request it again"
        assert c.post(f"/api/datasets/builds/{orphan}/cancel").status_code == 409
