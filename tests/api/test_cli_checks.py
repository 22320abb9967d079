"""`vigil db upgrade`, `vigil evidence verify` and `vigil audit verify` as a user runs them."""
from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import update

from api.context import Services
from vigil.audit import record
from vigil.db.models import Alert, AuditEntry
from vigil.evidence import EvidenceMeta, write_evidence
from vigil.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 11, 3, 10, 0, tzinfo=timezone.utc)


def _vigil(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(Path(sys.executable).parent / "vigil"), *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=120, env={"PATH": "/usr/bin:/bin"})


def _services(tmp_path: Path) -> tuple[Services, Path]:
    cfg = tmp_path / "v.yaml"
    cfg.write_text(f"data_dir: {tmp_path}/data\nsites: {{w: {{name: W}}}}\n"
                   f"cameras: {{g: {{site: w, source: demo:site}}}}\n")
    return Services.open(Settings.from_env({}, cfg)), cfg


def test_db_upgrade_evidence_and_audit_verify(tmp_path):
    cfg = tmp_path / "v.yaml"
    cfg.write_text(f"data_dir: {tmp_path}/data\n")
    res = _vigil("db", "upgrade", "-c", str(cfg))
    from alembic.script import ScriptDirectory
    from alembic.config import Config

    from vigil.db.session import MIGRATIONS

    alembic_cfg = Config()
    alembic_cfg.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(alembic_cfg).get_current_head()
    assert res.returncode == 0 and f"revision {head}" in res.stdout, res.stderr

    services, cfg = _services(tmp_path)
    meta = EvidenceMeta(camera_id="g", site_id="w", rule="dust", model_name="site", model_version="v1",
                        started_at=T0, ended_at=T0, best_at=T0)
    manifest, key = write_evidence(services.store, services.signer, alert_id="a1", revision=1, meta=meta,
                                   files={"best_raw.jpg": (b"\xff\xd8frame", "image/jpeg")})
    with services.sessions() as s:
        s.add(Alert(id="a1", event_id="e1", rule="dust", camera_id="g", site_id="w", started_at=T0, ended_at=T0,
                    best_at=T0, best_score=0.8, manifest_key=key))
        s.commit()
    record(services.sessions, "alice", "alert.confirm", "alert", "a1")
    record(services.sessions, "alice", "lead.status", "lead", "1", {"status": "assigned"})

    ok = _vigil("evidence", "verify", "--all", "-c", str(cfg))
    assert ok.returncode == 0 and "a1: ok" in ok.stdout, ok.stdout + ok.stderr
    assert _vigil("audit", "verify", "-c", str(cfg)).returncode == 0

    (services.store.root / manifest.file("best_raw.jpg").key).write_bytes(b"swapped")
    bad = _vigil("evidence", "verify", "a1", "-c", str(cfg))
    assert bad.returncode == 1 and "best_raw.jpg: sha256" in bad.stdout

    with services.sessions() as s:
        s.execute(update(AuditEntry).where(AuditEntry.id == 1).values(detail={"forged": True}))
        s.commit()
    broken = _vigil("audit", "verify", "-c", str(cfg))
    assert broken.returncode == 1 and "entry 1" in broken.stdout and "BROKEN" in broken.stdout


def test_cli_errors_are_messages_not_tracebacks(tmp_path):
    res = _vigil("evidence", "verify", "-c", str(tmp_path / "missing.yaml"), "--all")
    assert res.returncode == 2 and "expected a YAML config file" in res.stderr
    assert "Traceback" not in res.stderr
