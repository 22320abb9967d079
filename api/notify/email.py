"""E-mail channel (smtplib): sends the addressed messages the outbox holds as `email` delivery rows.

Unlike webhooks it hears no alert fan-out: each message names its recipients and is queued as its own durable row
(`queue_email`, in the caller's transaction), retried with backoff by the notifier like every delivery."""
from __future__ import annotations

import re
import smtplib
import ssl
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Mapping

from sqlalchemy.orm import Session

from api.notify.webhook import DeliveryError
from vigil.config import SmtpConfig
from vigil.db.models import NotificationDelivery

EMAIL_CHANNEL = "email"
ONE_USE_LINK = re.compile(r"(/rectify/)[A-Za-z0-9_-]+")


def queue_email(s: Session, to: list[str], subject: str, body: str, *, event: str, lead_id: int | None = None,
                lang: str = "zh") -> NotificationDelivery:
    """One pending e-mail in the outbox, added to the open session (so it commits with what it tells of)."""
    row = NotificationDelivery(channel=EMAIL_CHANNEL, status="pending", payload={
        "event": event, "to": list(to), "subject": subject, "body": body, "lead_id": lead_id, "lang": lang})
    s.add(row)
    return row


def build_message(cfg: SmtpConfig, payload: dict, delivery_id: int) -> EmailMessage:
    """The MIME message: UTF-8 text, the subject RFC 2047-encoded by the e-mail package when it is not ASCII."""
    msg = EmailMessage()
    msg["From"] = str(Address(cfg.from_name, addr_spec=cfg.from_addr))
    msg["To"] = ", ".join(payload["to"])
    msg["Subject"] = payload["subject"]
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    msg["Message-ID"] = make_msgid(f"vigil.{delivery_id}", domain=cfg.from_addr.rsplit("@", 1)[1])
    msg["Content-Language"] = "zh-CN" if payload.get("lang", "zh") == "zh" else "en"
    msg["X-Vigil-Event"] = str(payload.get("event", ""))
    msg.set_content(payload["body"], charset="utf-8")
    return msg


class EmailChannel:
    def __init__(self, cfg: SmtpConfig, env: Mapping[str, str]):
        self.name = EMAIL_CHANNEL
        self.cfg = cfg
        self.max_attempts = cfg.max_attempts
        self._password = env.get(cfg.password_env) if cfg.password_env else None

    def wants(self, payload: dict) -> bool:
        return False  # only addressed messages (queue_email), never the alert fan-out

    def _where(self) -> str:
        return f"smtp {self.cfg.host}:{self.cfg.port} ({self.cfg.security})"

    def _connect(self) -> smtplib.SMTP:
        cfg = self.cfg
        context = ssl.create_default_context(cafile=cfg.ca_file) if cfg.security != "none" else None
        if cfg.security == "ssl":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(cfg.host, cfg.port, timeout=cfg.timeout_s, context=context)
        else:
            smtp = smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout_s)
        try:
            smtp.ehlo()
            if cfg.security == "starttls":
                if not smtp.has_extn("starttls"):
                    raise DeliveryError(f"{self._where()}: expected the server to offer STARTTLS, found it does not; "
                                        "refusing to send (and log in) in clear text")
                smtp.starttls(context=context)
                smtp.ehlo()
            if cfg.username:
                if cfg.password_env and not self._password:
                    raise DeliveryError(f"{self._where()}: expected the password in environment variable "
                                        f"{cfg.password_env}, found it unset")
                smtp.login(cfg.username, self._password or "")
        except BaseException:
            smtp.close()
            raise
        return smtp

    def send(self, payload: dict, delivery_id: int) -> None:
        if not payload.get("to"):
            raise DeliveryError(f"{self.name}: delivery {delivery_id} names no recipient")
        msg = build_message(self.cfg, payload, delivery_id)
        try:
            smtp = self._connect()
            try:
                refused = smtp.send_message(msg)
            finally:
                try:
                    smtp.quit()
                except (smtplib.SMTPException, OSError):
                    smtp.close()
        except smtplib.SMTPAuthenticationError as e:  # the server's answer, never the password
            raise DeliveryError(f"{self._where()}: login as {self.cfg.username!r} refused: {e.smtp_code}") from None
        except (smtplib.SMTPException, OSError) as e:
            raise DeliveryError(f"{self._where()}: {type(e).__name__}: {e}") from None
        if refused:
            raise DeliveryError(f"{self._where()}: recipients refused: {', '.join(sorted(refused))}")

    @staticmethod
    def kept_after_send(payload: dict) -> dict:
        """What the delivery row keeps once sent: the message with its one-use reply token cut out (the firm has
        it; the database keeps only its hash, on the notice)."""
        return {**payload, "body": ONE_USE_LINK.sub(r"\1<sent>", payload.get("body", ""))}

    def close(self) -> None:
        pass
