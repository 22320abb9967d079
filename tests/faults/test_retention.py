"""Retention removes only evidence nothing needs (rejected, on no lead, old enough; or oldest first under the disk
watermark), records each purge, and verify tells a purge from a deletion."""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from sqlalchemy import select, update
from typer.testing import CliRunner

from api.cli import app as cli_app
from api.service.retention import run_retention
from tests.faults.conftest import open_services, write_config
from tests.faults.test_tamper import CAMERA
from tests.service.test_recorder import FileClips, _event, _frames, _violation, rig
from tests.streams.conftest import make_clip
from vigil.db.models import Alert, Lead
from vigil.evidence import alert_prefix
from vigil.types import utcnow

CASES = {  # event id -> (state, days ago, on a lead)
    "old-rejected": ("rejected", 40, False),
    "new-rejected": ("rejected", 1, False),
    "old-confirmed": ("confirmed", 40, False),
    "old-unreviewed": ("new", 40, False),
    "old-rejected-on-lead": ("rejected", 40, True),
}


def _make_alerts(tmp_path, retention: str):
    cfg, env = write_config(tmp_path, CAMERA.replace("cameras:", f"reliability: {{{retention}}}\ncameras:"))
    services = open_services(cfg, env)
    video = make_clip(tmp_path / "cam.mp4", seconds=6, fps=10, gop=10)
    frame = _frames(video)[30]
    r = rig(services, FileClips(video), tmp_path, clip_after_open=False)
    for event_id in CASES:
        r.recorder.on_violation(_event(replace(_violation("open", 3.0, frame), event_id=event_id)))
        r.recorder.on_violation(_event(replace(_violation("closed", 4.0, None), event_id=event_id)))
    r.settle()
    r.outbox.close()
    with services.sessions() as s:
        lead = Lead(site_id="works", status="electronic_evidence")
        s.add(lead)
        s.flush()
        for event_id, (state, days, on_lead) in CASES.items():
            s.execute(update(Alert).where(Alert.event_id == event_id).values(
                state=state, ended_at=utcnow() - timedelta(days=days), lead_id=lead.id if on_lead else None))
        s.commit()
    return services, cfg, env


def _kept(services) -> dict[str, bool]:
    with services.sessions() as s:
        rows = list(s.scalars(select(Alert)))
    return {a.event_id: bool(services.store.list(alert_prefix(a.id))) and a.evidence_revision > 0 for a in rows}


def test_retention_by_age_and_by_watermark(tmp_path):
    services, cfg, env = _make_alerts(tmp_path / "age", "retention_days: 30, min_free_mb: 0")
    report = run_retention(services)
    assert len(report.purged) == 1
    assert _kept(services) == {"old-rejected": False, "new-rejected": True, "old-confirmed": True,
                               "old-unreviewed": True, "old-rejected-on-lead": True}
    result = CliRunner().invoke(cli_app, ["evidence", "verify", "--all", "-c", str(cfg)], env=env)
    assert result.exit_code == 0 and "purged by retention (audit entry" in result.output, result.output
    result = CliRunner().invoke(cli_app, ["audit", "verify", "-c", str(cfg)], env=env)
    assert result.exit_code == 0, result.output
    services.close()

    services, cfg, env = _make_alerts(tmp_path / "disk", "retention_days: 0, min_free_mb: 16777216")
    assert len(run_retention(services).purged) == 2  # under the watermark: every rejected alert on no lead
    assert _kept(services) == {"old-rejected": False, "new-rejected": False, "old-confirmed": True,
                               "old-unreviewed": True, "old-rejected-on-lead": True}
    services.close()
