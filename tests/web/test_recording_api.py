"""Continuous recording through the running service (a looping file camera with record.continuous): segments and
timeline over HTTP, a segment served with byte ranges, a range over two segments exported to a lead (duration,
hash, signed lead manifest, package, audit), bad requests refused with a reason, and retention by days, size and the
disk watermark, oldest first."""
from __future__ import annotations

import hashlib
import io
import zipfile
from datetime import datetime, timedelta

import av
import pytest
from sqlalchemy import select

from api.auth.users import create_token
from api.ops import review
from api.ops.attachments import verify_lead_manifests
from tests.servers import wait_for
from tests.web.conftest import open_web_services
from tests.web.seed import ROLE_USERS, add_role_users, seed_alert
from vigil.db.models import AuditEntry, LeadAttachment, User

pytestmark = pytest.mark.slow
RECORDING = "recording: {segment_s: 2, max_export_s: 60}\n"


def rec_camera(clip) -> str:
    """A camera that records: a looping 10 fps clip with a keyframe every second, at the gate's site."""
    return f"  rec: {{name: Yard recorder, site: works, source: \"{clip}\", record: {{continuous: true}}}}\n"


@pytest.fixture
def recording_app(tmp_path):
    from fastapi.testclient import TestClient

    from api.app import create_app
    from tests.streams.conftest import make_clip

    clip = make_clip(tmp_path / "yard.mp4", size="320x180", fps=10, seconds=20, gop=10)
    services = open_web_services(tmp_path, rec_camera(clip), extra_config=RECORDING)
    add_role_users(services)
    with services.sessions() as s:
        ids = {u.username: u.id for u in s.scalars(select(User))}
    bearer = {role: {"Authorization": f"Bearer {create_token(services.sessions, ids[name], 't')}"}
              for role, name in ROLE_USERS.items()}
    with TestClient(create_app(services, run_cameras=True)) as client:
        yield client, services, bearer
    services.close()


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_recorded_range_exported_to_a_lead_and_bad_requests_refused(recording_app):
    client, services, bearer = recording_app
    wall = bearer["operator"]
    tl = wait_for(lambda: (t := client.get("/api/cameras/rec/timeline?hours=1", headers=wall).json())
                  and len(t["segments"]) >= 3 and t, 60, "three recorded segments")
    assert tl["recording"] is True and len(tl["ranges"]) == 1  # segments meet: one recorded range
    a, b = tl["segments"][:2]
    assert client.get("/api/cameras/gate/timeline", headers=wall).json()["recording"] is False
    listed = client.get("/api/cameras/rec/recordings?hours=1", headers=wall).json()
    assert listed["total"] >= 3 and listed["items"][0]["id"] == a["id"]
    media = client.get(a["url"], headers=wall)
    assert media.status_code == 200 and media.headers["content-type"] == "video/mp4"
    assert len(media.content) == a["bytes"] and media.content[4:8] == b"ftyp"
    part = client.get(a["url"], headers={**wall, "Range": "bytes=0-99"})
    assert part.status_code == 206 and len(part.content) == 100

    alert = seed_alert(services, camera="rec", rule="dust", ago_s=5)
    lead = review.confirm(services, alert, "rita").id
    tl = client.get("/api/cameras/rec/timeline?hours=1", headers=wall).json()
    assert [x["id"] for x in tl["alerts"]] == [alert] and tl["alerts"][0]["url"] == f"/alerts/{alert}"

    def middle(seg: dict) -> datetime:  # a segment cut short (the looping file camera reconnects) is still inside
        return at(seg["start_at"]) + (at(seg["end_at"]) - at(seg["start_at"])) / 2

    start, end = middle(a), middle(b)
    body = {"start": start.isoformat(), "end": end.isoformat(), "lead_id": lead}
    assert client.post("/api/cameras/rec/exports", json=body, headers=wall).status_code == 403  # operators watch
    r = client.post("/api/cameras/rec/exports", json=body | {"note": "the yard at dusk"}, headers=bearer["reviewer"])
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["segments"] == 2 and out["gaps_s"] < 0.3
    first = at(out["start_at"])
    assert first <= start and (start - first).total_seconds() <= 1.0  # from the keyframe at or before the start
    assert abs((at(out["end_at"]) - first).total_seconds() - (end - first).total_seconds()) < 0.15
    data = client.get(out["url"], headers=bearer["officer"]).content
    assert hashlib.sha256(data).hexdigest() == out["sha256"] and len(data) == out["bytes"]
    with av.open(io.BytesIO(data)) as box:
        s = box.streams.video[0]
        pts = [p.pts for p in box.demux(s) if p.size]
        assert abs((pts[-1] - pts[0]) * s.time_base + 0.1 - (end - first).total_seconds()) < 0.15
    assert verify_lead_manifests(services.store, lead, services.signer.public_key_pem()) == []
    with services.sessions() as s:
        row = s.get(LeadAttachment, out["attachment_id"])
        assert (row.kind, row.note, row.sha256) == ("footage", "the yard at dusk", out["sha256"])
        audit = s.scalars(select(AuditEntry).where(AuditEntry.action == "recording.export")).one()
        assert audit.actor == "rita" and audit.detail["lead_id"] == lead and len(audit.detail["segments"]) == 2
    pkg = client.get(f"/api/leads/{lead}/package?lang=en", headers=bearer["officer"])
    with zipfile.ZipFile(io.BytesIO(pkg.content)) as z:
        packed = [n for n in z.namelist() if n.endswith(out["name"])]
        assert packed and z.read(packed[0]) == data
        assert any("lead.attachment.footage" in e["action"] for e in __import__("json").loads(z.read("audit.json")))

    far = datetime(2020, 1, 1, tzinfo=start.tzinfo)
    bad = [  # (camera, body changes, status, words in the answer)
        ("rec", {"end": (start - timedelta(seconds=5)).isoformat()}, 422, "end after the start"),
        ("rec", {"start": far.isoformat(), "end": (far + timedelta(seconds=20)).isoformat()}, 404, "no recorded"),
        ("rec", {"end": (start + timedelta(minutes=5)).isoformat()}, 422, "at most 60 s"),
        ("rec", {"start": "2026-12-03T10:00:00", "end": "2026-12-03T10:00:10"}, 422, "naive"),
        ("nowhere", {}, 404, "camera 'nowhere' does not exist"),
        ("rec", {"lead_id": 9999}, 404, "lead 9999 does not exist"),
        ("bench", {}, 422, "expected a lead of the camera's site"),
        ("rec", {"extra": 1}, 422, "extra"),
    ]
    for camera, change, status, words in bad:
        r = client.post(f"/api/cameras/{camera}/exports", json=body | change, headers=bearer["officer"])
        assert r.status_code == status and words in r.text, (camera, change, r.status_code, r.text)
    for url, status in (("/api/recordings/999999.mp4", 404), ("/api/cameras/nowhere/timeline", 404),
                        ("/api/cameras/rec/timeline?hours=500", 422),
                        ("/api/cameras/rec/timeline?start=2026-12-03T10:00:00Z&end=2026-12-03T09:00:00Z", 422)):
        assert client.get(url, headers=wall).status_code == status, url


