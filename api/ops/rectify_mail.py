"""The e-mails of rectification: the notice to the firm (Chinese by default, English on request) and the overdue
escalation to the officer, queued in the notification outbox in the caller's transaction."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from api.i18n import translate
from api.notify.email import queue_email
from api.ops.case_facts import fmt_t
from vigil.db.models import Site


@dataclass(frozen=True)
class NoticeMail:
    site: Site
    rules: list[str]
    text: str
    deadline: datetime
    link: str
    lang: str = "zh"


def violations(lang: str, rules: list[str]) -> str:
    names = [translate(lang, f"rule.{r}") for r in rules]
    return ("、" if lang == "zh" else ", ").join(names) or translate(lang, "mail.violation")


def _date(t: datetime, lang: str) -> str:
    return f"{t + timedelta(hours=8):%Y年%m月%d日}" if lang == "zh" else f"{t:%d %b %Y}"


def sender(services, lang: str) -> str:
    e = services.loaded.config.enforcement
    return (e.agency_zh if lang == "zh" else e.agency_en) or e.agency_zh or e.agency_en or "Vigil"


def notice_mail(services, s: Session, m: NoticeMail, lead_id: int) -> int:
    """Queue the notice to the site's contact; returns the delivery id."""
    site, lang = m.site, m.lang
    words = {"site": site.name, "address": site.address or "—", "operator": site.operator or site.name,
             "violations": violations(lang, m.rules), "deadline": fmt_t(m.deadline, lang),
             "deadline_date": _date(m.deadline, lang), "link": m.link, "text": m.text, "sender": sender(services, lang)}
    row = queue_email(s, [site.contact_email], _fill(lang, "mail.notice.subject", words),
                      _fill(lang, "mail.notice.body", words), event="rectification.notice", lead_id=lead_id, lang=lang)
    s.flush()
    return row.id


@dataclass(frozen=True)
class OverdueMail:
    to: str
    officer: str
    lang: str
    lead_id: int
    notice_id: int
    site: str
    rules: list[str]
    deadline: datetime


def overdue_mail(services, s: Session, m: OverdueMail) -> None:
    cfg = services.loaded.config.notifications.email
    base = cfg.app_url.rstrip("/") if cfg is not None else ""
    lang = m.lang if m.lang in ("zh", "en") else "zh"
    words = {"officer": m.officer, "lead": m.lead_id, "notice": m.notice_id, "site": m.site,
             "violations": violations(lang, m.rules), "deadline": fmt_t(m.deadline, lang),
             "lead_link": f"{base}/leads/{m.lead_id}" if base else f"#{m.lead_id}", "sender": sender(services, lang)}
    queue_email(s, [m.to], _fill(lang, "mail.overdue.subject", words), _fill(lang, "mail.overdue.body", words),
                event="rectification.overdue", lead_id=m.lead_id, lang=lang)


def _fill(lang: str, key: str, words: dict) -> str:
    text = translate(lang, key)
    for k, v in words.items():
        text = text.replace("{" + k + "}", str(v))
    return text
