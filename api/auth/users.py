"""Creating and looking up users and API tokens; the first admin on first start."""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from api.auth.passwords import generate_password, hash_password
from api.auth.roles import ADMIN, check_role
from vigil.db.models import ApiToken, User
from vigil.db.session import session_scope

TOKEN_PREFIX = "vgl_"


@dataclass(frozen=True)
class Principal:
    """The authenticated caller of one request."""

    user_id: int
    username: str
    role: str
    language: str
    via: str  # cookie | token
    csrf: str = ""  # expected double-submit token (cookie sessions only)


def create_user(sessions: sessionmaker[Session], username: str, role: str, password: str,
                display_name: str = "", email: str = "") -> User:
    check_role(role)
    if not username or len(username) > 64 or not username.replace("_", "").replace("-", "").replace(".", "").isalnum():
        raise ValueError(f"expected a user name of letters, digits, '.', '_' or '-', found {username!r}")
    with session_scope(sessions) as s:
        if s.scalar(select(User).where(User.username == username)):
            raise ValueError(f"user {username!r} already exists")
        user = User(username=username, role=role, password_hash=hash_password(password),
                    display_name=display_name or username, email=email)
        s.add(user)
        s.flush()
        s.expunge(user)
        return user


def ensure_first_admin(sessions: sessionmaker[Session], username: str, password: str | None) -> str | None:
    """Create the first admin when no user exists; returns the password to print when it was generated."""
    with sessions() as s:
        if s.scalar(select(func.count(User.id))):
            return None
    generated = password is None
    password = password or generate_password()
    create_user(sessions, username, ADMIN, password, "Administrator")
    return password if generated else None


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedToken:
    """A token just made: its row id (what audit rows and revocation name) and the token, shown this once."""

    id: int
    token: str


def issue_token(sessions: sessionmaker[Session], user_id: int, name: str) -> IssuedToken:
    """A new bearer token for the user; only its hash is stored, the token is returned once."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with session_scope(sessions) as s:
        row = ApiToken(user_id=user_id, name=name[:100], token_hash=hash_token(token))
        s.add(row)
        s.flush()
        return IssuedToken(row.id, token)


def create_token(sessions: sessionmaker[Session], user_id: int, name: str) -> str:
    """`issue_token`, the token alone (scripts and tests that need no id)."""
    return issue_token(sessions, user_id, name).token
