"""The in-app inbox: notifications for officers and reviewers (a firm replied, a notice is overdue, a lead was
assigned, is waiting for review or was decided), addressed to one user or to every user of a role, read per user.

Items are added in the transaction of what they tell of (`post`, `to_officer`); the text is the reader's language,
rendered by the page from `kind` and `params`."""
from __future__ import annotations

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session

from api.auth.roles import OFFICER
from vigil.db.models import InboxItem, InboxRead, Lead, Site, User
from vigil.db.session import session_scope
from vigil.errors import InputError, NotFoundError
from vigil.types import iso_utc

KINDS = ("rectification.reply", "rectification.overdue", "lead.assigned", "lead.dispatched", "lead.review",
         "lead.decided", "lead.reopened")


def post(s: Session, kind: str, lead: Lead | None, *, user_id: int | None = None, role: str | None = None,
         **params) -> InboxItem:
    """One item for `user_id` or for everyone with `role`, added to the open session."""
    if kind not in KINDS or (user_id is None) == (role is None):
        raise ValueError(f"inbox item {kind!r}: expected a known kind and exactly one of user or role")
    if lead is not None:
        site = s.get(Site, lead.site_id)
        params = {"site": site.name if site else lead.site_id, **params}
    item = InboxItem(kind=kind, lead_id=lead.id if lead is not None else None, user_id=user_id, role=role,
                     params=params)
    s.add(item)
    return item


def to_officer(s: Session, kind: str, lead: Lead, **params) -> InboxItem:
    """For the lead's assignee, or every officer when nobody has it."""
    if lead.assignee_id is not None:
        return post(s, kind, lead, user_id=lead.assignee_id, **params)
    return post(s, kind, lead, role=OFFICER, **params)


def _me(s: Session, username: str) -> User:
    user = s.scalars(select(User).where(User.username == username)).first()
    if user is None:
        raise NotFoundError(f"user {username!r} does not exist")
    return user


def _mine(user: User):
    return or_(InboxItem.user_id == user.id, and_(InboxItem.user_id.is_(None), InboxItem.role == user.role))


def _read(user: User):
    return exists().where(InboxRead.item_id == InboxItem.id, InboxRead.user_id == user.id)


def unread_count(services, username: str) -> int:
    with services.sessions() as s:
        me = _me(s, username)
        return s.scalar(select(func.count(InboxItem.id)).where(_mine(me), ~_read(me))) or 0


def list_items(services, username: str, *, unread_only: bool = False, limit: int = 100) -> list[dict]:
    """The user's items, newest first, each with `read`."""
    with services.sessions() as s:
        me = _me(s, username)
        q = select(InboxItem, _read(me).label("read")).where(_mine(me))
        if unread_only:
            q = q.where(~_read(me))
        rows = s.execute(q.order_by(InboxItem.id.desc()).limit(limit)).all()
        return [{"id": i.id, "kind": i.kind, "lead_id": i.lead_id, "params": i.params, "read": bool(read),
                 "to": "me" if i.user_id is not None else i.role, "created_at": iso_utc(i.created_at)}
                for i, read in rows]


def mark_read(services, username: str, ids: list[int] | None) -> int:
    """Mark the user's items read (`ids`, or all when None); returns how many were newly marked."""
    with session_scope(services.sessions) as s:
        me = _me(s, username)
        q = select(InboxItem.id).where(_mine(me), ~_read(me))
        if ids is not None:
            if len(ids) > 1000:
                raise InputError(f"mark at most 1000 inbox items at once, found {len(ids)}")
            q = q.where(InboxItem.id.in_(ids))
        chosen = list(s.scalars(q))
        s.add_all([InboxRead(item_id=i, user_id=me.id) for i in chosen])
        return len(chosen)
