"""Cameras, zones and masks edited through the API: admins only, checked like `vigil config check` (422 naming the
camera, nothing stored on a bad request), audited, persisted in the database over the YAML (which stays the seed and
is never written), and sources whose passwords never come back to the browser or reach the audit log."""
from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import func, select

from api.auth.users import create_token
from tests.web.conftest import open_web_services
from tests.web.seed import add_role_users
from vigil.db.models import AuditEntry, Camera, CameraOverride, User

SQUARE = [[0.1, 0.1], [0.5, 0.1], [0.5, 0.5], [0.1, 0.5]]
TYPED_PW = "typed-in-pw-9731"


def stored(services) -> tuple[dict, int]:
    """Every override and the number of audit entries: what a refused request must leave as it was."""
    with services.sessions() as s:
        overrides = {r.camera_id: r.config for r in s.scalars(select(CameraOverride))}
        return overrides, s.scalar(select(func.count(AuditEntry.id)))


def test_only_admins_may_read_or_edit_a_camera(client, bearer):
    for role in ("operator", "reviewer", "officer", "data_staff"):
        assert client.get("/api/cameras/gate/config", headers=bearer[role]).status_code == 403
        r = client.put("/api/cameras/gate/zones", headers=bearer[role], json={"zones": {}})
        assert r.status_code == 403
        assert client.delete("/api/cameras/gate", headers=bearer[role]).status_code == 403
    assert client.get("/api/cameras/gate/config", headers=bearer["admin"]).status_code == 200
    assert client.get("/api/cameras/nope/config", headers=bearer["admin"]).status_code == 404


def test_a_source_password_is_never_sent_back_and_a_reference_is_shown(client, bearer, web_services):
    bench = client.get("/api/cameras/bench/config", headers=bearer["admin"]).json()
    assert bench["source"] == "rtsp://viewer:${CAM_PW}@127.0.0.1:9/bench"  # the YAML's ${ENV} reference, not its value
    assert bench["origin"] == "yaml" and bench["profile"] == "lab"
    r = client.post("/api/cameras", headers=bearer["admin"],
                    json={"id": "east", "site": "works", "source": f"rtsp://admin:{TYPED_PW}@127.0.0.1:9/east"})
    assert r.status_code == 201, r.text
    assert r.json()["source"] == "rtsp://admin:***@127.0.0.1:9/east" and TYPED_PW not in r.text
    # sent back with *** and a new host, it keeps the password
    r = client.put("/api/cameras/east", headers=bearer["admin"], json={"source": "rtsp://admin:***@127.0.0.2:9/e"})
    assert r.status_code == 200 and r.json()["source"] == "rtsp://admin:***@127.0.0.2:9/e"
    overrides, _ = stored(web_services)
    assert overrides["east"]["source"] == f"rtsp://admin:{TYPED_PW}@127.0.0.2:9/e"
    assert web_services.loaded.config.cameras["east"].source.endswith("@127.0.0.2:9/e")
    assert TYPED_PW in web_services.loaded.secrets  # redacted from logs and errors from now on
    for path in ("/api/cameras", "/api/cameras/east", "/api/cameras/east/config"):
        assert TYPED_PW not in client.get(path, headers=bearer["admin"]).text
    with web_services.sessions() as s:
        details = [json.dumps(a.detail) for a in s.scalars(select(AuditEntry))]
        assert s.get(Camera, "east").source_redacted == "rtsp://admin:***@127.0.0.2:9/e"
    assert details and not any(TYPED_PW in d or "cam-secret-pw" in d for d in details)
    # the YAML camera's reference is kept when its source comes back unchanged
    r = client.put("/api/cameras/bench", headers=bearer["admin"],
                   json={"source": "rtsp://viewer:${CAM_PW}@127.0.0.1:9/bench", "name": "Bench 3"})
    assert r.status_code == 200
    assert stored(web_services)[0]["bench"]["source"] == "rtsp://viewer:${CAM_PW}@127.0.0.1:9/bench"


BAD_ZONES = [  # (body, status, what the message says): 422 when the schema refuses it, 409 when the config does
    ({"zones": {"pit": {"polygon": SQUARE[:2]}}}, 422, "at least 3 items"),
    ({"zones": {"pit": {"polygon": [[0.1, 0.1], [1.5, 0.1], [0.5, 0.5]]}}}, 422, "less than or equal to 1"),
    ({"zones": {"pit": {"polygon": SQUARE, "rules": ["campfire"]}}}, 422, "open_burning"),
    ({"masks": [[[0.1, 0.1], [0.2, 0.2]]]}, 422, "at least 3 items"),
    ({"zones": {"pit": {"polygon": SQUARE, "anchor": "top"}}}, 422, "anchor"),
    ({"zones": {"pit": {"polygon": SQUARE, "colour": "red"}}}, 422, "colour"),
    ({"zones": {"pit": {"polygon": SQUARE, "rules": ["lab_fire"]}}}, 409,
     "camera 'gate': camera 'gate' has profile 'site' but overrides rule 'lab_fire' of profile 'lab'"),
]


