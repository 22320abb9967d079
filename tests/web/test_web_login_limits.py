"""Sign-in limits: per user name and address, per address across names (credential stuffing), per name across
addresses (a distributed attack); the refusal says nothing about which names exist."""
from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.auth.ratelimit import Limit, LoginLimiter
from tests.web.seed import PASSWORD


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def _limiter(clock: Clock) -> LoginLimiter:
    return LoginLimiter(per_pair=Limit(3, 60), per_address=Limit(5, 120), per_user=Limit(5, 300), clock=clock)


# failures, then (name, address) probes that must be refused, and probes that must still be let through
@pytest.mark.parametrize("failures, refused, allowed, window_s", [
    ([("rita", "a")] * 3, [("rita", "a"), ("RITA", "a")], [("rita", "b"), ("olga", "a")], 60),
    ([(f"user{i}", "a") for i in range(5)], [("rita", "a"), ("nobody", "a")], [("rita", "b")], 120),
    ([("rita", f"10.0.0.{i}") for i in range(5)], [("rita", "c"), ("Rita", "d")], [("olga", "c")], 300),
], ids=["pair", "address", "user"])
def test_each_window_refuses_on_its_own_and_expires(failures, refused, allowed, window_s):
    clock = Clock()
    limiter = _limiter(clock)
    for name, ip in failures:
        assert limiter.retry_after(name, ip) == 0
        limiter.failed(name, ip)
    for name, ip in refused:
        assert limiter.retry_after(name, ip) == pytest.approx(window_s), (name, ip)
    for name, ip in allowed:
        assert limiter.retry_after(name, ip) == 0, (name, ip)
    clock.t += window_s / 2
    assert limiter.retry_after(*refused[0]) == pytest.approx(window_s / 2)
    clock.t += window_s / 2
    assert all(limiter.retry_after(name, ip) == 0 for name, ip in refused)


def test_success_clears_only_its_own_pair_and_makes_the_address_known():
    clock = Clock()
    limiter = _limiter(clock)
    limiter.succeeded("rita", "home")
    for i in range(2):
        limiter.failed("mallory", "shared")
    for i in range(2):
        limiter.failed(f"rita{i}", "shared")
    limiter.succeeded("mallory", "shared")  # an attacker's own account does not reset the address's count
    limiter.failed("x", "shared")
    assert limiter.retry_after("anyone", "shared") > 0
    for i in range(5):  # rita's name sprayed from elsewhere: refused there, not from where she signs in
        limiter.failed("rita", f"bot{i}")
    assert limiter.retry_after("rita", "bot9") > 0 and limiter.retry_after("rita", "home") == 0
    clock.t += 31 * 86400
    for i in range(5):
        limiter.failed("rita", f"bot{i}")
    assert limiter.retry_after("rita", "home") > 0  # ... unless she has not signed in from there for 30 days


def test_sprayed_names_are_forgotten_after_their_windows():
    clock = Clock()
    limiter = _limiter(clock)
    for i in range(1000):
        limiter.failed(f"name{i}", f"10.1.{i // 250}.{i % 250}")
    assert len(limiter._failures) > 1000
    clock.t += 301
    limiter.failed("last", "10.9.9.9")
    assert len(limiter._failures) == 3  # only the newest failure's three windows are left


def _login(client: TestClient, user: str, password: str = "wrong-password"):
    return client.post("/api/auth/login", json={"username": user, "password": password})


def _from(client: TestClient, ip: str) -> TestClient:
    return TestClient(client.app, client=(ip, 40000))


def _refusal(r) -> tuple[int, str, bool]:
    """What a refused caller learns; the number of seconds varies, nothing else may."""
    assert r.status_code == 429, r.text
    wait = int(r.headers["retry-after"])
    assert 0 < wait <= 900
    return r.status_code, r.json()["detail"].replace(str(wait), "N"), "set-cookie" in r.headers


def test_many_names_from_one_address_are_refused_alike(client):
    stuffer, office = _from(client, "203.0.113.7"), _from(client, "198.51.100.2")
    limiter = client.app.state.auth.limiter
    for i in range(18):  # 18 names tried once each (argon2 is slow on purpose: the last two go through HTTP)
        limiter.failed(f"guess{i}", "203.0.113.7")
    for name in ("rita", "olga"):
        assert _login(stuffer, name).status_code == 401
    known, unknown = _login(stuffer, "oscar", PASSWORD), _login(stuffer, "no-such-user")
    assert _refusal(known) == _refusal(unknown) == (429, "too many failed sign-ins; try again in N s", False)
    assert _login(office, "rita", PASSWORD).status_code == 200  # other addresses are not affected


def test_one_name_from_many_addresses_is_refused_alike_except_where_its_owner_signs_in(client):
    home, fresh = _from(client, "192.0.2.10"), _from(client, "10.30.0.1")
    limiter = client.app.state.auth.limiter
    assert _login(home, "olga", PASSWORD).status_code == 200
    for name in ("olga", "ghost"):  # a real name and one that does not exist, each from 20 addresses
        for i in range(18):
            limiter.failed(name, f"10.20.{len(name)}.{i}")
        for i in (18, 19):
            assert _login(_from(client, f"10.20.{len(name)}.{i}"), name).status_code == 401
    real, ghost = _login(fresh, "olga", PASSWORD), _login(fresh, "ghost")
    assert _refusal(real) == _refusal(ghost)
    assert _login(home, "olga", PASSWORD).status_code == 200  # her own address still works
    assert _login(fresh, "rita", PASSWORD).status_code == 200  # so do other names from the fresh address
