"""The evidence-store interface, key safety and content addressing shared by every backend."""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Protocol

from vigil.errors import KeyEscapeError

_SEGMENT = re.compile(r"^[A-Za-z0-9._-]{1,200}$")
MAX_KEY_LENGTH = 900


@dataclass(frozen=True)
class StoredObject:
    key: str
    sha256: str
    size: int
    content_type: str


class EvidenceStore(Protocol):
    """Write-once object storage: `put` never overwrites different content under a key."""

    #: whether objects are written under retention (object lock)
    retention_days: int

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> StoredObject: ...
    def get(self, key: str) -> bytes: ...
    def exists(self, key: str) -> bool: ...
    def list(self, prefix: str) -> list[str]: ...
    def describe(self) -> str: ...


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def safe_key(key: str) -> str:
    """Return `key` if it is a plain relative path of safe segments; refuse anything that could escape."""
    if not isinstance(key, str) or not key:
        raise KeyEscapeError(f"expected a non-empty object key, found {key!r}")
    if "\x00" in key:
        raise KeyEscapeError("expected an object key without NUL bytes, found one")
    if len(key) > MAX_KEY_LENGTH:
        raise KeyEscapeError(f"expected an object key under {MAX_KEY_LENGTH} characters, found {len(key)}")
    if key.startswith("/") or "\\" in key or re.match(r"^[A-Za-z]:", key):
        raise KeyEscapeError(f"expected a relative object key, found {key!r}")
    for segment in key.split("/"):
        if segment in ("", ".", ".."):
            raise KeyEscapeError(f"expected key segments without '', '.' or '..', found {key!r}")
        if not _SEGMENT.match(segment):
            raise KeyEscapeError(f"expected key segments of letters, digits, '.', '_' or '-', found {segment!r}")
    return key


def join_key(prefix: str, name: str) -> str:
    """`prefix/name`, where `name` may not climb out of `prefix` (checked segment by segment)."""
    safe_key(prefix)
    safe_key(name)
    return f"{prefix}/{name}"


def content_key(prefix: str, name: str, sha256: str) -> str:
    """Content-addressed key under a per-alert prefix: `PREFIX/<sha256[:16]>/<name>`."""
    if not re.fullmatch(r"[0-9a-f]{64}", sha256):
        raise KeyEscapeError(f"expected a sha256 hex digest, found {sha256!r}")
    return join_key(prefix, f"{sha256[:16]}/{name}")
