"""The lead workflow over HTTP: who may take which step (403/409 with a reason), a phone-sized photo upload past
the 1 MiB body limit, bad uploads and decisions refused with 4xx, documents downloadable and hashed."""
from __future__ import annotations

import hashlib


from api.ops import review
from tests.web.seed import seed_alert

PHOTO = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8192 + b"\xff\xd9"  # ~2 MiB, over the JSON body limit


def _step(client, bearer, lead, role, action, reason=""):
    return client.post(f"/api/leads/{lead}/steps", json={"action": action, "reason": reason}, headers=bearer[role])


def _upload(client, bearer, lead, role="officer", data=PHOTO, ctype="image/jpeg", **q):
    params = {"name": "IMG_2041.jpg", "taken_at": "2026-12-03T02:30:00Z", "note": "围挡缺失", **q}
    return client.post(f"/api/leads/{lead}/attachments", params=params, content=data,
                       headers={**bearer[role], "Content-Type": ctype})


def test_steps_roles_and_uploads_over_http(client, web_services, bearer):
    lead = review.confirm(web_services, seed_alert(web_services, camera="gate", rule="dust"), "rita").id
    checks = [  # (role, action, reason, status, words in the answer)
        ("operator", "dispatch", "", 403, "may not"),
        ("reviewer", "dispatch", "", 403, "may not dispatch"),
        ("officer", "approve", "", 409, "cannot approve"),
        ("officer", "dispatch", "", 200, "onsite_verification"),
        ("officer", "submit", "", 409, "at least one on-site photo"),
    ]
    for role, action, reason, status, words in checks:
        r = _step(client, bearer, lead, role, action, reason)
        assert r.status_code == status and words in r.text, (role, action, r.status_code, r.text)
    assert _upload(client, bearer, lead, ctype="application/pdf").status_code == 422
    assert _upload(client, bearer, lead, latitude=95, longitude=1).status_code == 422
    assert _upload(client, bearer, lead, taken_at="2026-12-03T02:30:00").status_code == 422  # no zone
    assert _upload(client, bearer, lead, role="reviewer").status_code == 403
    r = _upload(client, bearer, lead, latitude=29.5, longitude=106.5)
    assert r.status_code == 200, r.text
    att = r.json()["attachments"][0]
    assert (att["size"], att["sha256"]) == (len(PHOTO), hashlib.sha256(PHOTO).hexdigest())
    assert client.get(att["url"], headers=bearer["reviewer"]).content == PHOTO
    big_json = {"findings": {}, "rules": [{"rule": "dust", "reason": "x" * (2 << 20)}]}
    assert client.post(f"/api/leads/{lead}/decision", json=big_json, headers=bearer["officer"]).status_code == 413
    bad = {"rules": [{"rule": "dust", "measures": ["jail"], "fine_yuan": 1, "reason": "x"}]}
    assert client.post(f"/api/leads/{lead}/decision", json=bad, headers=bearer["officer"]).status_code == 422
    ok = {"findings": {"cooperation": "cooperative"},
          "rules": [{"rule": "dust", "measures": ["order_correct"], "fine_yuan": 20000, "reason": "配合整改"}]}
    r = client.post(f"/api/leads/{lead}/decision", json=ok, headers=bearer["officer"])
    assert r.status_code == 200 and r.json()["decision"]["rules"]["dust"]["suggestion"]["fine_yuan"] == 19_000
    assert _step(client, bearer, lead, "officer", "submit").status_code == 200
    assert _step(client, bearer, lead, "reviewer", "dismiss").status_code == 422  # a dismissal needs a reason
    r = _step(client, bearer, lead, "reviewer", "approve")
    assert r.status_code == 200 and r.json()["status"] == "case_filed" and r.json()["decided_by"] == "rita"
    r = client.post(f"/api/leads/{lead}/documents", json={"kind": "order_correct"}, headers=bearer["reviewer"])
    doc = r.json()["documents"][0]
    assert (doc["lang"], doc["fmt"], doc["version"]) == ("zh", "pdf", 1)
    pdf = client.get(doc["url"], headers=bearer["officer"])
    assert pdf.content.startswith(b"%PDF") and hashlib.sha256(pdf.content).hexdigest() == doc["sha256"]
    assert client.post(f"/api/leads/{lead}/documents", json={"kind": "novel"},
                       headers=bearer["officer"]).status_code == 422
    stats = client.get("/api/enforcement/stats?site=works", headers=bearer["operator"]).json()
    assert stats["overall"]["filed"] == 1
