"""Data staff through the API: dataset builds, training jobs live over SSE, cancel, the promotion gate, roles."""
from __future__ import annotations

import json
import threading
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from api.auth.users import create_token
from api.context import Services
from datasets.versions import BuildSpec, build_dataset
from tests.training.conftest import site_toy_model  # noqa: F401  (fixture)
from tests.web.conftest import SHARED, LiveServer
from tests.servers import wait_for
from tests.web.seed import ROLE_USERS, add_role_users
from training.registry import register_model
from vigil import audit
from vigil.catalogue import PROFILE_CLASSES
from vigil.config_loader import load_config
from vigil.db.models import User
from vigil.settings import Settings

SITE = PROFILE_CLASSES["site"]
SCENES = {"profile": "site", "reviews": False, "scene_seeds": [3, 4, 5], "scene_duration_s": 3, "scene_fps": 1}

CONFIG = """data_dir: {tmp}/data
shared_dir: {shared}
sites: {{works: {{name: Riverside Works, kind: site}}}}
storage: {{database_url: "sqlite:///{tmp}/vigil.db", evidence: {{backend: local, path: evidence}}}}
training: {{eval_scene_seeds: [9901], eval_scene_s: 4, max_concurrent_jobs: 1}}
"""


@pytest.fixture
def services(tmp_path):
    """Services over SQLite with one short held-out scene for evaluation, and a user of every role."""
    cfg = tmp_path / "vigil.yaml"
    cfg.write_text(CONFIG.format(tmp=tmp_path, shared=SHARED))
    settings = Settings.from_env({}, config_path=cfg)
    services = Services.open(settings, load_config(cfg, {}))
    add_role_users(services)
    yield services
    services.close()


@pytest.fixture
def bearer(services) -> dict[str, dict]:
    with services.sessions() as s:
        ids = {u.username: u.id for u in s.scalars(select(User))}
    return {role: {"Authorization": f"Bearer {create_token(services.sessions, ids[name], 't')}"}
            for role, name in ROLE_USERS.items()}


@pytest.fixture
def api_client(services):
    from fastapi.testclient import TestClient

    from api.app import create_app

    with TestClient(create_app(services, run_cameras=False)) as c:
        yield c


class SseReader:
    """Reads /api/events on a thread and keeps every job.progress payload; stops at `until(payload)`."""

    def __init__(self, url: str, headers: dict, until):
        self.events: list[dict] = []
        self.connected = threading.Event()
        self.finished = threading.Event()
        self._args = (url, headers, until)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        assert self.connected.wait(15), "the SSE stream did not open"

    def _run(self) -> None:
        url, headers, until = self._args
        with httpx.Client(timeout=httpx.Timeout(5, read=120)) as http:
            with http.stream("GET", f"{url}/api/events", headers=headers) as r:
                assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
                kind = None
                for line in r.iter_lines():
                    self.connected.set()
                    if line.startswith("event: "):
                        kind = line[7:]
                    elif line.startswith("data: ") and kind == "job.progress":
                        payload = json.loads(line[6:])
                        self.events.append(payload)
                        if until(payload):
                            break
        self.finished.set()


