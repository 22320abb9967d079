"""Signing out ends the session server-side (one, or all of a user's); API tokens are listed and revoked one by one."""
from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.auth.users import create_token
from tests.web.seed import PASSWORD
from vigil.db.models import ApiToken, AuditEntry, RevokedSession, User


def _signed_in(client: TestClient, user: str) -> TestClient:
    """Another browser of the same app: its own cookie jar, signed in as `user`."""
    other = TestClient(client.app)
    r = other.post("/api/auth/login", json={"username": user, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return other


def _logout(c: TestClient, **body):
    return c.post("/api/auth/logout", headers={"X-CSRF-Token": c.cookies.get("vigil_csrf")},
                  json=body or None)


def _as(value: str) -> dict:
    return {"Cookie": f"vigil_session={value}"}


def _ids(web_services) -> dict[str, int]:
    with web_services.sessions() as s:
        return {u.username: u.id for u in s.scalars(select(User))}


def _actions(web_services, actor: str) -> list[str]:
    with web_services.sessions() as s:
        return list(s.scalars(select(AuditEntry.action).where(AuditEntry.actor == actor).order_by(AuditEntry.id)))


def test_logout_refuses_a_replayed_cookie_and_leaves_other_sessions(client, web_services):
    laptop, phone = _signed_in(client, "rita"), _signed_in(client, "rita")
    copied = laptop.cookies.get("vigil_session")
    assert client.get("/api/auth/me", headers=_as(copied)).status_code == 200
    r = _logout(laptop)
    assert r.status_code == 200 and r.json() == {"ok": True, "everywhere": False}
    assert "vigil_session" not in laptop.cookies
    assert client.get("/api/auth/me", headers=_as(copied)).status_code == 401  # the copied value is dead
    laptop.cookies.set("vigil_session", copied)
    assert laptop.get("/api/alerts").status_code == 401
    assert phone.get("/api/auth/me").json()["username"] == "rita"  # another session of rita's lives on
    with web_services.sessions() as s:
        assert len(s.scalars(select(RevokedSession)).all()) == 1
    assert _actions(web_services, "rita")[-1] == "logout"


def test_logout_everywhere_ends_every_session_of_the_caller_only(client, web_services):
    laptop, phone, olga = _signed_in(client, "rita"), _signed_in(client, "rita"), _signed_in(client, "olga")
    token = create_token(web_services.sessions, _ids(web_services)["rita"], "script")
    r = _logout(phone, everywhere=True)
    assert r.status_code == 200 and r.json()["everywhere"] is True
    assert laptop.get("/api/auth/me").status_code == 401
    phone.cookies.set("vigil_session", laptop.cookies.get("vigil_session"))
    assert phone.get("/api/auth/me").status_code == 401
    assert olga.get("/api/auth/me").json()["username"] == "olga"  # other users are untouched
    bearer = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/auth/me", headers=bearer).status_code == 200  # tokens are revoked one by one
    fresh = _signed_in(client, "rita")  # signing in again afterwards works
    assert fresh.get("/api/auth/me").json()["username"] == "rita"
    assert _actions(web_services, "rita")[-2] == "logout_everywhere"


def test_logout_everywhere_with_a_token_ends_the_cookie_sessions(client, web_services):
    laptop = _signed_in(client, "oscar")
    token = create_token(web_services.sessions, _ids(web_services)["oscar"], "script")
    bearer = {"Authorization": f"Bearer {token}"}
    assert client.post("/api/auth/logout", headers=bearer).json() == {"ok": True, "everywhere": False}
    assert laptop.get("/api/auth/me").status_code == 200  # a plain token logout has no session to end
    assert client.post("/api/auth/logout", headers=bearer, json={"everywhere": True}).status_code == 200
    assert laptop.get("/api/auth/me").status_code == 401


def test_logout_body_is_checked(client):
    rita = _signed_in(client, "rita")
    r = rita.post("/api/auth/logout", headers={"X-CSRF-Token": rita.cookies.get("vigil_csrf")},
                  json={"everywehre": True})
    assert r.status_code == 422 and "everywehre" in r.text
    assert rita.get("/api/auth/me").status_code == 200  # a typo signs nobody out


def test_expired_revocations_are_purged_at_logout(client, web_services):
    from datetime import timedelta

    from vigil.db.models import utcnow

    with web_services.sessions() as s:
        s.add(RevokedSession(nonce="old-nonce", user_id=_ids(web_services)["rita"],
                             expires_at=utcnow() - timedelta(seconds=1)))
        s.commit()
    _logout(_signed_in(client, "rita"))
    with web_services.sessions() as s:
        assert "old-nonce" not in s.scalars(select(RevokedSession.nonce)).all()
        assert len(s.scalars(select(RevokedSession)).all()) == 1


@pytest.fixture
def role_tokens(web_services):
    ids = _ids(web_services)
    return {name: create_token(web_services.sessions, ids[name], f"{name}-script") for name in ("rita", "dana", "ada")}


def _bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_token_list_shows_own_tokens_without_secrets(client, web_services, role_tokens):
    second = create_token(web_services.sessions, _ids(web_services)["rita"], "backup")
    client.get("/api/auth/me", headers=_bearer(second))
    r = client.get("/api/auth/tokens", headers=_bearer(role_tokens["rita"]))
    assert r.status_code == 200
    items = r.json()["items"]
    assert [t["name"] for t in items] == ["backup", "rita-script"]
    assert set(items[0]) == {"id", "user_id", "name", "created_at", "last_used_at", "revoked"}
    assert items[0]["last_used_at"] is not None and items[0]["revoked"] is False
    assert role_tokens["rita"] not in r.text and second not in r.text and "hash" not in r.text


def test_revoking_a_token_ends_it_and_is_audited(client, web_services, role_tokens):
    rita = _bearer(role_tokens["rita"])
    spare = create_token(web_services.sessions, _ids(web_services)["rita"], "spare")
    spare_id = next(t["id"] for t in client.get("/api/auth/tokens", headers=rita).json()["items"]
                    if t["name"] == "spare")
    r = client.delete(f"/api/auth/tokens/{spare_id}", headers=rita)
    assert r.status_code == 200 and r.json()["revoked"] is True
    assert client.get("/api/auth/me", headers=_bearer(spare)).status_code == 401
    assert client.get("/api/auth/me", headers=rita).status_code == 200  # the other token still works
    assert client.delete(f"/api/auth/tokens/{spare_id}", headers=rita).status_code == 200  # idempotent
    assert _actions(web_services, "rita").count("token_revoked") == 1


def test_only_an_admin_revokes_someone_elses_token(client, web_services, role_tokens):
    listed = client.get("/api/auth/tokens", headers=_bearer(role_tokens["dana"])).json()["items"]
    dana_id = listed[0]["id"]
    r = client.delete(f"/api/auth/tokens/{dana_id}", headers=_bearer(role_tokens["rita"]))
    assert r.status_code == 404 and f"token {dana_id} not found" in r.text  # same answer as a missing id
    assert client.delete("/api/auth/tokens/999999", headers=_bearer(role_tokens["rita"])).status_code == 404
    assert client.get("/api/auth/me", headers=_bearer(role_tokens["dana"])).status_code == 200
    admin = _bearer(role_tokens["ada"])
    as_admin = client.get(f"/api/users/{_ids(web_services)['dana']}/tokens", headers=admin).json()["items"]
    assert [(t["id"], t["name"]) for t in as_admin] == [(dana_id, "dana-script")]
    r = client.delete(f"/api/auth/tokens/{dana_id}", headers=admin)
    assert r.status_code == 200 and r.json()["user_id"] == _ids(web_services)["dana"]
    assert client.get("/api/auth/me", headers=_bearer(role_tokens["dana"])).status_code == 401
    with web_services.sessions() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "token_revoked")).one()
    assert entry.actor == "ada" and entry.detail == {"owner": "dana", "name": "dana-script"}
    assert client.get("/api/users/1/tokens", headers=_bearer(role_tokens["rita"])).status_code == 403


