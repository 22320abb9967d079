"""Tampering the fault test found uncaught is caught now: a rolled-back manifest revision, an edited alert row, a
damaged file (never served or packed as good), deleted or re-hashed audit rows (signed checkpoints), and on
PostgreSQL the audit rows are written through a role that may only INSERT."""
from __future__ import annotations

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import ProgrammingError
from typer.testing import CliRunner

from api.cli import app as cli_app
from api.ops.evidence_access import read_evidence
from tests.faults.conftest import open_services, pg_database, write_config
from tests.faults.rig import SITES
from tests.service.test_recorder import FileClips, _event, _frames, _violation, rig
from tests.streams.conftest import make_clip
from vigil import audit
from vigil.db.models import Alert, AuditEntry
from vigil.errors import IntegrityError
from vigil.evidence import manifest_key

CAMERA = SITES + "cameras:\n  gate: {site: works, source: demo:site, record: {pre_roll_s: 1, post_roll_s: 1}}\n"


@pytest.fixture
def with_alert(tmp_path):
    """A closed alert with three revisions, on SQLite and a local evidence folder."""
    cfg, env = write_config(tmp_path, CAMERA)
    services = open_services(cfg, env)
    video = make_clip(tmp_path / "cam.mp4", seconds=6, fps=10, gop=10)
    frames = _frames(video)
    r = rig(services, FileClips(video), tmp_path, revision_interval_s=0, clip_after_open=False)
    r.recorder.on_violation(_event(_violation("open", 3.0, frames[30])))
    r.recorder.on_violation(_event(_violation("update", 4.0, frames[40], score=0.9)))
    r.recorder.on_violation(_event(_violation("closed", 5.0, None)))
    r.settle()
    r.outbox.close()
    with services.sessions() as s:
        alert = s.scalars(select(Alert)).one()
    assert alert.evidence_revision == 3
    yield services, cfg, env, alert
    services.close()


def _verify(cfg, env, *args) -> tuple[int, str]:
    result = CliRunner().invoke(cli_app, [*args, "-c", str(cfg)], env=env)
    return result.exit_code, result.output


def test_a_rolled_back_revision_and_an_edited_row_are_caught(with_alert):
    services, cfg, env, alert = with_alert
    assert _verify(cfg, env, "evidence", "verify", "--all")[0] == 0
    root = services.store.root
    (root / manifest_key(alert.id, 3)).unlink()  # roll the evidence back to revision 2
    (root / (manifest_key(alert.id, 3) + ".sig")).unlink()
    code, out = _verify(cfg, env, "evidence", "verify", "--all")
    assert code == 1 and "newest manifest is revision 2, the database recorded revision 3" in out, out
    with services.sessions() as s:
        s.execute(update(Alert).where(Alert.id == alert.id).values(evidence_revision=2, rule="lab_fire"))
        s.commit()
    code, out = _verify(cfg, env, "evidence", "verify", "--all")
    assert code == 1 and "rule (lab_fire) differs from the signed manifest's" in out, out


def test_a_damaged_file_is_never_served_as_good(with_alert):
    services, cfg, env, alert = with_alert
    assert read_evidence(services, alert.id, "best_raw.jpg", "tester")[0][:2] == b"\xff\xd8"
    from vigil.evidence import read_manifest

    manifest, _, _ = read_manifest(services.store, alert.id)
    path = services.store.root / manifest.file("best_raw.jpg").key
    path.chmod(0o644)
    path.write_bytes(path.read_bytes()[:-10] + b"tampered!!")
    with pytest.raises(IntegrityError, match="best_raw.jpg .* is damaged"):
        read_evidence(services, alert.id, "best_raw.jpg", "tester")
    code, out = _verify(cfg, env, "evidence", "verify", alert.id)
    assert code == 1 and "best_raw.jpg: sha256" in out


def test_deleted_or_rehashed_audit_rows_fail_against_the_signed_checkpoint(tmp_path):
    cfg, env = write_config(tmp_path, SITES)
    services = open_services(cfg, env)
    for i in range(4):
        audit.record(services.sessions, "tester", "alert.confirm", "alert", f"a{i}", {"i": i})
    assert audit.checkpoint(services.sessions, services.store, services.signer)
    assert _verify(cfg, env, "audit", "verify")[0] == 0
    with services.sessions() as s:  # re-hash the chain after editing entry 3: the chain alone still links
        rows = list(s.scalars(select(AuditEntry).order_by(AuditEntry.id)))
        rows[2].detail = {"i": 99}
        prev = rows[1].hash
        for row in rows[2:]:
            row.prev_hash = prev
            row.hash = audit.entry_hash(prev, row.at, row.actor, row.action, row.target_type, row.target_id,
                                        row.detail)
            prev = row.hash
        s.commit()
    with services.sessions() as s:
        assert audit.verify_chain(s).ok  # without the checkpoint, the re-hash is invisible
    code, out = _verify(cfg, env, "audit", "verify")
    assert code == 1 and "differs from the signed checkpoint" in out, out
    with services.sessions() as s:  # delete the newest entry
        s.execute(text("DELETE FROM audit_log WHERE id = (SELECT MAX(id) FROM audit_log)"))
        s.commit()
    code, out = _verify(cfg, env, "audit", "verify")
    assert code == 1 and "which is gone (the newest entries were deleted)" in out, out
    services.close()


def test_postgres_audit_rows_are_written_by_an_insert_only_role(tmp_path, postgres_server):
    url = pg_database(postgres_server, "tamper_audit")
    cfg, env = write_config(tmp_path, SITES, database_url=url)
    services = open_services(cfg, env)
    assert audit.writes_as_insert_only_role(services.engine)
    audit.record(services.sessions, "tester", "alert.confirm", "alert", "a1", {})
    for statement in ("UPDATE audit_log SET actor = 'mallory'", "DELETE FROM audit_log"):
        with services.engine.connect() as conn:
            conn.execute(text(f"SET ROLE {audit.WRITER_ROLE}"))
            with pytest.raises(ProgrammingError, match="permission denied"):
                conn.execute(text(statement))
    with services.sessions() as s:
        assert audit.verify_chain(s).ok and s.scalars(select(AuditEntry.actor)).all() == ["tester"]
    services.close()
