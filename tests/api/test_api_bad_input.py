"""Hostile API input gets a 4xx JSON answer saying what was expected: NUL characters, numbers past the database's
integer range, over-long passwords (never echoed back), on SQLite and on PostgreSQL."""
from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.context import Services
from tests.web.seed import PASSWORD, add_role_users
from vigil.config_loader import load_config
from vigil.settings import Settings

HUGE = "9223372036854775808"  # 2**63: past SQLite INTEGER and PostgreSQL BIGINT


def _client(tmp_path, database_url: str):
    cfg = tmp_path / "vigil.yaml"
    cfg.write_text(f"data_dir: {tmp_path}/data\nsites:\n  works: {{name: Works, kind: site}}\n"
                   f"storage:\n  database_url: {database_url}\n")
    services = Services.open(Settings.from_env({}, config_path=cfg), load_config(cfg, {}))
    add_role_users(services)
    return services, TestClient(create_app(services, run_cameras=False, run_jobs=False),
                                raise_server_exceptions=False)


@pytest.fixture(params=["sqlite", "postgresql"])
def admin(request, tmp_path):
    url = f"sqlite:///{tmp_path}/vigil.db" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    services, client = _client(tmp_path, url)
    with client:
        r = client.post("/api/auth/login", json={"username": "ada", "password": PASSWORD})
        assert r.status_code == 200, r.text
        client.headers["x-csrf-token"] = r.json()["csrf"]
        yield client
    services.close()


def _refused(r, word: str) -> None:
    assert r.status_code == 422, (r.status_code, r.text)
    assert r.headers["content-type"] == "application/json"
    assert word in r.json()["detail"] and "expected" in r.json()["detail"], r.text


def _past_the_bound(r, name: str) -> None:
    """Ids and offsets are bounded in the spec by what every database holds (PostgreSQL's int4): a larger one is
    refused by validation, naming the parameter and the bound, before any query."""
    assert r.status_code == 422, (r.status_code, r.text)
    assert r.headers["content-type"] == "application/json"
    (problem,) = r.json()["detail"]
    assert problem["loc"][-1] == name and problem["ctx"] == {"le": 2**31 - 1}, r.text


@pytest.mark.parametrize("path, name", [(f"/api/leads/{HUGE}", "lead_id"), (f"/api/jobs/{HUGE}", "job_id"),
                                        (f"/api/models/{HUGE}", "model_id"), (f"/api/leads?offset={HUGE}", "offset"),
                                        (f"/api/alerts?offset={HUGE}0", "offset")])
def test_numbers_past_the_database_range_are_422(admin, path, name):
    _past_the_bound(admin.get(path), name)


def test_nul_characters_are_422_not_500(admin):
    for path in ("/api/alerts?camera=a%00b", "/api/alerts/a%00b", "/api/sites/a%00b", "/api/cameras/a%00b",
                 "/api/review/next?skip=a%00b", "/api/alerts/a%00b/evidence/clip.mp4", "/api/jobs?state=a%00b"):
        r = admin.get(path)  # SQLite stores NUL (an empty list or a 404); PostgreSQL refuses it (422)
        assert r.status_code in (200, 404, 422), (path, r.status_code, r.text)
        assert r.headers["content-type"] == "application/json"
    r = admin.post("/api/auth/tokens", json={"name": "ci\x00"})
    assert r.status_code in (200, 422) and isinstance(r.json()["detail" if r.status_code == 422 else "token"], str)
    r = admin.post("/api/auth/login", json={"username": "ada\x00", "password": "whatever-x"})
    assert r.status_code in (401, 422), r.text


def test_ids_past_postgres_integer_are_422_on_postgres(tmp_path, pg_url):
    services, client = _client(tmp_path, pg_url)
    with client:
        r = client.post("/api/auth/login", json={"username": "ada", "password": PASSWORD})
        client.headers["x-csrf-token"] = r.json()["csrf"]
        _past_the_bound(client.get("/api/leads/3000000000"), "lead_id")
        _refused(client.get("/api/alerts?camera=a%00b"), "NUL")
        _refused(client.post("/api/users", json={"username": "zed", "role": "admin", "password": "long-enough-pw",
                                                 "display_name": "Z\x00"}), "NUL")
    services.close()


def test_validation_errors_never_echo_passwords(admin):
    secret = "p" * 300 + "-hunter2"
    r = admin.post("/api/auth/login", json={"username": "ada", "password": secret})
    assert r.status_code == 422 and "hunter2" not in r.text
    assert r.json()["detail"][0]["loc"] == ["body", "password"]
    r = admin.post("/api/users", json={"username": "zed", "role": "admin", "password": "short7!"})
    assert r.status_code == 422 and "short7!" not in r.text
    r = admin.post("/api/users", json={"username": 5, "role": "admin", "password": "long-enough-pw"})
    assert r.status_code == 422 and r.json()["detail"][0]["input"] == 5  # other fields still say what was found


@pytest.mark.parametrize("method,path,body", [
    ("PATCH", "/api/auth/me", {"langauge": "zh"}),
    ("POST", "/api/users", {"username": "zed", "role": "admin", "password": "long-enough-pw", "is_admin": True}),
    ("POST", "/api/alerts/x/confirm", {"note": "", "bxoes": []}),
    ("POST", "/api/leads/1/notes", {"text": "x", "author": "someone-else"}),
    ("POST", "/api/models/rollback", {"profile": "site", "force": True}),
])
def test_unknown_body_fields_are_422_naming_the_field(admin, method, path, body):
    r = admin.request(method, path, json=body)
    assert r.status_code == 422, r.text
    bad = [e for e in r.json()["detail"] if e["type"] == "extra_forbidden"]
    assert bad and bad[0]["loc"][-1] in body, r.text


def test_huge_bodies_are_413_before_being_read_whole(admin):
    from api.routes.body_limit import MAX_BODY_BYTES

    big = b'{"note": "' + b"a" * MAX_BODY_BYTES + b'"}'
    r = admin.post("/api/alerts/x/confirm", content=big, headers={"content-type": "application/json"})
    assert r.status_code == 413 and r.headers["content-type"] == "application/json", r.text[:200]
    assert f"at most {MAX_BODY_BYTES} bytes" in r.json()["detail"]

    def chunks():  # no Content-Length: counted as it arrives
        yield b'{"note": "'
        for _ in range(40):
            yield b"a" * 65536
        yield b'"}'

    r = admin.post("/api/alerts/x/confirm", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413 and "at most" in r.json()["detail"], r.text[:200]
    assert admin.post("/api/auth/tokens", json={"name": "still-fine"}).status_code == 200
