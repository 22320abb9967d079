"""Rectification notices by e-mail through a real SMTP server (aiosmtpd on 127.0.0.1): the firm gets a Chinese
message (English on request) with the deadline and its one-use link, which opens the reply page; while the server is
down the e-mail waits in the outbox and goes once it is back; STARTTLS with a login whose password never shows;
an overdue notice e-mails the officer and lands in the inbox."""
from __future__ import annotations

import logging
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from api.notify.dispatcher import RetryPolicy
from api.notify.factory import make_notifier
from api.ops import review
from api.ops.inbox import list_items, unread_count
from api.ops.rectification import escalate_overdue, send_notice
from tests.mail_server import SmtpServer, self_signed
from tests.servers import free_port, wait_for
from tests.service.conftest import open_services
from tests.service.helpers import add_alert
from vigil.db.models import NotificationDelivery, User
from vigil.db.session import session_scope
from vigil.types import utcnow

SITES = """
sites:
  works: {name: 江畔建设工地, address: 九龙坡区滨江路 18 号, kind: site, operator: 重庆江畔建设有限公司,
          contact_name: 王工, contact_email: wang@jiangpan.test}
cameras:
  gate: {site: works, source: demo:site}
enforcement: {agency_zh: 九龙坡区生态环境局, agency_en: Jiulongpo Ecology and Environment Bureau}
"""
PASSWORD = "s3cret-Smtp-pw!"
PHOTO = b"\xff\xd8\xff\xe0" + b"corrected site" * 80 + b"\xff\xd9"


def _email_yaml(port: int, **extra) -> str:
    fields = {"host": "127.0.0.1", "port": port, "security": "none", "from_addr": "enforce@jlp.test",
              "from_name": "九龙坡区生态环境局", **extra}
    return "notifications:\n  email: {" + ", ".join(f"{k}: {v}" for k, v in fields.items()) + "}\n"


def _lead(services) -> int:
    return review.confirm(services, add_alert(services, camera="gate", rule="dust", site="works"), "rita").id


def _users(services):
    with session_scope(services.sessions) as s:
        s.add_all([User(username="rita", password_hash="x", role="reviewer"),
                   User(username="olga", password_hash="x", role="officer", display_name="Olga Chen",
                        language="en", email="olga@jlp.test")])


def _mail_row(services) -> NotificationDelivery:
    with services.sessions() as s:
        return s.scalars(select(NotificationDelivery).where(NotificationDelivery.channel == "email")
                         .order_by(NotificationDelivery.id.desc())).first()


@pytest.fixture
def smtp_port():
    return free_port()


def test_a_chinese_notice_waits_out_an_smtp_outage_and_its_link_opens_the_reply_page(make_services, smtp_port):
    from fastapi.testclient import TestClient

    from api.app import create_app

    services = make_services(SITES + _email_yaml(smtp_port))
    _users(services)
    notifier = make_notifier(services, retry=RetryPolicy(base_s=0.1, cap_s=0.4)).start()
    server = SmtpServer(smtp_port)  # not started: the mail server is down
    try:
        lead = _lead(services)
        notice_id, link, _ = send_notice(services, lead, "olga", "http://testserver/", days=7)
        assert notifier.resume() == 1
        wait_for(lambda: _mail_row(services).attempts >= 2, 10, "two failed SMTP attempts")
        row = _mail_row(services)
        assert row.status == "pending" and "ConnectionRefused" in row.last_error, row.last_error
        assert server.mailbox.messages == []

        server.start()  # the server is back: the next retry delivers
        got = server.mailbox.wait(1, 10)[0]
        wait_for(lambda: _mail_row(services).status == "sent", 5, "the delivery marked sent")
        kept = _mail_row(services).payload["body"]  # the database keeps the message, not the one-use token
        assert link not in kept and "http://testserver/rectify/<sent>" in kept
    finally:
        notifier.stop()
        server.stop()

    msg = got.message
    assert got.rcpt_tos == ["wang@jiangpan.test"] and got.mail_from == "enforce@jlp.test"
    assert msg["To"] == "wang@jiangpan.test" and "九龙坡区生态环境局" in str(msg["From"])
    raw_subject = re.search(rb"^Subject: (.*?)\r?\n(?! )", msg.as_bytes(), re.M | re.S).group(1)
    assert raw_subject.startswith(b"=?utf-8?") and "扬尘".encode() not in raw_subject  # RFC 2047 on the wire
    deadline = utcnow() + timedelta(days=7, hours=8)  # the subject's date is Beijing's
    assert str(msg["Subject"]) == f"【整改通知】江畔建设工地：扬尘，请于{deadline:%Y年%m月%d日}前完成整改"
    body = msg.get_content()
    for words in ("重庆江畔建设有限公司：", "违法行为：扬尘", "整改期限：", "（北京时间）", "该链接仅可使用一次", link):
        assert words in body, (words, body)
    found = re.search(r"http://testserver/rectify/\S+", body).group(0)
    assert found == link

    with TestClient(create_app(services, run_cameras=False)) as client:
        page = client.get(found)
        assert page.status_code == 200 and "江畔建设工地" in page.text and "扬尘" in page.text
        done = client.post(found, data={"note": "已覆盖防尘网"}, files=[("files", ("fixed.jpg", PHOTO, "image/jpeg"))])
        assert done.status_code == 200, done.text
        assert client.get(found).status_code == 404  # the token is spent
    items = list_items(services, "olga")
    assert [(i["kind"], i["lead_id"], i["params"]["notice"], i["to"]) for i in items] == [
        ("rectification.reply", lead, notice_id, "officer")]
    assert unread_count(services, "olga") == 1


