"""Shared fixtures: real PostgreSQL, S3 (SeaweedFS), MQTT (mosquitto) and Prometheus servers on 127.0.0.1."""
from __future__ import annotations

import itertools
import os

import pytest

from tests.servers import create_database, start_mosquitto, start_postgres, start_prometheus, start_seaweed_s3

S3_ACCESS_KEY = "vigil-test-access"
S3_SECRET_KEY = "vigil-test-secret-9f2c"
_db_names = itertools.count(1)


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory):
    server = start_postgres()
    yield server
    server.stop()


@pytest.fixture
def pg_url(postgres_server) -> str:
    """A fresh, empty database on the session's throwaway PostgreSQL cluster."""
    return create_database(postgres_server, f"vigil_test_{os.getpid()}_{next(_db_names)}")


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    server = start_seaweed_s3(tmp_path_factory.mktemp("s3"), S3_ACCESS_KEY, S3_SECRET_KEY)
    server.extra.update(access_key=S3_ACCESS_KEY, secret_key=S3_SECRET_KEY)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def mqtt_broker(tmp_path_factory):
    server = start_mosquitto(tmp_path_factory.mktemp("mqtt"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory):
    """`prometheus(scrape_configs)` starts a Prometheus scraping those jobs every second; stopped after the module.
    A Prometheus that cannot start fails the test with the reason (ServerStartError), never skips it."""
    started = []

    def start(scrape_configs: list[dict]):
        server = start_prometheus(tmp_path_factory.mktemp("prometheus"), scrape_configs)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
