"""A real SMTP server on 127.0.0.1 for the tests (aiosmtpd): plain or STARTTLS with a self-signed certificate, with
or without a login; it keeps every message it accepted, parsed."""
from __future__ import annotations

import datetime as dt
import email
import email.policy
import ssl
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


@dataclass
class Mailbox:
    """What the server accepted, and the logins it refused."""

    messages: list[Received] = field(default_factory=list)
    refused_logins: list[str] = field(default_factory=list)
    cond: threading.Condition = field(default_factory=threading.Condition)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's handler hook
        msg = email.message_from_bytes(envelope.original_content or envelope.content, policy=email.policy.default)
        with self.cond:
            self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), msg))  # type: ignore[arg-type]
            self.cond.notify_all()
        return "250 OK"

    def wait(self, n: int, timeout: float) -> list[Received]:
        with self.cond:
            if not self.cond.wait_for(lambda: len(self.messages) >= n, timeout):
                raise AssertionError(f"expected {n} e-mail(s) at the test SMTP server within {timeout} s, "
                                     f"found {len(self.messages)}")
            return list(self.messages)


def self_signed(workdir: Path, host: str = "127.0.0.1") -> tuple[Path, Path]:
    """A certificate (also its own CA) for `host` and its key, as PEM files."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    import ipaddress

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "vigil test smtp")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(host))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = workdir / "smtp-cert.pem", workdir / "smtp-key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


class SmtpServer:
    """`start()`/`stop()` may be called again (same port, same mailbox): an outage and a recovery."""

    def __init__(self, port: int, *, tls: tuple[Path, Path] | None = None, login: tuple[str, str] | None = None):
        self.port, self.tls, self.login = port, tls, login
        self.mailbox = Mailbox()
        self._controller: Controller | None = None

    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        if isinstance(auth_data, LoginPassword) and self.login is not None and \
                (auth_data.login.decode(), auth_data.password.decode()) == self.login:
            return AuthResult(success=True)
        self.mailbox.refused_logins.append(auth_data.login.decode() if isinstance(auth_data, LoginPassword) else "?")
        return AuthResult(success=False, handled=False)

    def start(self) -> "SmtpServer":
        kw: dict = {}
        if self.tls is not None:
            ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ctx.load_cert_chain(str(self.tls[0]), str(self.tls[1]))
            kw.update(tls_context=ctx, require_starttls=True)
        if self.login is not None:
            kw.update(authenticator=self._authenticate, auth_required=True)
        self._controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port, ready_timeout=10, **kw)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None