def test_retention_removes_the_oldest_by_days_size_and_watermark(recording_app):
    from api.service.recording import retain

    client, services, _ = recording_app
    runtime = client.app.state.runtime
    index = runtime.recording.index
    wait_for(lambda: len(index.oldest("rec")) >= 4, 60, "four recorded segments")
    runtime.recording.stop()  # hold still while retention runs
    segs = index.oldest("rec")
    removed = []

    def remove(seg, why):
        removed.append((seg.id, why))
        runtime.recording._remove(seg, why)

    cfg = services.loaded.config
    size = sum(s.bytes for s in segs) - segs[0].bytes  # room for all but the oldest
    by_size = cfg.model_copy(update={"recording": cfg.recording.model_copy(
        update={"max_gb_per_camera": (size + 0.5) / (1 << 30), "retain_days": 0})})
    assert retain(index, by_size, segs[-1].end_at, remove, lambda: False) == 1
    assert removed == [(segs[0].id, f"over {int(size)} bytes")]
    assert not (index.root / segs[0].path).exists() and index.get(segs[0].id) is None
    by_days = cfg.model_copy(update={"recording": cfg.recording.model_copy(update={"retain_days": 1})})
    assert retain(index, by_days, segs[2].end_at + timedelta(days=1, seconds=0.01), remove, lambda: False) == 2
    assert [i for i, _ in removed[1:]] == [segs[1].id, segs[2].id]
    low = iter([True, False])
    assert retain(index, by_days, segs[-1].end_at, remove, lambda: next(low)) == 1
    assert removed[-1] == (segs[3].id, "disk watermark")
    assert runtime.recording.problems() == []


def test_a_disk_under_the_watermark_drops_segments_and_says_so(tmp_path):
    from fastapi.testclient import TestClient

    from api.app import create_app
    from tests.streams.conftest import make_clip

    clip = make_clip(tmp_path / "yard.mp4", size="320x180", fps=10, seconds=20, gop=10)
    services = open_web_services(tmp_path, rec_camera(clip), extra_config=RECORDING
                                 + "reliability: {min_free_mb: 16777216}\n")  # 16 TB: no disk has that free
    add_role_users(services)
    with services.sessions() as s:
        admin = s.scalar(select(User.id).where(User.username == ROLE_USERS["admin"]))
    auth = {"Authorization": f"Bearer {create_token(services.sessions, admin, 't')}"}
    try:
        with TestClient(create_app(services, run_cameras=True)) as client:
            health = wait_for(lambda: (h := client.get("/healthz", headers=auth).json())
                              and any(p.startswith("recording rec:") for p in h.get("problems", [])) and h,
                              60, "the dropped segments in /healthz")
            problem = next(p for p in health["problems"] if p.startswith("recording rec:"))
            assert "under the 16777216 MB watermark" in problem and "no older segment" in problem
            assert health["camera_states"]["rec"]["state"] == "live"  # the camera reads on
            assert client.app.state.runtime.recording.index.oldest("rec") == []
    finally:
        services.close()
