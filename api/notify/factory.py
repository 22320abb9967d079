"""Building the notifier from the config's `notifications:` section."""
from __future__ import annotations

from api.notify.channels import Channel
from api.notify.dispatcher import Notifier, RetryPolicy
from api.notify.email import EmailChannel
from api.notify.mqtt import MqttChannel
from api.notify.webhook import WebhookChannel


def make_notifier(services, *, retry: RetryPolicy = RetryPolicy()) -> Notifier:
    """A Notifier (not yet started): one channel per configured webhook, plus MQTT and e-mail when configured."""
    cfg = services.loaded.config.notifications
    env = services.settings.env
    channels: list[Channel] = [WebhookChannel(name, wh, env) for name, wh in cfg.webhooks.items()]
    if cfg.mqtt is not None:
        channels.append(MqttChannel(cfg.mqtt, env))
    secrets = tuple(env[wh.secret_env] for wh in cfg.webhooks.values() if wh.secret_env and env.get(wh.secret_env))
    if cfg.email is not None:
        channels.append(EmailChannel(cfg.email, env))
        if cfg.email.password_env and env.get(cfg.email.password_env):
            secrets += (env[cfg.email.password_env],)
    return Notifier(services.sessions, channels, retry=retry, secrets=services.loaded.secrets + secrets)


def alert_message(event: str, alert: dict, services) -> dict:
    """The notification body: the event, the alert, and the site and rule as people name them."""
    cfg = services.loaded.config
    site = cfg.sites.get(alert.get("site_id", ""))
    from vigil.catalogue import RULES

    rule = RULES.get(alert.get("rule", ""))
    return {"event": event, "alert": alert, "site": {"id": alert.get("site_id"), "name": site.name if site else "",
                                                     "address": site.address if site else ""},
            "rule_title": rule.title if rule else alert.get("rule", "")}