@pytest.mark.parametrize("body, status, expected", BAD_ZONES)
def test_bad_zones_are_refused_with_a_clear_message_and_nothing_changes(client, bearer, web_services, body, status,
                                                                         expected):
    before = stored(web_services)
    r = client.put("/api/cameras/gate/zones", headers=bearer["admin"], json=body)
    assert r.status_code == status
    assert expected in json.dumps(r.json()["detail"], ensure_ascii=False), r.text
    assert stored(web_services) == before
    assert web_services.loaded.config.cameras["gate"].zones == {}


BAD_CAMERAS = [
    ({"id": "c1", "site": "works", "source": "http://127.0.0.1/cam.mjpg"}, 409, "scheme http: not a camera source"),
    ({"id": "c1", "site": "works", "source": "ftp://127.0.0.1/cam"}, 409, "found scheme 'ftp'"),
    ({"id": "c1", "site": "works", "source": "/nowhere/cam.mp4"}, 409, "expected a video file at /nowhere/cam.mp4"),
    ({"id": "c1", "site": "moon", "source": "demo:site"}, 409, "names site 'moon', which is not under sites"),
    ({"id": "c1", "site": "works", "source": "demo:site", "profile": "ocean"}, 422, "profile"),
    ({"id": "c1", "site": "works", "source": "demo:site", "detect": {"fps": 0}}, 422, "fps"),
    ({"id": "c1", "site": "works", "source": "demo:site", "name": None}, 422, "name"),
    ({"id": "C 1", "site": "works", "source": "demo:site"}, 422, "id"),
    ({"id": "gate", "site": "works", "source": "demo:site"}, 409, "exists already"),
    ({"id": "c1", "site": "works", "source": "rtsp://admin:***@127.0.0.1:9/west"}, 409, "full source"),
]


@pytest.mark.parametrize("body, status, expected", BAD_CAMERAS)
def test_bad_cameras_are_refused_naming_the_camera(client, bearer, web_services, body, status, expected):
    before = stored(web_services)
    r = client.post("/api/cameras", headers=bearer["admin"], json=body)
    assert r.status_code == status and expected in json.dumps(r.json()["detail"]), r.text
    if status == 409 and body["id"] == "c1":
        assert r.json()["detail"].startswith("camera 'c1': ")
    assert stored(web_services) == before and "c1" not in web_services.loaded.config.cameras


def test_zones_are_audited_persisted_over_the_yaml_and_survive_a_restart(tmp_path, client, bearer, web_services):
    yaml_before = (tmp_path / "vigil.yaml").read_text()
    body = {"zones": {"pit": {"polygon": SQUARE, "rules": ["dust"]},
                      "卸料区": {"polygon": SQUARE, "no_dumping": True, "rules": ["dumping", "dust"]}},
            "masks": [[[0.8, 0.0], [1.0, 0.0], [1.0, 0.2]]]}
    r = client.put("/api/cameras/gate/zones", headers=bearer["admin"], json=body)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["origin"] == "yaml+database" and out["updated_by"] == "ada"
    assert out["zones"]["卸料区"]["rules"] == ["dust", "dumping"] and out["zones"]["卸料区"]["no_dumping"]
    cfg = web_services.loaded.config
    assert cfg.rule_spec("gate", "dust").zones == ("pit", "卸料区") and len(cfg.cameras["gate"].masks) == 1
    assert cfg.rule_spec("gate", "dumping").zones == ("卸料区",) and cfg.rule_spec("gate", "open_burning").zones == ()
    with web_services.sessions() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "camera.zones")).one()
    assert (entry.actor, entry.target_type, entry.target_id) == ("ada", "camera", "gate")
    assert entry.detail["changed"] == ["masks", "rules", "zones"] and "pit" in entry.detail["values"]["zones"]

    r = client.delete("/api/cameras/gate", headers=bearer["admin"])
    assert r.status_code == 200 and r.json()["enabled"] is False
    listed = {c["id"]: c for c in client.get("/api/cameras", headers=bearer["admin"]).json()["items"]}
    assert listed["gate"]["enabled"] is False and listed["gate"]["state"] == "disabled"
    assert (tmp_path / "vigil.yaml").read_text() == yaml_before  # the YAML is the seed: never written

    reopened = open_web_services(tmp_path)  # a restart: the database's edits are laid over the YAML again
    try:
        gate = reopened.loaded.config.cameras["gate"]
        assert set(gate.zones) == {"pit", "卸料区"} and gate.enabled is False
        assert reopened.seed.config.cameras["gate"].zones == {} and reopened.seed.config.cameras["gate"].enabled
    finally:
        reopened.close()


