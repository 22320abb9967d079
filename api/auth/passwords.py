"""Password hashing with argon2id (argon2-cffi)."""
from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher()
MIN_LENGTH = 8


def hash_password(password: str) -> str:
    if len(password) < MIN_LENGTH:
        raise ValueError(f"expected a password of at least {MIN_LENGTH} characters, found {len(password)}")
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def generate_password() -> str:
    return secrets.token_urlsafe(15)


# a real hash to verify against when the user does not exist, so timing does not reveal usernames
DUMMY_HASH = _hasher.hash("not-a-real-password-" + secrets.token_hex(4))
