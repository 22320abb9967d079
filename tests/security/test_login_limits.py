"""Sign-in limits cannot be dodged with X-Forwarded-For, and names sprayed from a shared address do not lock
out the people who sign in from it. Served by uvicorn as `vigil serve` configures it (api.serving)."""
from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from api.app import create_app
from api.auth.ratelimit import Limit, LoginLimiter
from tests.security.conftest import Served
from tests.web.seed import PASSWORD
from vigil.config import ServerConfig
from vigil.db.models import AuditEntry


def _statuses(url: str, tries: int, forwarded: bool) -> list[int]:
    out = []
    with httpx.Client(base_url=url) as c:
        for i in range(tries):
            headers = {"X-Forwarded-For": f"198.51.100.{i + 1}"} if forwarded else {}
            r = c.post("/api/auth/login", json={"username": "rita", "password": "wrong"}, headers=headers)
            out.append(r.status_code)
    return out


@pytest.mark.parametrize("trusted, expect", [
    ([], [401] * 5 + [429] * 3),  # the default: the header is ignored, the 6th try from 127.0.0.1 is refused
    (["10.0.0.0/8"], [401] * 5 + [429] * 3),  # a proxy elsewhere: loopback callers still cannot set it
    (["127.0.0.1"], [401] * 8),  # behind a configured proxy each forwarded client has its own windows
], ids=["no-proxy", "other-proxy", "loopback-proxy"])
def test_rotating_x_forwarded_for_does_not_dodge_the_limit(web_services, trusted, expect):
    with Served(create_app(web_services, run_cameras=False, run_jobs=False),
                ServerConfig(trusted_proxies=trusted)) as served:
        assert _statuses(served.url, len(expect), forwarded=True) == expect
    with web_services.sessions() as s:
        ips = {d["ip"] for d in s.scalars(select(AuditEntry.detail).where(AuditEntry.action == "login_failed"))}
    assert ips == ({f"198.51.100.{i + 1}" for i in range(8)} if trusted == ["127.0.0.1"] else {"127.0.0.1"})


@pytest.mark.parametrize("value", ["*", "example.org", "10.0.0.0/99", ""])
def test_trusted_proxies_must_be_addresses_or_networks(value):
    with pytest.raises(ValueError, match=r"trusted_proxies\[0\]: expected an IP address or network"):
        ServerConfig(trusted_proxies=[value])


def test_names_sprayed_from_a_shared_address_do_not_lock_out_its_regular_users():
    limiter = LoginLimiter(per_pair=Limit(3, 60), per_address=Limit(5, 120), per_user=Limit(5, 300))
    limiter.succeeded("rita", "127.0.0.1")  # rita signs in from the server itself (no proxy) every day
    for i in range(50):
        limiter.failed(f"guess{i}", "127.0.0.1")
    assert limiter.retry_after("rita", "127.0.0.1") == 0
    assert limiter.retry_after("newcomer", "127.0.0.1") > 0  # a name never seen there is still held back
    for _ in range(3):
        limiter.failed("rita", "127.0.0.1")
    assert limiter.retry_after("rita", "127.0.0.1") > 0  # guessing rita's own password stays limited


def test_a_regular_user_signs_in_over_http_while_the_address_is_sprayed(client):
    limiter = client.app.state.auth.limiter
    assert client.post("/api/auth/login", json={"username": "olga", "password": PASSWORD}).status_code == 200
    for i in range(40):
        limiter.failed(f"guess{i}", "testclient")
    assert client.post("/api/auth/login", json={"username": "olga", "password": PASSWORD}).status_code == 200
    assert client.post("/api/auth/login", json={"username": "rita", "password": PASSWORD}).status_code == 429
