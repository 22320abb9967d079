"""MQTT channel (paho-mqtt 2.x): one message per alert on topic PREFIX/SITE/RULE, one connection kept open."""
from __future__ import annotations

import threading
import uuid
from typing import Mapping

import paho.mqtt.client as mqtt

from api.notify.channels import Selection
from api.notify.webhook import DeliveryError, body_bytes
from vigil.config import MqttConfig


def topic_for(prefix: str, payload: dict) -> str:
    alert = payload.get("alert", {})
    return f"{prefix.rstrip('/')}/{alert.get('site_id', 'unknown')}/{alert.get('rule', 'unknown')}"


class MqttChannel:
    def __init__(self, cfg: MqttConfig, env: Mapping[str, str], *, publish_timeout_s: float = 10.0,
                 max_attempts: int = 5):
        self.name = "mqtt"
        self.cfg = cfg
        self.max_attempts = max_attempts
        self.selection = Selection.of(cfg.rules, cfg.sites)
        self._timeout = publish_timeout_s
        self._connected = threading.Event()
        self._lock = threading.Lock()
        self._client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"vigil-{uuid.uuid4().hex[:12]}")
        if cfg.username:
            self._client.username_pw_set(cfg.username, env.get(cfg.password_env) if cfg.password_env else None)
        self._client.on_connect = lambda c, u, f, rc, p: self._connected.set() if not rc.is_failure else None
        self._client.on_disconnect = lambda c, u, f, rc, p: self._connected.clear()
        self._started = False

    def wants(self, payload: dict) -> bool:
        return self.selection.matches(payload)

    def _ensure_connected(self) -> None:
        with self._lock:
            if not self._started:
                try:
                    self._client.connect(self.cfg.host, self.cfg.port, keepalive=30)
                except OSError as e:
                    raise DeliveryError(f"mqtt: cannot connect to {self.cfg.host}:{self.cfg.port}: {e}") from None
                self._client.loop_start()  # paho reconnects by itself from here on
                self._started = True
        if not self._connected.wait(self._timeout):
            raise DeliveryError(f"mqtt: not connected to {self.cfg.host}:{self.cfg.port} after {self._timeout} s")

    def send(self, payload: dict, delivery_id: int) -> None:
        self._ensure_connected()
        info = self._client.publish(topic_for(self.cfg.topic_prefix, payload), body_bytes(payload), qos=self.cfg.qos)
        try:
            info.wait_for_publish(self._timeout)
        except (RuntimeError, ValueError) as e:
            raise DeliveryError(f"mqtt: publish failed: {e}") from None
        if not info.is_published():
            raise DeliveryError(f"mqtt: broker did not acknowledge within {self._timeout} s")

    def close(self) -> None:
        if self._started:
            self._client.loop_stop()
            self._client.disconnect()
