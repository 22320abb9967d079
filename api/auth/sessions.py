"""Ending session cookies server-side: one session at sign-out, or all of a user's sessions at once."""
from __future__ import annotations

import time
from datetime import datetime, timezone

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from api.auth.cookies import SessionData
from vigil.db.models import RevokedSession, User, utcnow
from vigil.db.session import session_scope


def _purge_expired(s: Session) -> None:
    """Revoked nonces of cookies that have expired anyway are dead weight."""
    s.execute(delete(RevokedSession).where(RevokedSession.expires_at < utcnow()))


def revoke_session(sessions: sessionmaker[Session], data: SessionData) -> None:
    """Refuse this session's cookie from now until it expires (a copied value stops working too)."""
    try:
        with session_scope(sessions) as s:
            _purge_expired(s)
            if s.get(RevokedSession, data.nonce) is None:
                s.add(RevokedSession(nonce=data.nonce, user_id=data.user_id,
                                     expires_at=datetime.fromtimestamp(data.expires, timezone.utc)))
    except IntegrityError:
        pass  # a concurrent sign-out of the same cookie stored it first


def end_all_sessions(sessions: sessionmaker[Session], user_id: int) -> None:
    """Refuse every session cookie of the user issued until now; API tokens are left alone."""
    # the next whole millisecond: a cookie's issue time is rounded down, so any cookie issued before now is older
    cutoff_ms = int(time.time() * 1000) + 1
    with session_scope(sessions) as s:
        _purge_expired(s)
        user = s.get(User, user_id)
        if user is not None:
            user.sessions_valid_after = datetime.fromtimestamp(cutoff_ms / 1000, timezone.utc)


def session_ended(s: Session, user: User, data: SessionData) -> bool:
    """True when the session was signed out, or issued before its user's "sign out everywhere"."""
    after = user.sessions_valid_after
    if after is not None and data.issued_ms < round(after.timestamp() * 1000):
        return True
    return s.get(RevokedSession, data.nonce) is not None
