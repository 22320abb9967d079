"""Review through the API: confirm with a correction (labels), reject (hard negative), leads, filters, package."""
from __future__ import annotations

import io
import zipfile
from datetime import timedelta

from sqlalchemy import select

from tests.web.seed import seed_alert
from vigil.db.models import LabelImage
from vigil.types import iso_utc, utcnow


def test_confirm_with_corrected_boxes_saves_a_correction_label_and_opens_a_lead(client, web_services, bearer):
    aid = seed_alert(web_services, camera="gate")
    nxt = client.get("/api/review/next", headers=bearer["reviewer"]).json()
    assert nxt["waiting"] == 1 and nxt["alert"]["id"] == aid
    det = nxt["alert"]["detections"][0]
    boxes = [{"class_name": "smoke", "x1": det["x1"] + 5, "y1": det["y1"], "x2": det["x2"], "y2": det["y2"]},
             {"class_name": "fire", "x1": 10, "y1": 10, "x2": 60, "y2": 50}]
    bad = client.post(f"/api/alerts/{aid}/confirm", json={"boxes": [{**boxes[0], "class_name": "goggles"}]},
                      headers=bearer["reviewer"])
    assert bad.status_code == 422 and "goggles" in bad.json()["detail"]
    r = client.post(f"/api/alerts/{aid}/confirm", json={"boxes": boxes, "note": "visible flames"},
                    headers=bearer["reviewer"])
    assert r.status_code == 200, r.text
    lead_id = r.json()["lead_id"]
    with web_services.sessions() as s:
        label = s.get(LabelImage, r.json()["label_image_id"])
        assert label.kind == "correction" and label.alert_id == aid and label.profile == "site"
        got = sorted((b.class_name, round(b.x1 * label.width), round(b.y2 * label.height)) for b in label.boxes)
    assert got == sorted([("smoke", round(det["x1"] + 5), round(det["y2"])), ("fire", 10, 50)])
    lead = client.get(f"/api/leads/{lead_id}", headers=bearer["officer"]).json()
    assert [a["id"] for a in lead["alert_list"]] == [aid]
    assert {e["name"] for e in lead["alert_list"][0]["evidence"]} >= {"clip.mp4", "best_raw.jpg"}
    pkg = client.get(f"/api/leads/{lead_id}/package", headers=bearer["officer"])
    assert pkg.status_code == 200 and pkg.headers["content-type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(pkg.content)).namelist()
    assert any(n.endswith("clip.mp4") for n in names)
    assert client.get("/api/review/next", headers=bearer["reviewer"]).json()["alert"] is None


def test_reject_saves_a_hard_negative(client, web_services, bearer):
    aid = seed_alert(web_services, camera="gate")
    r = client.post(f"/api/alerts/{aid}/reject", json={"note": "sunset glare"}, headers=bearer["reviewer"])
    assert r.status_code == 200 and r.json()["alert"]["state"] == "rejected"
    with web_services.sessions() as s:
        label = s.get(LabelImage, r.json()["label_image_id"])
        assert label.kind == "hard_negative" and label.boxes == []


def test_unchanged_confirm_is_a_confirmed_label(client, web_services, bearer):
    aid = seed_alert(web_services, camera="gate")
    r = client.post(f"/api/alerts/{aid}/confirm", json={}, headers=bearer["reviewer"])
    with web_services.sessions() as s:
        label = s.get(LabelImage, r.json()["label_image_id"])
        assert label.kind == "confirmed" and len(label.boxes) >= 1


def test_alert_list_filters_and_pages(client, web_services, bearer):
    ids = [seed_alert(web_services, camera="gate", ago_s=3600 * (i + 1)) for i in range(3)]
    ids.append(seed_alert(web_services, camera="bench", rule="lab_fire"))
    h = bearer["operator"]
    page = client.get("/api/alerts?limit=2&offset=0", headers=h).json()
    assert page["total"] == 4 and len(page["items"]) == 2 and page["limit"] == 2
    assert client.get("/api/alerts?camera=bench", headers=h).json()["total"] == 1
    assert client.get("/api/alerts?site=works&rule=open_burning", headers=h).json()["total"] == 3
    since = iso_utc(utcnow() - timedelta(minutes=150))
    got = client.get("/api/alerts", params={"since": since, "camera": "gate"}, headers=h).json()
    assert [a["id"] for a in got["items"]] == ids[:2]
    assert client.get("/api/alerts?since=2025-01-01T00:00:00", headers=h).status_code == 422  # no zone
    assert client.get("/api/alerts?state=confirmed", headers=h).json()["total"] == 0


def test_evidence_supports_ranges_and_is_audited(client, web_services, bearer):
    aid = seed_alert(web_services, camera="gate")
    r = client.get(f"/api/alerts/{aid}/evidence/clip.mp4", headers={**bearer["operator"], "Range": "bytes=0-99"})
    assert r.status_code == 206 and len(r.content) == 100 and r.headers["content-range"].startswith("bytes 0-99/")
    assert client.get(f"/api/alerts/{aid}/evidence/nope.bin", headers=bearer["operator"]).status_code == 404
    from vigil.db.models import AuditEntry

    with web_services.sessions() as s:
        actors = s.scalars(select(AuditEntry.actor).where(AuditEntry.target_id == aid)).all()
    assert "olga" in actors


def test_list_thumbnails_are_small_and_unaudited_while_full_frames_are_audited(client, web_services, bearer):
    import cv2
    import numpy as np

    from vigil.audit import verify_chain
    from vigil.db.models import AuditEntry

    aid = seed_alert(web_services, camera="gate")
    h = bearer["operator"]
    full = client.get(f"/api/alerts/{aid}/evidence/best_annotated.jpg", headers=h)
    for _ in range(3):  # a camera page re-rendering its list
        thumb = client.get(f"/api/alerts/{aid}/thumbnail.jpg", headers=h)
        assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
    image = cv2.imdecode(np.frombuffer(thumb.content, np.uint8), cv2.IMREAD_COLOR)
    full_width = cv2.imdecode(np.frombuffer(full.content, np.uint8), cv2.IMREAD_COLOR).shape[1]
    assert image.shape[1] == min(240, full_width) < full_width and len(thumb.content) < len(full.content)
    again = client.get(f"/api/alerts/{aid}/thumbnail.jpg", headers={**h, "If-None-Match": thumb.headers["etag"]})
    assert again.status_code == 304 and not again.content
    client.get(f"/api/alerts/{aid}/evidence/clip.mp4", headers=h)
    with web_services.sessions() as s:
        rows = s.scalars(select(AuditEntry).where(AuditEntry.target_id == aid).order_by(AuditEntry.id)).all()
        assert [(r.action, r.actor, r.detail["name"]) for r in rows] == [
            ("evidence.view", "olga", "best_annotated.jpg"), ("evidence.view", "olga", "clip.mp4")]
        assert verify_chain(s).ok
    assert client.get("/api/alerts/no-such-alert/thumbnail.jpg", headers=h).status_code == 404
    assert client.get(f"/api/alerts/{aid}/thumbnail.jpg").status_code == 401
    assert client.get(f"/api/alerts/{aid}/thumbnail.jpg", headers=bearer["data_staff"]).status_code == 403


def test_sites_and_cameras(client, web_services, bearer):
    aid = seed_alert(web_services, camera="gate")
    client.post(f"/api/alerts/{aid}/confirm", json={}, headers=bearer["reviewer"])
    sites = {s["id"]: s for s in client.get("/api/sites", headers=bearer["officer"]).json()["items"]}
    assert sites["works"]["confirmed_alerts"] == 1 and sites["works"]["grade"] in ("blue", "yellow", "orange", "red")
    site = client.get("/api/sites/works", headers=bearer["operator"]).json()
    assert sum(d["confirmed"] for d in site["history"]) == 1 and len(site["history"]) == 30
    cams = {c["id"]: c for c in client.get("/api/cameras", headers=bearer["operator"]).json()["items"]}
    assert cams["gate"]["state"] == "offline" and cams["bench"]["site_name"] == "Chemistry lab 3"
    assert "cam-secret-pw" not in client.get("/api/cameras/bench", headers=bearer["operator"]).text
