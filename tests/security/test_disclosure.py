"""What a caller may learn: anonymous /healthz says only ok or not ok; data staff, refused /api/alerts, do not read
alerts through /api/sites/{id} either."""
from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine

from api.app import create_app
from tests.security.conftest import open_web_services, sign_in
from tests.web.seed import ROLE_USERS


def test_anonymous_health_is_only_ok(client):
    r = client.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}


def test_signed_in_health_has_the_details(client):
    r = sign_in(client.app, ROLE_USERS["operator"]).get("/healthz")
    assert r.status_code == 200
    assert {"status", "version", "store", "cameras", "runtime"} <= set(r.json()) and r.json()["status"] == "ok"


def test_health_says_not_ok_without_details_when_the_database_is_gone(tmp_path):
    services = open_web_services(tmp_path)
    healthy = services.engine
    try:
        with TestClient(create_app(services, run_cameras=False, run_jobs=False)) as c:
            # the services now name a database that cannot be opened (its folder does not exist)
            services.engine = create_engine(f"sqlite:///{tmp_path}/gone/vigil.db")
            r = c.get("/healthz")
        assert r.status_code == 503 and r.json() == {"status": "not ok"}
    finally:
        services.engine.dispose()
        services.engine = healthy
        services.close()


@pytest.mark.parametrize("role, sees_alerts", [
    ("data_staff", False), ("operator", True), ("reviewer", True), ("officer", True), ("admin", True),
])
def test_site_alerts_only_for_roles_that_read_alerts(client, web_services, role, sees_alerts):
    from tests.web.seed import seed_alert

    seed_alert(web_services, camera="gate")
    c = sign_in(client.app, ROLE_USERS[role])
    assert (c.get("/api/alerts").status_code == 200) == sees_alerts
    site = c.get("/api/sites/works")
    assert site.status_code == 200
    assert bool(site.json()["alerts"]) == sees_alerts
    assert sum(d["new"] + d["confirmed"] + d["rejected"] for d in site.json()["history"]) > 0  # counts stay