def test_an_edit_that_no_longer_fits_the_yaml_is_left_out_at_start(tmp_path, web_services, caplog):
    """A camera edited onto a site the YAML later drops: the service starts with the rest, and says why."""
    with web_services.sessions() as s:
        s.add(CameraOverride(camera_id="gate", config={"site": "gone"}, updated_by="ada"))
        s.add(CameraOverride(camera_id="bench", config={"name": "Bench 3"}, updated_by="ada"))
        s.commit()
    reopened = open_web_services(tmp_path)
    try:
        assert reopened.loaded.config.cameras["gate"].site == "works"
        assert reopened.loaded.config.cameras["bench"].name == "Bench 3"
        assert "camera gate: its edits in the database no longer fit" in caplog.text and "'gone'" in caplog.text
    finally:
        reopened.close()


def test_an_added_camera_starts_and_a_disabled_one_stops_in_the_running_service(tmp_path, caplog):
    from fastapi.testclient import TestClient

    from api.app import create_app

    services = open_web_services(tmp_path)
    add_role_users(services)
    with services.sessions() as s:
        admin = s.scalars(select(User.id).where(User.username == "ada")).one()
    auth = {"Authorization": f"Bearer {create_token(services.sessions, admin, 't')}"}
    try:
        with TestClient(create_app(services, run_jobs=False, runtime_options={"detectors": {}})) as c:
            runtime = c.app.state.runtime
            assert runtime.started.wait(60)
            gate = runtime.supervisor.pipeline("gate")
            body = {"id": "yard", "name": "Yard", "site": "works", "source": str(services.seed.config.cameras[
                "gate"].source)}
            assert c.post("/api/cameras", headers=auth, json=body).status_code == 201
            assert runtime.supervisor.pipeline("yard") is not None
            assert c.delete("/api/cameras/yard", headers=auth).status_code == 200
            assert "yard" not in runtime.supervisor.status()
            assert runtime.supervisor.pipeline("gate") is gate  # the other camera ran on undisturbed
            assert c.put("/api/cameras/yard", headers=auth, json={"enabled": True}).status_code == 200
            assert runtime.supervisor.pipeline("yard") is not None
            # an RTSP camera with a typed password that cannot connect: its error and the log show no password
            caplog.set_level("INFO")
            body = {"id": "east", "site": "works", "source": f"rtsp://admin:{TYPED_PW}@127.0.0.1:9/east"}
            assert c.post("/api/cameras", headers=auth, json=body).status_code == 201
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not runtime.supervisor.status()["east"].last_error:
                time.sleep(0.2)
            error = runtime.supervisor.status()["east"].last_error
            assert "rtsp://admin:***@127.0.0.1:9/east" in error and TYPED_PW not in error
            listed = c.get("/api/cameras/east", headers=auth).text
            assert "***" in listed and TYPED_PW not in listed
            assert "east" in caplog.text and TYPED_PW not in caplog.text
    finally:
        services.close()


def test_a_refused_source_is_not_echoed_in_the_validation_error(client, bearer):
    long = f"rtsp://admin:{TYPED_PW}@127.0.0.1:9/" + "x" * 2000
    r = client.post("/api/cameras", headers=bearer["admin"], json={"id": "c1", "site": "works", "source": long})
    assert r.status_code == 422 and "source" in r.text and TYPED_PW not in r.text


def test_revert_drops_the_edits_and_the_yaml_camera_runs_as_written(client, bearer, web_services):
    body = {"zones": {"pit": {"polygon": SQUARE, "rules": ["dust"]}}}
    assert client.put("/api/cameras/gate/zones", headers=bearer["admin"], json=body).status_code == 200
    assert client.post("/api/cameras/gate/revert", headers=bearer["operator"]).status_code == 403
    r = client.post("/api/cameras/gate/revert", headers=bearer["admin"])
    assert r.status_code == 200 and r.json()["origin"] == "yaml" and r.json()["zones"] == {}
    assert "gate" not in stored(web_services)[0] and web_services.loaded.config.cameras["gate"].zones == {}
    with web_services.sessions() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "camera.revert")).one()
    assert entry.actor == "ada" and entry.detail["changed"] == ["masks", "rules", "zones"]
    new = {"id": "north", "site": "works", "source": "demo:site"}
    assert client.post("/api/cameras", headers=bearer["admin"], json=new).status_code == 201
    before = stored(web_services)
    r = client.post("/api/cameras/north/revert", headers=bearer["admin"])
    assert r.status_code == 409 and "disable it instead" in r.json()["detail"] and stored(web_services) == before


def test_patch_changes_only_what_it_names(client, bearer, web_services):
    r = client.patch("/api/cameras/gate", headers=bearer["admin"], json={"detect": {"fps": 4}})
    assert r.status_code == 200 and r.json()["detect"]["fps"] == 4 and r.json()["name"] == "Riverside gate"
    assert stored(web_services)[0]["gate"] == {"detect": {"fps": 4.0, "width": 640, "height": 360}}
    r = client.patch("/api/cameras/gate", headers=bearer["admin"], json={})  # nothing: nothing stored or audited
    assert r.status_code == 200
    with web_services.sessions() as s:
        assert [a.action for a in s.scalars(select(AuditEntry))] == ["camera.update"]
