"""The hash-chained audit log on SQLite and PostgreSQL: verifies, and catches edits and removals."""
from __future__ import annotations

import threading

from sqlalchemy import delete, update

from vigil.audit import record, verify_chain
from vigil.db.models import AuditEntry
from vigil.db.session import init_db


def test_chain_verifies_and_catches_tampering(db_url):
    engine, sessions = init_db(db_url)
    for i in range(5):
        record(sessions, "alice", "alert.confirm", "alert", f"a{i}", {"note": f"n{i}"})
    with sessions() as s:
        report = verify_chain(s)
    assert report.ok and report.entries == 5

    with sessions() as s:
        s.execute(update(AuditEntry).where(AuditEntry.id == 3).values(actor="mallory"))
        s.commit()
        report = verify_chain(s)
    assert not report.ok and any("entry 3" in p and "edited" in p for p in report.problems)


def test_removed_entry_is_a_gap(db_url):
    engine, sessions = init_db(db_url)
    for i in range(4):
        record(sessions, "bob", "evidence.view", "alert", f"a{i}")
    with sessions() as s:
        s.execute(delete(AuditEntry).where(AuditEntry.id == 2))
        s.commit()
        report = verify_chain(s)
    assert not report.ok and any("entry 3" in p and "removed" in p for p in report.problems)


def test_concurrent_writers_keep_one_chain(db_url):
    engine, sessions = init_db(db_url)
    threads = [threading.Thread(target=lambda n=n: [record(sessions, f"u{n}", "x", "t", str(i)) for i in range(5)])
               for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with sessions() as s:
        report = verify_chain(s)
    assert report.ok and report.entries == 20
