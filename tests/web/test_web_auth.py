"""Sign-in, session cookies, CSRF, rate limiting, tokens, the first admin and `vigil user add`."""
from __future__ import annotations

import io

from sqlalchemy import select
from typer.testing import CliRunner

from api.auth.users import create_token, ensure_first_admin
from api.auth.passwords import verify_password
from tests.web.seed import PASSWORD
from vigil.db.models import ApiToken, AuditEntry, User


def login(client, user="rita", password=PASSWORD):
    return client.post("/api/auth/login", json={"username": user, "password": password})


def test_login_sets_signed_httponly_lax_cookie_and_csrf(client):
    r = login(client)
    assert r.status_code == 200 and r.json()["user"]["role"] == "reviewer"
    cookies = r.headers.get_list("set-cookie")
    session = next(c for c in cookies if c.startswith("vigil_session="))
    csrf = next(c for c in cookies if c.startswith("vigil_csrf="))
    assert "HttpOnly" in session and "SameSite=lax" in session.replace("Lax", "lax")
    assert "HttpOnly" not in csrf
    assert client.get("/api/auth/me").json()["username"] == "rita"
    value = client.cookies.get("vigil_session")
    client.cookies.set("vigil_session", value[:-3] + ("AAA" if not value.endswith("AAA") else "BBB"))
    assert client.get("/api/auth/me").status_code == 401  # forged signature


def test_cookie_writes_need_the_csrf_header_tokens_do_not(client, web_services):
    r = login(client, "ada")
    csrf = r.json()["csrf"]
    body = {"username": "newbie", "role": "operator", "password": "long-enough-1"}
    assert client.post("/api/users", json=body).status_code == 403
    wrong = ("y" if csrf[0] == "x" else "x") + csrf[1:]
    assert client.post("/api/users", json=body, headers={"X-CSRF-Token": wrong}).status_code == 403
    assert client.post("/api/users", json=body, headers={"X-CSRF-Token": csrf}).status_code == 201
    client.cookies.clear()
    with web_services.sessions() as s:
        ada = s.scalar(select(User).where(User.username == "ada"))
    token = create_token(web_services.sessions, ada.id, "script")
    body["username"] = "newbie2"
    r = client.post("/api/users", json=body, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 201
    with web_services.sessions() as s:
        stored = s.scalars(select(ApiToken.token_hash)).all()
    assert token not in stored and all(len(h) == 64 for h in stored)


def test_login_is_rate_limited_per_user_and_address(client):
    for _ in range(5):
        assert login(client, "rita", "wrong-password").status_code == 401
    r = login(client, "rita", PASSWORD)
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    assert login(client, "olga", PASSWORD).status_code == 200  # another user is not locked out
    assert login(client, "nobody", "whatever-pw").status_code == 401


def test_password_change_and_deactivation_end_access(client, web_services):
    assert login(client, "oscar").status_code == 200
    assert client.get("/api/leads").status_code == 200
    with web_services.sessions() as s:
        oscar = s.scalar(select(User).where(User.username == "oscar"))
    token = create_token(web_services.sessions, oscar.id, "t")
    admin = {"Authorization": f"Bearer {create_token(web_services.sessions, 5, 'a')}"}
    r = client.patch(f"/api/users/{oscar.id}", json={"password": "a-new-password"}, headers=admin)
    assert r.status_code == 200
    assert client.get("/api/leads").status_code == 401  # the old session ended with the old password
    client.cookies.clear()
    # a reset password revokes the user's tokens too (issue #18: a leaked token must not outlive the reset)
    assert client.get("/api/leads", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    token = create_token(web_services.sessions, oscar.id, "t2")
    assert client.get("/api/leads", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    client.patch(f"/api/users/{oscar.id}", json={"active": False}, headers=admin)
    assert client.get("/api/leads", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert login(client, "oscar", "a-new-password").status_code == 401


def test_logins_are_audited(client, web_services):
    login(client, "rita", "wrong-password")
    login(client, "rita")
    with web_services.sessions() as s:
        actions = s.scalars(select(AuditEntry.action).where(AuditEntry.actor == "rita")).all()
    assert actions == ["login_failed", "login"]


def test_first_admin_is_created_once_with_a_generated_password(tmp_path, capsys):
    from api.service.startup import ensure_first_admin as on_start
    from tests.web.conftest import open_web_services

    services = open_web_services(tmp_path)
    try:
        on_start(services)
        out = capsys.readouterr().out
        assert "first admin created: user 'admin', password " in out
        password = out.split("password ")[1].split()[0]
        with services.sessions() as s:
            admin = s.scalar(select(User).where(User.username == "admin"))
        assert admin.role == "admin" and verify_password(admin.password_hash, password)
        on_start(services)
        assert capsys.readouterr().out == ""  # printed once
        assert ensure_first_admin(services.sessions, "admin", None) is None
    finally:
        services.close()


def test_cli_user_add_reads_the_password_from_stdin(tmp_path, web_services):
    from api.cli import app
    from api.cli_users import register

    register(app)
    cfg = str(web_services.settings.config_path)
    runner = CliRunner()
    r = runner.invoke(app, ["user", "add", "vera", "--role", "reviewer", "--password-stdin", "-c", cfg],
                      input="vera-password-1\n", env={"CAM_PW": "x"})
    assert r.exit_code == 0, r.output
    assert "vera added" in r.output
    bad = runner.invoke(app, ["user", "add", "x", "--role", "king", "--password-stdin", "-c", cfg], input="p" * 9,
                       env={"CAM_PW": "x"})
    assert bad.exit_code != 0 and "role" in bad.output
    with web_services.sessions() as s:
        vera = s.scalar(select(User).where(User.username == "vera"))
    assert vera.role == "reviewer" and verify_password(vera.password_hash, "vera-password-1")
    assert "vera-password-1" not in io.StringIO(r.output).read()
