"""Who may read /metrics (server.metrics): the token, open by choice, or nobody; the token never shows anywhere."""
from __future__ import annotations

import logging
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.context import Services
from vigil.config_loader import load_config
from vigil.errors import ConfigError
from vigil.settings import Settings

TOKEN = "scrape-token-0c4b9e1d2a7f"


def open_app(tmp_path: Path, metrics_yaml: str, env: dict[str, str]):
    cfg = tmp_path / "vigil.yaml"
    cfg.write_text(f"data_dir: {tmp_path}/data\nsites: {{works: {{name: Works}}}}\n"
                   f"server: {{metrics: {metrics_yaml}}}\nstorage: {{database_url: 'sqlite:///{tmp_path}/v.db'}}\n")
    services = Services.open(Settings.from_env(env, config_path=cfg), load_config(cfg, env))
    return services, create_app(services, run_cameras=False, run_jobs=False)


@pytest.mark.parametrize("metrics_yaml, headers, status", [
    ("{token_env: VIGIL_METRICS_TOKEN}", {}, 401),
    ("{token_env: VIGIL_METRICS_TOKEN}", {"Authorization": "Bearer not-the-token-at-all"}, 401),
    ("{token_env: VIGIL_METRICS_TOKEN}", {"Authorization": f"Bearer {TOKEN}x"}, 401),
    ("{token_env: VIGIL_METRICS_TOKEN}", {"Authorization": f"Basic {TOKEN}"}, 401),
    ("{token_env: VIGIL_METRICS_TOKEN}", {"Authorization": f"Bearer {TOKEN}"}, 200),
    ("{token_env: VIGIL_METRICS_TOKEN}", {"Authorization": f"bearer  {TOKEN} "}, 200),
    ("{open: true}", {}, 200),
    ("{}", {}, 404),  # neither: metrics are off
    ("{}", {"Authorization": f"Bearer {TOKEN}"}, 404),
])
def test_who_may_scrape(tmp_path, metrics_yaml, headers, status):
    services, app = open_app(tmp_path, metrics_yaml, {"VIGIL_METRICS_TOKEN": TOKEN})
    try:
        with TestClient(app) as client:
            r = client.get("/metrics", headers=headers)
            assert r.status_code == status, r.text
            if status == 200:
                assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
                assert 'vigil_build_info{version="' in r.text and "vigil_runtime_up 0.0" in r.text
            elif status == 401:
                assert r.headers["www-authenticate"].startswith("Bearer")
                assert TOKEN not in r.text
    finally:
        services.close()


def test_a_session_is_not_a_metrics_token(tmp_path):
    """An admin's session or API token does not open /metrics: the scraper has its own secret."""
    from tests.web.seed import PASSWORD, add_role_users

    services, app = open_app(tmp_path, "{token_env: VIGIL_METRICS_TOKEN}", {"VIGIL_METRICS_TOKEN": TOKEN})
    try:
        add_role_users(services)
        with TestClient(app) as client:
            assert client.post("/api/auth/login", json={"username": "ada", "password": PASSWORD}).status_code == 200
            assert client.get("/metrics").status_code == 401
    finally:
        services.close()


@pytest.mark.parametrize("metrics_yaml, env, expected", [
    ("{token_env: VIGIL_METRICS_TOKEN}", {}, "expected environment variable VIGIL_METRICS_TOKEN to hold the metrics "
                                             "bearer token (at least 16 characters), found it unset"),
    ("{token_env: VIGIL_METRICS_TOKEN}", {"VIGIL_METRICS_TOKEN": "short-tok"}, "found a shorter value"),
])
def test_a_missing_or_weak_token_refuses_to_start(tmp_path, metrics_yaml, env, expected):
    with pytest.raises(ConfigError) as err:
        open_app(tmp_path, metrics_yaml, env)
    assert expected in str(err.value)
    assert "short-tok" not in str(err.value)


