"""Rectification notices: a confirmed violation sends the site's enterprise a notice with a deadline and a one-use
link; the firm replies through it with photos (stored as evidence on the lead); an overdue notice escalates to the
officer. Every step is audited."""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from api.ops import inbox
from api.ops.attachments import NewAttachment, add_attachment
from api.ops.leads import user_id_of
from api.ops.workflow import CLOSED_STATES, OPEN_STATES, LeadState, WorkflowError
from vigil import audit
from vigil.db.models import Lead, LeadEvent, RectificationNotice, Site
from vigil.db.session import session_scope
from vigil.errors import AuthError, InputError, NotFoundError
from vigil.types import iso_utc, utcnow

REPLY_ELIGIBLE = ("sent", "escalated")  # a reply spends the token; an overdue firm may still answer


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class NoticeView:
    id: int
    lead_id: int
    site_name: str
    operator: str
    status: str
    deadline: datetime
    text: str
    rules: tuple[str, ...]


def default_text(site: Site, days: int, rules: list[str], lang: str = "zh") -> str:
    from api.ops.rectify_mail import violations

    what = violations(lang, rules)
    if lang == "en":
        return (f"Video monitoring found, and a reviewer confirmed, {what} at your site {site.name}. "
                f"Please correct it within {days} days and upload photos of the corrected site through the link.")
    return (f"经视频监控发现并经审核确认，你单位{site.name}存在{what}。请于{days}日内完成整改，"
            "并通过本链接上传整改后的现场照片。")


def send_notice(services, lead_id: int, actor: str, base_url: str, days: int | None = None,
                text: str = "", lang: str = "zh") -> tuple[int, str, dict]:
    """Create the notice and its outbox messages (the e-mail to the site's contact in `lang`, Chinese by default);
    returns (notice id, the one-use link, the webhook payload)."""
    from api.ops.rectify_mail import NoticeMail, notice_mail

    days = days or services.loaded.config.enforcement.rectify_days
    token = secrets.token_urlsafe(24)
    link = f"{base_url.rstrip('/')}/rectify/{token}"
    with session_scope(services.sessions) as s:
        lead = s.get(Lead, lead_id)
        if lead is None:
            raise NotFoundError(f"lead {lead_id} does not exist")
        if LeadState(lead.status) not in OPEN_STATES:
            raise WorkflowError(f"a rectification notice goes out on an open lead; lead {lead_id} is {lead.status}")
        site = s.get(Site, lead.site_id)
        if site is None:
            raise NotFoundError(f"site {lead.site_id} of lead {lead_id} does not exist")
        rules = sorted({a.rule for a in lead.alerts})
        deadline = (utcnow() + timedelta(days=days)).replace(microsecond=0)
        body = text.strip() or default_text(site, days, rules, lang)
        notice = RectificationNotice(lead_id=lead_id, site_id=lead.site_id, token_hash=token_hash(token),
                                     deadline=deadline, text=body, created_by=user_id_of(s, actor))
        s.add(notice)
        s.flush()
        payload = {"event": "rectification.notice", "notice_id": notice.id, "lead_id": lead_id,
                   "site": {"id": site.id, "name": site.name, "operator": site.operator},
                   "contact": {"name": site.contact_name, "phone": site.contact_phone, "email": site.contact_email},
                   "deadline": iso_utc(deadline), "text": body, "link": link}
        if site.contact_email:  # the e-mail outbox (notifications.email sends it; the link is the only credential)
            notice_mail(services, s, NoticeMail(site, rules, body, deadline, link, lang), lead_id)
        s.add(LeadEvent(lead_id=lead_id, kind="note", user_id=user_id_of(s, actor),
                        text=f"rectification notice #{notice.id} sent, deadline {iso_utc(deadline)}"))
        notice_id = notice.id
    audit.record(services.sessions, actor, "rectification.send", "lead", str(lead_id),
                 {"notice_id": notice_id, "deadline": iso_utc(deadline), "email": bool(site.contact_email)})
    return notice_id, link, payload


def notice_for(services, token: str) -> NoticeView:
    """The notice a token opens; a spent or unknown token is refused (the same answer for both)."""
    with services.sessions() as s:
        n = s.scalars(select(RectificationNotice).where(RectificationNotice.token_hash == token_hash(token))).first()
        if n is None or n.status not in REPLY_ELIGIBLE:
            raise AuthError("this rectification link is not valid (unknown, or already used)")
        lead, site = s.get(Lead, n.lead_id), s.get(Site, n.site_id)
        return NoticeView(n.id, n.lead_id, site.name, site.operator, n.status, n.deadline, n.text,
                          tuple(sorted({a.rule for a in lead.alerts})))