@pytest.mark.slow
def test_build_train_live_progress_over_sse_and_cancel(services, bearer):
    """A dataset built in the background; a long job cancelled mid-training (cancelling -> cancelled over SSE,
    nothing registered); the job queued behind it then runs queued -> running -> done with job.progress over SSE
    and its candidate registered with its evaluation; a queued job cancelled at once; 409 once a job ended."""
    from api.app import create_app
    from tests.servers import free_port

    server = LiveServer(create_app(services, run_cameras=False), free_port()).start()
    staff = bearer["data_staff"]
    try:
        http = httpx.Client(base_url=server.url, headers=staff, timeout=30)
        r = http.post("/api/datasets", json={**SCENES, "wait_s": 0})
        assert r.status_code == 202 and r.headers["location"] == f"/api/datasets/builds/{r.json()['build']['id']}"
        build = wait_for(lambda: (b := http.get(r.headers["location"]).json())["status"] != "running" and b, 60,
                      "the dataset build")
        assert build["status"] == "done", build
        name = build["version"]["name"]
        assert name == "site-v1" and build["version"]["stats"]["images"] == 9
        assert [d["name"] for d in http.get("/api/datasets").json()["items"]] == [name]

        first: dict = {}
        sse = SseReader(server.url, staff, lambda p: p["id"] == first.get("id") and p["status"] in ("done", "failed"))
        long = http.post("/api/jobs", json={"dataset": name, "epochs": 500, "imgsz": 64, "batch": 8})
        assert long.status_code == 201, long.text
        long_id = long.json()["id"]
        job = http.post("/api/jobs", json={"dataset": name, "epochs": 1, "imgsz": 64, "batch": 8})
        assert job.status_code == 201 and job.json()["status"] == "queued", job.text
        first.update(job.json())
        assert first["dataset_version"] == name
        second = http.post("/api/jobs", json={"dataset": build["version"]["id"], "epochs": 1, "imgsz": 64})
        assert second.status_code == 201 and second.json()["status"] == "queued", second.text
        cancelled = http.post(f"/api/jobs/{second.json()['id']}/cancel")
        assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
        again = http.post(f"/api/jobs/{second.json()['id']}/cancel")
        assert again.status_code == 409
        assert again.json()["detail"] == (f"job {second.json()['id']} is cancelled; only a queued or running job "
                                          f"can be cancelled")

        # the long job, mid-training: asked to stop, it stops, and the runner takes the next queued job
        wait_for(lambda: (j := http.get(f"/api/jobs/{long_id}").json())["status"] == "running" and j["epoch"] >= 1,
              120, "the long job's first epoch")
        stopping = http.post(f"/api/jobs/{long_id}/cancel")
        assert stopping.status_code == 202 and stopping.json()["status"] == "cancelling", stopping.text
        stopped = wait_for(lambda: (j := http.get(f"/api/jobs/{long_id}").json())["status"] != "cancelling" and j, 60,
                        "the long job to stop")
        assert stopped["status"] == "cancelled" and stopped["model_version_id"] is None and stopped["finished_at"]
        assert 1 <= stopped["epoch"] < 500 and stopped["metrics"]["history"]  # its curves are kept
        late = http.post(f"/api/jobs/{long_id}/cancel")
        assert late.status_code == 409 and f"job {long_id} is cancelled" in late.json()["detail"]

        assert sse.finished.wait(100), f"job did not finish; events: {sse.events}"
        long_states = [e["status"] for e in sse.events if e["id"] == long_id]
        assert long_states[-1] == "cancelled" and "cancelling" in long_states and "done" not in long_states
        assert "registering" not in long_states, long_states
        mine = [e for e in sse.events if e["id"] == first["id"]]
        statuses = [e["status"] for e in mine]
        assert statuses[0] == "queued" and "running" in statuses and statuses[-1] == "done", statuses
        epoch_events = [e for e in mine if e["status"] == "running" and e["epoch"] == 1]
        assert epoch_events and epoch_events[0]["epochs"] == 1 and "epoch" in epoch_events[0]["latest"]
        assert {"id": second.json()["id"], "status": "cancelled"}.items() <= next(
            e for e in sse.events if e["id"] == second.json()["id"] and e["status"] == "cancelled").items()
        finished = http.post(f"/api/jobs/{first['id']}/cancel")  # done: nothing to cancel
        assert finished.status_code == 409 and f"job {first['id']} is done" in finished.json()["detail"]

        done = http.get(f"/api/jobs/{first['id']}").json()
        assert done["status"] == "done" and done["model_version_id"] == mine[-1]["model_version_id"]
        assert done["metrics"]["history"][0]["epoch"] == 1
        model = http.get(f"/api/models/{done['model_version_id']}").json()
        assert model["status"] == "candidate" and model["dataset_version"] == name
        assert "map50" in model["metrics"]["evaluation"]["candidate"]
        assert "false_violations_per_hour" in model["metrics"]["evaluation"]["candidate"]
        # the cancelled job left nothing in the registry: one model, the next job's, and only its files
        models = http.get("/api/models").json()
        assert [(m["version"], m["metrics"]["job_id"]) for m in models["items"]] == [("v1", first["id"])]
        assert sorted(f.name for f in (services.data_dir / "models" / "site").iterdir()) == ["v1.onnx", "v1.pt"]
    finally:
        server.stop()
    with services.sessions() as s:
        entries = list(s.scalars(select(audit.AuditEntry).order_by(audit.AuditEntry.id)))
    actions = [e.action for e in entries]
    assert {"dataset.build", "job.submit", "job.cancel", "model.register"} <= set(actions)
    assert actions.count("model.register") == 1
    assert [(e.target_id, e.detail) for e in entries if e.action == "job.cancel"] == [
        (str(second.json()["id"]), {"status": "cancelled"}), (str(long_id), {"status": "cancelling"})]


