"""The append-only, hash-chained audit log: every evidence access, decision, lead change and promotion."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError as DBIntegrityError
from sqlalchemy.orm import Session, sessionmaker

from vigil.db.models import AuditEntry
from vigil.errors import VigilError
from vigil.types import iso_utc, utcnow

GENESIS = "0" * 64


@dataclass(frozen=True)
class AuditReport:
    ok: bool
    entries: int
    problems: tuple[str, ...]


def entry_hash(prev_hash: str, at, actor: str, action: str, target_type: str, target_id: str,
               detail: dict[str, Any]) -> str:
    body = json.dumps({"prev": prev_hash, "at": iso_utc(at), "actor": actor, "action": action,
                       "target_type": target_type, "target_id": target_id, "detail": detail},
                      sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(body.encode()).hexdigest()


def _head(session: Session) -> str:
    last = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1)).first()
    return last.hash if last else GENESIS


def record(factory: sessionmaker[Session], actor: str, action: str, target_type: str, target_id: str,
           detail: dict[str, Any] | None = None, *, attempts: int = 20) -> AuditEntry:
    """Append one entry in its own transaction. Concurrent writers race on the unique prev_hash; the loser retries."""
    detail = json.loads(json.dumps(detail or {}, default=str))
    for _ in range(attempts):
        with factory() as session:
            prev = _head(session)
            at = utcnow().replace(microsecond=0)
            row = AuditEntry(at=at, actor=actor, action=action, target_type=target_type, target_id=str(target_id),
                             detail=detail, prev_hash=prev,
                             hash=entry_hash(prev, at, actor, action, target_type, str(target_id), detail))
            session.add(row)
            try:
                session.commit()
                return row
            except DBIntegrityError:
                session.rollback()
    raise VigilError(f"audit log: could not append {action} after {attempts} attempts (heavy contention)")


def verify_chain(session: Session) -> AuditReport:
    """Walk the log in id order; any edited row, removed row or reordering breaks a link and is named."""
    problems: list[str] = []
    prev = GENESIS
    count = 0
    for row in session.scalars(select(AuditEntry).order_by(AuditEntry.id)):
        count += 1
        if row.prev_hash != prev:
            problems.append(f"entry {row.id}: links to {row.prev_hash[:12]}..., expected {prev[:12]}... "
                            f"(an entry before it was removed or edited)")
        expected = entry_hash(row.prev_hash, row.at, row.actor, row.action, row.target_type, row.target_id,
                              row.detail)
        if expected != row.hash:
            problems.append(f"entry {row.id} ({row.action} by {row.actor}): content does not match its hash "
                            f"(edited)")
        prev = row.hash
    return AuditReport(ok=not problems, entries=count, problems=tuple(problems))