@pytest.mark.parametrize("metrics_yaml, expected", [
    ("{token_env: VIGIL_METRICS_TOKEN, open: true}", "server.metrics: expected either token_env"),
    ("{token_env: 'Bearer scrape-token-0c4b9e1d2a7f'}", "server.metrics.token_env: expected the NAME"),
    ("{token: scrape-token-0c4b9e1d2a7f}", "server.metrics.token: unknown key"),
])
def test_config_mistakes_are_named_without_the_secret(tmp_path, metrics_yaml, expected):
    with pytest.raises(ConfigError) as err:
        open_app(tmp_path, metrics_yaml, {"VIGIL_METRICS_TOKEN": TOKEN})
    assert expected in str(err.value)
    if "token_env" in expected:
        assert TOKEN not in str(err.value)


def test_the_token_is_never_logged(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    services, app = open_app(tmp_path, "{token_env: VIGIL_METRICS_TOKEN}", {"VIGIL_METRICS_TOKEN": TOKEN})
    try:
        with TestClient(app) as client:
            for headers in ({}, {"Authorization": "Bearer wrong-token-123456"}, {"Authorization": f"Bearer {TOKEN}"}):
                client.get("/metrics", headers=headers)
            logging.getLogger("test").info("scrape guard: %r, app state: %r", app.state.scrape_guard,
                                           vars(app.state))
        assert caplog.records, "nothing was logged: the check below would prove nothing"
        assert TOKEN not in caplog.text
        assert "wrong-token-123456" not in caplog.text
    finally:
        services.close()


def test_log_redaction_hides_the_token_even_if_something_logs_it(tmp_path):
    """`vigil serve` adds the guard's token to the log redaction it installs (as it does for ${ENV} secrets)."""
    from vigil.redact import RedactingFilter

    services, app = open_app(tmp_path, "{token_env: VIGIL_METRICS_TOKEN}", {"VIGIL_METRICS_TOKEN": TOKEN})
    try:
        filt = RedactingFilter()
        filt.secrets = app.state.scrape_guard.secrets
        record = logging.LogRecord("x", logging.INFO, __file__, 1, "header was %s", (f"Bearer {TOKEN}",), None)
        filt.filter(record)
        assert TOKEN not in record.getMessage()
    finally:
        services.close()


@pytest.mark.parametrize("host, warned", [("127.0.0.1", False), ("localhost", False), ("0.0.0.0", True),
                                          ("10.0.0.5", True)])
def test_open_metrics_on_a_reachable_address_is_warned_about(tmp_path, caplog, host, warned):
    from api.auth.scrape import ScrapeGuard
    from vigil.config import MetricsConfig

    with caplog.at_level(logging.WARNING, logger="api.auth.scrape"):
        guard = ScrapeGuard.from_config(MetricsConfig(open=True), {}, host)
    assert guard.mode == "open"
    assert ("served without a token" in caplog.text) == warned


def test_a_separate_listener_serves_the_metrics_without_a_token(tmp_path):
    """server.metrics.listen: a scraper on the management address needs no token; the main port still does."""
    import urllib.error
    import urllib.request

    from tests.servers import free_port

    port = free_port()
    services, app = open_app(tmp_path, f"{{token_env: VIGIL_METRICS_TOKEN, listen: '127.0.0.1:{port}'}}",
                             {"VIGIL_METRICS_TOKEN": TOKEN})
    try:
        with TestClient(app) as client:
            body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
            assert 'vigil_build_info{version="' in body and "vigil_runtime_up 0.0" in body
            assert client.get("/metrics").status_code == 401  # the main port keeps its token
        with pytest.raises(urllib.error.URLError):  # closed with the app
            urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2)
    finally:
        services.close()


@pytest.mark.parametrize("listen, found", [("9108", "found '9108'"), ("host:port", "found 'host:port'"),
                                           ("127.0.0.1:70000", "found '127.0.0.1:70000'")])
def test_a_bad_listen_address_is_refused_with_what_was_expected(tmp_path, listen, found):
    with pytest.raises(ConfigError, match="expected HOST:PORT") as e:
        open_app(tmp_path, f"{{listen: '{listen}'}}", {})
    assert found in str(e.value)


def test_a_listen_address_in_use_stops_the_start_with_a_clear_error(tmp_path):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        services, app = open_app(tmp_path, f"{{listen: '127.0.0.1:{port}'}}", {})
        try:
            with pytest.raises(ConfigError, match=f"could not listen on 127.0.0.1:{port}"):
                with TestClient(app):
                    pass
        finally:
            services.close()