def test_dataset_and_job_requests_are_validated(api_client, services, bearer):
    staff = bearer["data_staff"]
    post = lambda path, body: api_client.post(path, json=body, headers=staff)  # noqa: E731
    for body, says in (({"profile": "kitchen"}, "profile: expected one of"),
                       ({"profile": "site", "reviews": False}, "nothing to build from"),
                       ({**SCENES, "scene_seeds": [3, 9901]}, "held-out evaluation scenes"),
                       ({**SCENES, "include": ["site-v9"]}, "unknown dataset version 'site-v9'"),
                       ({**SCENES, "name": "Bad Name"}, "name: expected lower-case")):
        r = post("/api/datasets", body)
        assert r.status_code == 422 and says in r.json()["detail"], (body, r.text)
    r = post("/api/datasets", {**SCENES, "wait_s": 30})
    assert r.status_code == 201 and r.json()["version"]["name"] == "site-v1", r.text
    same = post("/api/datasets", {**SCENES, "wait_s": 30})  # identical content: the existing version
    assert same.status_code == 201 and same.json()["version"]["created"] is False
    assert post("/api/datasets", {**SCENES, "name": "site-v1"}).json()["detail"].endswith("choose another name")

    def refused(body: dict, field: str, says: str) -> None:
        r = post("/api/jobs", body)
        assert r.status_code == 422, (body, r.text)
        detail = r.json()["detail"]
        text = detail if isinstance(detail, str) else json.dumps(detail)
        assert says in text and field in text, (body, detail)

    refused({"dataset": "nope", "epochs": 1}, "dataset", "unknown dataset version 'nope'; known: site-v1")
    refused({"dataset": "site-v1", "epochs": 0}, "epochs", "greater than or equal to 1")
    refused({"dataset": "site-v1", "imgsz": 100}, "imgsz", "multiple of 32")
    refused({"dataset": "site-v1", "device": "gpu"}, "device", "expected cpu or CUDA")
    refused({"dataset": "site-v1", "epochz": 3}, "epochz", "Extra inputs are not permitted")
    refused({"dataset": "site-v1", "base": "promoted"}, "base", "no promoted site model")
    refused({"dataset": "site-v1", "base": "yolo"}, "base", "'scratch' or 'promoted'")
    assert api_client.post("/api/jobs/999/cancel", headers=staff).status_code == 404
    assert api_client.get("/api/datasets/builds/999", headers=staff).status_code == 404
    assert api_client.get("/api/jobs", headers=staff).json()["total"] == 0  # nothing was queued


def test_roles_for_datasets_jobs_and_promotion(api_client, bearer):
    for role in ("operator", "reviewer", "officer"):
        h = bearer[role]
        assert api_client.post("/api/datasets", json=SCENES, headers=h).status_code == 403
        assert api_client.post("/api/jobs", json={"dataset": "site-v1"}, headers=h).status_code == 403
        assert api_client.post("/api/jobs/1/cancel", headers=h).status_code == 403
        assert api_client.post("/api/models/1/promote", json={}, headers=h).status_code == 403
        assert api_client.get("/api/datasets/builds", headers=h).status_code == 403
    assert api_client.post("/api/datasets", json=SCENES).status_code == 401
    for role in ("data_staff", "admin"):
        assert api_client.get("/api/datasets/builds", headers=bearer[role]).status_code == 200


def _evaluation(cand: float, base: float | None, baseline_id: int | None) -> dict:
    return {"imgsz": 64, "evaluation": {"candidate": {"map50": cand},
                                        "baseline": None if base is None else {"map50": base},
                                        "baseline_id": baseline_id}}


def test_promote_gate_refusal_admin_force_and_re_evaluation(api_client, services, bearer, site_toy_model):
    S, d = services.sessions, services.data_dir
    v = build_dataset(S, services.store, d, BuildSpec("site", reviews=False, scene_seeds=(3, 4, 5),
                                                      scene_duration_s=3, scene_fps=1))

    def reg(metrics: dict) -> int:
        return register_model(S, d, Path(site_toy_model.onnx), profile="site", classes=SITE,
                              dataset_version_id=v.id, metrics=metrics, trained_by="dana").id

    staff, admin = bearer["data_staff"], bearer["admin"]
    promote = lambda mid, h, force=False: api_client.post(f"/api/models/{mid}/promote",  # noqa: E731
                                                          json={"force": force}, headers=h)
    m1 = reg(_evaluation(0.6, None, None))
    r = promote(m1, staff)
    assert r.status_code == 200 and r.json()["gate"]["allowed"] and r.json()["previous"] is None
    m2 = reg(_evaluation(0.4, 0.6, m1))
    refused = promote(m2, staff)
    assert refused.status_code == 409
    assert "worse than promoted v1" in refused.json()["detail"] and refused.json()["gate"]["allowed"] is False
    forced_by_staff = promote(m2, staff, force=True)
    assert forced_by_staff.status_code == 403 and "admin" in forced_by_staff.json()["detail"]
    forced = promote(m2, admin, force=True)
    assert forced.status_code == 200 and forced.json()["forced"] and forced.json()["previous"]["id"] == m1
    # measured against v1 when trained, but v2 is promoted now: the API re-evaluates both (same weights: not worse)
    m3 = reg(_evaluation(0.9, 0.6, m1))
    again = promote(m3, staff)
    assert again.status_code == 200, again.text
    assert "not worse than promoted v2" in again.json()["gate"]["reason"]
    assert promote(m3, staff).status_code == 409  # already promoted
    assert promote(999, staff).status_code == 404
    back = api_client.post("/api/models/rollback", json={"profile": "site"}, headers=staff)
    assert back.status_code == 200 and back.json()["model"]["version"] == "v2"
    assert api_client.post("/api/models/rollback", json={"profile": "kitchen"}, headers=staff).status_code == 422
