"""Webhooks against a real local HTTP server (HMAC, retry, dead letter) and MQTT against a real mosquitto."""
from __future__ import annotations

import json
import threading

import paho.mqtt.client as mqtt
from sqlalchemy import select

from api.notify.dispatcher import RetryPolicy
from api.notify.factory import alert_message, make_notifier
from api.notify.webhook import SIGNATURE_HEADER, sign_body, verify_body
from tests.service.conftest import SITES
from tests.service.helpers import add_alert, start_hook
from vigil.db.models import NotificationDelivery

CAMS = """
cameras:
  gate: {site: works, source: demo:site}
  bench: {site: lab3, source: demo:lab}
"""
SECRET = "hook-secret-4e1a"


def _deliveries(services) -> dict[str, NotificationDelivery]:
    with services.sessions() as s:
        return {d.channel: d for d in s.scalars(select(NotificationDelivery))}


def test_webhook_signed_retried_and_dead_lettered(make_services):
    hook = start_hook({"/ok": [200], "/flaky": [500, 502, 200], "/down": [503], "/burn-only": [200]})
    try:
        services = make_services(SITES + CAMS + f"""
notifications:
  webhooks:
    ok: {{url: "{hook.url('/ok')}", secret_env: HOOK_SECRET}}
    flaky: {{url: "{hook.url('/flaky')}", secret_env: HOOK_SECRET, max_attempts: 4}}
    down: {{url: "{hook.url('/down')}", max_attempts: 3}}
    burn-only: {{url: "{hook.url('/burn-only')}", rules: [open_burning]}}
""", env={"HOOK_SECRET": SECRET})
        aid = add_alert(services, camera="gate", rule="dust", site="works")
        notifier = make_notifier(services, retry=RetryPolicy(base_s=0.05)).start()
        notifier.notify(alert_message("alert.new", {"id": aid, "rule": "dust", "site_id": "works"}, services))
        assert notifier.wait_idle(20)
        notifier.stop()
        rows = _deliveries(services)
        assert set(rows) == {"webhook:ok", "webhook:flaky", "webhook:down"}  # burn-only does not hear dust
        assert (rows["webhook:ok"].status, rows["webhook:ok"].attempts) == ("sent", 1)
        assert (rows["webhook:flaky"].status, rows["webhook:flaky"].attempts) == ("sent", 3)
        assert (rows["webhook:down"].status, rows["webhook:down"].attempts) == ("dead", 3)
        assert "503" in rows["webhook:down"].last_error
        assert all(r.alert_id == aid for r in rows.values())
        by_path = {}
        for path, headers, body in hook.received:
            by_path.setdefault(path, []).append((headers, body))
        assert len(by_path["/flaky"]) == 3 and len(by_path["/down"]) == 3 and "/burn-only" not in by_path
        headers, body = by_path["/ok"][0]
        assert verify_body(SECRET, body, headers[SIGNATURE_HEADER])
        assert not verify_body("wrong-secret", body, headers[SIGNATURE_HEADER])
        assert not verify_body(SECRET, body + b" ", headers[SIGNATURE_HEADER])
        doc = json.loads(body)
        assert doc["alert"]["id"] == aid and doc["site"]["name"] == "Riverside Works"
        assert SIGNATURE_HEADER not in by_path["/down"][0][0]  # no secret configured: unsigned
    finally:
        hook.server.shutdown()


def test_webhook_refuses_to_send_unsigned_when_secret_missing(make_services):
    hook = start_hook({"/ok": [200]})
    try:
        services = make_services(SITES + CAMS + f"""
notifications:
  webhooks:
    ok: {{url: "{hook.url('/ok')}", secret_env: HOOK_SECRET, max_attempts: 2}}
""")
        aid = add_alert(services, camera="gate", rule="dust", site="works")
        notifier = make_notifier(services, retry=RetryPolicy(base_s=0.01)).start()
        notifier.notify(alert_message("alert.new", {"id": aid, "rule": "dust", "site_id": "works"}, services))
        assert notifier.wait_idle(10)
        notifier.stop()
        row = _deliveries(services)["webhook:ok"]
        assert row.status == "dead" and "HOOK_SECRET" in row.last_error
        assert hook.received == []
    finally:
        hook.server.shutdown()


def test_sign_body_is_hmac_sha256_hex():
    import hashlib
    import hmac

    assert sign_body("k", b"{}") == "sha256=" + hmac.new(b"k", b"{}", hashlib.sha256).hexdigest()


def test_mqtt_publishes_per_site_and_rule(make_services, mqtt_broker):
    got: list[tuple[str, bytes]] = []
    ready, arrived = threading.Event(), threading.Event()
    sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    sub.on_connect = lambda c, u, f, rc, p: (c.subscribe("vigil-test/#", qos=1), ready.set())
    sub.on_message = lambda c, u, m: (got.append((m.topic, m.payload)), arrived.set())
    sub.connect("127.0.0.1", mqtt_broker.port)
    sub.loop_start()
    try:
        assert ready.wait(10)
        services = make_services(SITES + CAMS + f"""
notifications:
  mqtt: {{host: 127.0.0.1, port: {mqtt_broker.port}, topic_prefix: vigil-test, sites: [lab3]}}
""")
        a_lab = add_alert(services, camera="bench", rule="lab_fire", site="lab3")
        a_works = add_alert(services, camera="gate", rule="dust", site="works")
        notifier = make_notifier(services).start()
        notifier.notify(alert_message("alert.new", {"id": a_works, "rule": "dust", "site_id": "works"}, services))
        notifier.notify(alert_message("alert.new", {"id": a_lab, "rule": "lab_fire", "site_id": "lab3"}, services))
        assert notifier.wait_idle(20)
        assert arrived.wait(10)
        notifier.stop()
        assert [t for t, _ in got] == ["vigil-test/lab3/lab_fire"]
        assert json.loads(got[0][1])["alert"]["id"] == a_lab
        assert json.loads(got[0][1])["site"]["name"] == "化学楼 3 号实验室"
        rows = _deliveries(services)
        assert rows["mqtt"].status == "sent" and rows["mqtt"].alert_id == a_lab
    finally:
        sub.loop_stop()
        sub.disconnect()