def reply(services, token: str, note: str, files: list[NewAttachment]) -> int:
    """The firm's answer: its photos become reply attachments of the lead; the token is spent. Returns the notice id."""
    notice = notice_for(services, token)
    if not files:
        raise InputError("a rectification reply needs at least one photo of the corrected site, found none")
    if len(files) > 10:
        raise InputError(f"a rectification reply takes at most 10 files, found {len(files)}")
    with session_scope(services.sessions) as s:  # spend the token first: a second submit finds it used
        n = s.get(RectificationNotice, notice.id)
        if n is None or n.status not in REPLY_ELIGIBLE:
            raise AuthError("this rectification link is not valid (unknown, or already used)")
        n.status, n.replied_at, n.reply_note = "replied", utcnow(), note
        in_time = n.replied_at <= n.deadline
        s.add(LeadEvent(lead_id=n.lead_id, kind="note", text=f"enterprise replied to notice #{n.id}"
                        f"{'' if in_time else ' (after the deadline)'}: {note}"))
        lead = s.get(Lead, n.lead_id)
        if lead is not None:
            inbox.to_officer(s, "rectification.reply", lead, notice=n.id, in_time=in_time, files=len(files))
    ids = [add_attachment(services, notice.lead_id, f, None, kind="reply") for f in files]
    audit.record(services.sessions, "enterprise", "rectification.reply", "lead", str(notice.lead_id),
                 {"notice_id": notice.id, "attachments": ids, "in_time": in_time, "note": note})
    return notice.id


def escalate_overdue(services, now: datetime | None = None) -> list[dict]:
    """Notices past their deadline without a reply escalate to the lead's officer; returns what to notify."""
    now = now or utcnow()
    out = []
    with session_scope(services.sessions) as s:
        for n in s.scalars(select(RectificationNotice).where(RectificationNotice.status == "sent",
                                                             RectificationNotice.deadline < now)):
            lead = s.get(Lead, n.lead_id)
            n.status, n.escalated_at = "escalated", now
            s.add(LeadEvent(lead_id=n.lead_id, kind="note", text=f"rectification notice #{n.id} overdue since "
                            f"{iso_utc(n.deadline)}: escalated to the officer"))
            if lead is not None:
                _escalate_to_people(services, s, n, lead)
            out.append({"event": "rectification.overdue", "priority": "high", "notice_id": n.id,
                        "lead_id": n.lead_id, "site_id": n.site_id, "deadline": iso_utc(n.deadline),
                        "officer_id": lead.assignee_id if lead and LeadState(lead.status) not in CLOSED_STATES
                        else None})
    for item in out:
        audit.record(services.sessions, "system", "rectification.escalate", "lead", str(item["lead_id"]),
                     {"notice_id": item["notice_id"], "deadline": item["deadline"]})
    return out


def _escalate_to_people(services, s, n: RectificationNotice, lead: Lead) -> None:
    """The inbox item for the lead's officer (or every officer), and an e-mail to each of them with an address."""
    from api.auth.roles import OFFICER
    from api.ops.rectify_mail import OverdueMail, overdue_mail
    from vigil.db.models import User

    inbox.to_officer(s, "rectification.overdue", lead, notice=n.id, deadline=iso_utc(n.deadline))
    if lead.assignee_id is not None:
        people = [u for u in [s.get(User, lead.assignee_id)] if u is not None]
    else:
        people = list(s.scalars(select(User).where(User.role == OFFICER, User.active.is_(True))))
    site = s.get(Site, n.site_id)
    rules = sorted({a.rule for a in lead.alerts})
    for u in people:
        if u.email:
            overdue_mail(services, s, OverdueMail(u.email, u.display_name or u.username, u.language, lead.id, n.id,
                                                  site.name if site else n.site_id, rules, n.deadline))


def notices_of(services, lead_id: int) -> list[dict]:
    with services.sessions() as s:
        return [{"id": n.id, "status": n.status, "deadline": iso_utc(n.deadline), "created_at": iso_utc(n.created_at),
                 "replied_at": iso_utc(n.replied_at) if n.replied_at else None, "reply_note": n.reply_note,
                 "escalated_at": iso_utc(n.escalated_at) if n.escalated_at else None, "text": n.text}
                for n in s.scalars(select(RectificationNotice).where(RectificationNotice.lead_id == lead_id)
                                   .order_by(RectificationNotice.id))]
