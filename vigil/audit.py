"""The append-only, hash-chained audit log: every evidence access, decision, lead change and promotion."""
from __future__ import annotations

import hashlib
import json
import weakref
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, select, text
from sqlalchemy.exc import IntegrityError as DBIntegrityError
from sqlalchemy.orm import Session, sessionmaker

from vigil.db.models import AuditEntry
from vigil.errors import VigilError
from vigil.types import iso_utc, utcnow

GENESIS = "0" * 64
CHECKPOINTS = "audit/checkpoints"
WRITER_ROLE = "vigil_audit_writer"  # PostgreSQL: may SELECT and INSERT audit rows, nothing else
_PROTECTED: "weakref.WeakSet[Engine]" = weakref.WeakSet()  # engines whose audit rows go through WRITER_ROLE


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
            _as_writer(session)
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


def _as_writer(session: Session) -> None:
    """On PostgreSQL the row is written as the INSERT-only role (see `protect_audit_table`), for this
    transaction only; where the role is not set up, as the session's own user."""
    bind = session.get_bind()
    if bind in _PROTECTED:
        session.execute(text(f"SET LOCAL ROLE {WRITER_ROLE}"))


def protect_audit_table(engine: Engine) -> bool:
    """PostgreSQL: create the INSERT-only writer role (idempotent) and let this user act as it; True when in
    place. A deployment that runs the app as a user who does not own the tables gets the full guarantee: that
    user then has no UPDATE or DELETE on audit_log at all (docs/RELIABILITY.md)."""
    if engine.dialect.name != "postgresql":
        return False
    try:
        with engine.begin() as conn:
            conn.execute(text(f"""
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{WRITER_ROLE}') THEN
    CREATE ROLE {WRITER_ROLE} NOLOGIN;
  END IF;
END $$"""))
            conn.execute(text(f"REVOKE ALL ON audit_log FROM {WRITER_ROLE}"))
            conn.execute(text(f"GRANT SELECT, INSERT ON audit_log TO {WRITER_ROLE}"))
            conn.execute(text(f"GRANT USAGE ON SEQUENCE audit_log_id_seq TO {WRITER_ROLE}"))
            conn.execute(text(f"GRANT {WRITER_ROLE} TO CURRENT_USER"))
    except Exception as e:  # noqa: BLE001 - a user without CREATEROLE: say so, keep writing as the user
        import logging

        logging.getLogger(__name__).warning("audit log: could not set up the INSERT-only role %s (%s); audit rows "
                                            "are written as the database user", WRITER_ROLE,
                                            str(e).splitlines()[0])
        return False
    _PROTECTED.add(engine)
    return True


def writes_as_insert_only_role(engine: Engine) -> bool:
    return engine in _PROTECTED


# -- signed checkpoints of the chain's head, in the evidence store -------------------------------------------------
def checkpoint(factory: sessionmaker[Session], store, signer) -> str | None:
    """Write the chain's head (last id, its hash, the count) as a signed, write-once record in the evidence store
    (object-locked where the store has retention); the key, or None when the log is empty. Rows deleted after
    the newest checkpoint, or a chain re-hashed after an edit, no longer match it."""
    import base64

    with factory() as session:
        last = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1)).first()
        if last is None:
            return None
        count = session.query(AuditEntry).count()
    body = json.dumps({"last_id": last.id, "head_hash": last.hash, "entries": count, "at": iso_utc(utcnow())},
                      sort_keys=True, separators=(",", ":")).encode()
    key = f"{CHECKPOINTS}/{last.id:012d}-{last.hash[:16]}.json"
    if store.exists(key):
        return key
    sig = json.dumps({"algorithm": "Ed25519", "key_id": signer.key_id,
                      "signature": base64.b64encode(signer.sign(body)).decode()}, sort_keys=True).encode()
    store.put(key + ".sig", sig, "application/json")
    store.put(key, body, "application/json")
    return key


def _latest_checkpoint(store, public_pem: bytes | None) -> tuple[dict | None, list[str]]:
    import base64

    from vigil.signing import verify_signature

    keys = sorted(k for k in store.list(CHECKPOINTS) if k.endswith(".json"))
    if not keys:
        return None, []
    key = keys[-1]
    body = store.get(key)
    if public_pem is not None:
        try:
            sig = base64.b64decode(json.loads(store.get(key + ".sig"))["signature"])
        except Exception:  # noqa: BLE001 - any unreadable or missing signature is the same finding
            return None, [f"checkpoint {key}: signature missing or unreadable"]
        if not verify_signature(public_pem, body, sig):
            return None, [f"checkpoint {key}: signature does not verify (checkpoint forged or edited)"]
    return json.loads(body), []


def verify_chain(session: Session, store=None, public_pem: bytes | None = None) -> AuditReport:
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
    if store is not None:
        cp, found = _latest_checkpoint(store, public_pem)
        problems.extend(found)
        if cp is not None:
            head = session.get(AuditEntry, cp["last_id"])
            if head is None:
                problems.append(f"the signed checkpoint names entry {cp['last_id']}, which is gone "
                                f"(the newest entries were deleted)")
            elif head.hash != cp["head_hash"]:
                problems.append(f"entry {head.id}: hash {head.hash[:12]}... differs from the signed checkpoint's "
                                f"{cp['head_hash'][:12]}... (the chain was re-hashed)")
            if count < cp["entries"]:
                problems.append(f"{count} entries, the signed checkpoint counted {cp['entries']} (entries deleted)")
    return AuditReport(ok=not problems, entries=count, problems=tuple(problems))