def _token_rows(web_services, token_id: int) -> list[tuple]:
    with web_services.sessions() as s:
        rows = s.scalars(select(AuditEntry).where(AuditEntry.action.in_(("token_created", "token_revoked")),
                                                  AuditEntry.target_id == str(token_id)).order_by(AuditEntry.id))
        return [(e.actor, e.action, e.target_type, e.detail) for e in rows]


def test_token_creation_and_revocation_are_audited_against_the_token(client, web_services, role_tokens):
    rita = _bearer(role_tokens["rita"])
    made = client.post("/api/auth/tokens", json={"name": "nightly export"}, headers=rita)
    assert made.status_code == 200 and set(made.json()) == {"token", "id", "name"}
    token_id = made.json()["id"]
    assert client.get("/api/auth/me", headers=_bearer(made.json()["token"])).json()["username"] == "rita"
    assert client.delete(f"/api/auth/tokens/{token_id}", headers=_bearer(role_tokens["ada"])).status_code == 200
    detail = {"owner": "rita", "name": "nightly export"}
    assert _token_rows(web_services, token_id) == [("rita", "token_created", "token", detail),
                                                   ("ada", "token_revoked", "token", detail)]
    with web_services.sessions() as s:
        assert made.json()["token"] not in str(s.scalars(select(AuditEntry.detail)).all())


def test_cli_token_is_audited_against_the_token(web_services):
    from typer.testing import CliRunner

    from api.cli import app
    from api.cli_users import register

    register(app)
    r = CliRunner().invoke(app, ["user", "token", "dana", "--label", "cron", "-c",
                                 str(web_services.settings.config_path)], env={"CAM_PW": "x"})
    assert r.exit_code == 0, r.output
    with web_services.sessions() as s:
        row = s.scalars(select(ApiToken).where(ApiToken.name == "cron")).one()
    assert _token_rows(web_services, row.id) == [("cli", "token_created", "token", {"owner": "dana", "name": "cron"})]
    assert r.output.strip().startswith("vgl_") and r.output.strip() not in str(_token_rows(web_services, row.id))


def test_last_use_is_written_at_most_once_a_minute(client, web_services, role_tokens):
    from datetime import timedelta

    from sqlalchemy import event, update

    from vigil.db.models import utcnow

    writes: list[str] = []

    def count(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("UPDATE API_TOKENS"):
            writes.append(statement)

    def last_used() -> object:
        with web_services.sessions() as s:
            return s.scalar(select(ApiToken.last_used_at).where(ApiToken.name == "rita-script"))

    event.listen(web_services.engine, "before_cursor_execute", count)
    try:
        rita = _bearer(role_tokens["rita"])
        assert client.get("/api/auth/me", headers=rita).status_code == 200
        first = last_used()
        assert first is not None and len(writes) == 1  # the first use is recorded
        for _ in range(5):
            assert client.get("/api/auth/me", headers=rita).status_code == 200
        assert last_used() == first and len(writes) == 1  # a burst of requests writes nothing more
        with web_services.sessions() as s:
            s.execute(update(ApiToken).where(ApiToken.name == "rita-script")
                      .values(last_used_at=utcnow() - timedelta(seconds=61)))
            s.commit()
        writes.clear()
        assert client.get("/api/auth/me", headers=rita).status_code == 200
        assert last_used() > first and len(writes) == 1  # a minute on, the next use is recorded again
    finally:
        event.remove(web_services.engine, "before_cursor_execute", count)