def test_starttls_with_a_login_sends_english_on_request_and_never_shows_the_password(make_services, smtp_port,
                                                                                      tmp_path, caplog):
    cert, key = self_signed(tmp_path)
    yaml = _email_yaml(smtp_port, security="starttls", username="vigil", password_env="SMTP_PW",
                       ca_file=f'"{cert}"')
    server = SmtpServer(smtp_port, tls=(cert, key), login=("vigil", PASSWORD)).start()
    caplog.set_level(logging.DEBUG)
    try:
        wrong = make_services(SITES + yaml, env={"SMTP_PW": PASSWORD + "-wrong"})
        _users(wrong)
        notifier = make_notifier(wrong, retry=RetryPolicy(base_s=0.05, cap_s=0.1)).start()
        send_notice(wrong, _lead(wrong), "olga", "http://vigil.test/", lang="en")
        notifier.resume()
        wait_for(lambda: _mail_row(wrong).attempts >= 1, 10, "a refused login")
        notifier.stop()
        row = _mail_row(wrong)
        assert "login as 'vigil' refused: 535" in row.last_error and server.mailbox.refused_logins
        assert PASSWORD not in row.last_error and PASSWORD not in caplog.text
        wrong.close()

        (tmp_path / "right").mkdir()
        services = open_services(tmp_path / "right", SITES.replace("wang@jiangpan.test", "site-office@jiangpan.test")
                                 + yaml, env={"SMTP_PW": PASSWORD})
        _users(services)
        notifier = make_notifier(services, retry=RetryPolicy(base_s=0.05)).start()
        _, link, _ = send_notice(services, _lead(services), "olga", "http://vigil.test/", days=3, lang="en")
        notifier.resume()
        got = server.mailbox.wait(1, 10)[0]
        notifier.stop()
        services.close()
    finally:
        server.stop()
    assert got.rcpt_tos == ["site-office@jiangpan.test"]
    assert str(got.message["Subject"]).startswith("Rectification notice: 江畔建设工地, Dust; correct by ")
    body = got.message.get_content()
    assert body.startswith("To 重庆江畔建设有限公司,") and "Violation: Dust" in body and link in body
    assert "Deadline: " in body and " UTC" in body and "Video monitoring found" in body
    assert PASSWORD not in caplog.text


def test_an_overdue_notice_emails_the_officer_in_their_language_and_fills_the_inbox(make_services, smtp_port):
    from api.ops.leads import assign

    server = SmtpServer(smtp_port).start()
    services = make_services(SITES + _email_yaml(smtp_port, app_url="https://vigil.jlp.test"))
    _users(services)
    notifier = make_notifier(services, retry=RetryPolicy(base_s=0.05)).start()
    try:
        lead = _lead(services)
        assign(services, lead, "olga", "rita")
        notice_id, _, _ = send_notice(services, lead, "rita", "http://vigil.test/", days=3)
        items = escalate_overdue(services, utcnow() + timedelta(days=4))
        assert [i["notice_id"] for i in items] == [notice_id]
        notifier.resume()
        mails = server.mailbox.wait(2, 10)
    finally:
        notifier.stop()
        server.stop()
    to_officer = [m for m in mails if m.rcpt_tos == ["olga@jlp.test"]]
    assert len(to_officer) == 1, [m.rcpt_tos for m in mails]
    msg = to_officer[0].message
    assert str(msg["Subject"]) == f"Rectification overdue: lead #{lead}, 江畔建设工地"
    body = msg.get_content()
    assert body.startswith("Olga Chen,") and f"https://vigil.jlp.test/leads/{lead}" in body and "Dust" in body
    kinds = [(i["kind"], i["to"]) for i in list_items(services, "olga")]
    assert kinds == [("rectification.overdue", "me"), ("lead.assigned", "me")]


def test_the_running_service_emails_a_notice_sent_over_http_at_once(make_services, smtp_port):
    """The route's notice goes out through the runtime's notifier without waiting for the periodic sweep."""
    from fastapi.testclient import TestClient

    from api.app import create_app
    from api.auth.users import create_token

    server = SmtpServer(smtp_port).start()
    services = make_services(SITES.replace("source: demo:site}", "source: demo:site, enabled: false}")
                             + _email_yaml(smtp_port))
    _users(services)
    with services.sessions() as s:
        olga = s.scalars(select(User).where(User.username == "olga")).one().id
    auth = {"Authorization": f"Bearer {create_token(services.sessions, olga, 't')}"}
    try:
        lead = _lead(services)
        with TestClient(create_app(services, run_cameras=True)) as client:
            r = client.post(f"/api/leads/{lead}/rectification", json={"days": 5, "lang": "en"}, headers=auth)
            assert r.status_code == 200, r.text
            assert r.json()["emailed_to"] == "wang@jiangpan.test"
            got = server.mailbox.wait(1, 5)[0]  # the sweep runs every 10 s: this came at once
            assert client.post(f"/api/leads/{lead}/rectification", json={"lang": "fr"},
                               headers=auth).status_code == 422
    finally:
        server.stop()
    assert r.json()["link"] in got.message.get_content()
    assert str(got.message["Subject"]).startswith("Rectification notice: 江畔建设工地")
