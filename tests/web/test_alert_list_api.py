"""The alert list at volume through the API: filters with names, repeats grouped, bulk decisions undone by an
audited reopen, the review order (severity, then site grade, then age), one alert's detail before its clip, and
error pages for people but JSON for programs."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.web.seed import seed_alert
from vigil.db.models import AuditEntry, LabelImage


@pytest.fixture
def seeded(web_services):
    """Three open_burning repeats on the gate (60 s apart), one older on the gate (an hour before: its own group),
    a dust alert on the gate and a lab fire on the bench."""
    repeats = [seed_alert(web_services, camera="gate", ago_s=ago) for ago in (300, 240, 180)]
    lone = seed_alert(web_services, camera="gate", ago_s=4000)
    dust = seed_alert(web_services, camera="gate", rule="dust", ago_s=200)
    lab = seed_alert(web_services, camera="bench", rule="lab_fire", ago_s=5000)
    return {"repeats": repeats, "lone": lone, "dust": dust, "lab": lab}


@pytest.mark.parametrize("query, expect", [
    ("site=works", {"repeats", "lone", "dust"}),
    ("camera=bench", {"lab"}),
    ("rule=dust", {"dust"}),
    ("severity=3", {"repeats", "lone", "lab"}),
    ("severity=3&site=lab3", {"lab"}),
    ("model=site", {"repeats", "lone", "dust", "lab"}),
    ("model=site%20test", {"repeats", "lone", "dust", "lab"}),
    ("model=site%20v9", set()),
    ("model=lab", set()),
    ("state=confirmed", set()),
])
def test_filters(client, bearer, seeded, query, expect):
    r = client.get(f"/api/alerts?{query}", headers=bearer["operator"])
    assert r.status_code == 200, r.text
    got = {i["id"] for i in r.json()["items"]}
    want = {x for k in expect for x in (seeded[k] if k == "repeats" else [seeded[k]])}
    assert got == want
    for item in r.json()["items"]:
        assert item["camera_name"] in ("Riverside gate", "Lab 3 bench")
        assert item["site_name"] in ("Riverside Works", "Chemistry lab 3")


def test_bad_filters_are_refused(client, bearer, seeded):
    assert client.get("/api/alerts?severity=0", headers=bearer["operator"]).status_code == 422
    assert client.get("/api/alerts?since=2025-01-01T00:00:00", headers=bearer["operator"]).status_code == 422
    facets = client.get("/api/alert-filters", headers=bearer["operator"]).json()
    assert {s["name"] for s in facets["sites"]} == {"Riverside Works", "Chemistry lab 3"}
    assert facets["models"] == ["site test"] and facets["severities"] == [1, 2, 3]


def test_repeats_are_grouped_and_rejected_as_a_group_then_undone(client, web_services, bearer, seeded):
    r = client.get("/api/alerts?grouped=true&site=works", headers=bearer["reviewer"]).json()
    groups = {tuple(sorted(i["group"]["ids"])) for i in r["items"]}
    assert groups == {tuple(sorted(seeded["repeats"])), (seeded["lone"],), (seeded["dust"],)}
    assert r["total"] == 3
    newest = next(i for i in r["items"] if i["group"]["size"] == 3)
    assert newest["id"] == seeded["repeats"][-1]  # the newest alert stands for its group
    g = client.get(f"/api/alerts/{seeded['repeats'][0]}/group", headers=bearer["operator"]).json()
    assert sorted(g["ids"]) == sorted(seeded["repeats"])
    narrow = client.get(f"/api/alerts/{seeded['repeats'][0]}/group?window_s=10", headers=bearer["operator"]).json()
    assert narrow["ids"] == [seeded["repeats"][0]]

    assert client.post("/api/alerts/bulk", json={"action": "reject", "ids": g["ids"]},
                       headers=bearer["operator"]).status_code == 403
    done = client.post("/api/alerts/bulk", json={"action": "reject", "ids": g["ids"] + [seeded["dust"]],
                                                 "note": "title card"}, headers=bearer["reviewer"]).json()
    assert sorted(done["done"]) == sorted(g["ids"] + [seeded["dust"]]) and done["skipped"] == []
    assert done["undo"] == {"action": "reopen", "ids": done["done"]}
    rejected = client.get("/api/alerts?state=rejected", headers=bearer["reviewer"]).json()
    assert rejected["total"] == 4
    with web_services.sessions() as s:
        negatives = s.scalars(select(LabelImage).where(LabelImage.alert_id.in_(done["done"]))).all()
        assert {n.kind for n in negatives} == {"hard_negative"} and len(negatives) == 4
    again = client.post("/api/alerts/bulk", json={"action": "reject", "ids": g["ids"]}, headers=bearer["reviewer"])
    assert again.json()["done"] == [] and len(again.json()["skipped"]) == 3 and again.json()["undo"] is None

    undone = client.post("/api/alerts/bulk", json=done["undo"], headers=bearer["reviewer"]).json()
    assert sorted(undone["done"]) == sorted(done["done"]) and undone["undo"] is None
    assert client.get("/api/alerts?state=new", headers=bearer["reviewer"]).json()["total"] == 6
    with web_services.sessions() as s:
        actions = s.scalars(select(AuditEntry.action).where(AuditEntry.target_id == seeded["dust"])).all()
    assert actions.count("alert.reject") == 1 and actions.count("alert.reopen") == 1
    history = client.get(f"/api/alerts/{seeded['dust']}/history", headers=bearer["operator"]).json()["items"]
    assert [h["action"] for h in history] == ["alert.reject", "label_saved", "alert.reopen"]
    assert history[0]["detail"]["note"] == "title card" and history[-1]["detail"]["from"] == "rejected"


def test_bulk_confirm_opens_a_lead_and_refuses_bad_input(client, bearer, seeded):
    r = client.post("/api/alerts/bulk", json={"action": "confirm", "ids": seeded["repeats"]},
                    headers=bearer["reviewer"])
    assert r.status_code == 200 and len(r.json()["lead_ids"]) == 1
    lead = client.get(f"/api/leads/{r.json()['lead_ids'][0]}", headers=bearer["officer"]).json()
    assert sorted(a["id"] for a in lead["alert_list"]) == sorted(seeded["repeats"])
    for body in ({"action": "delete", "ids": seeded["repeats"]}, {"action": "reject", "ids": []},
                 {"action": "reject", "ids": ["x"], "extra": 1}):
        assert client.post("/api/alerts/bulk", json=body, headers=bearer["reviewer"]).status_code == 422
    missing = client.post("/api/alerts/bulk", json={"action": "reject", "ids": ["nope"]}, headers=bearer["reviewer"])
    assert missing.json()["skipped"] == [{"id": "nope", "why": "not found"}]


def test_review_queue_puts_severity_and_site_grade_before_age(client, web_services, bearer):
    dust_old = seed_alert(web_services, camera="gate", rule="dust", ago_s=9000)       # severity 2, oldest
    lab_fire = seed_alert(web_services, camera="bench", rule="lab_fire", ago_s=600)   # severity 3, blue site
    burning = seed_alert(web_services, camera="gate", ago_s=300)                      # severity 3, newest
    first = client.get("/api/review/next", headers=bearer["reviewer"]).json()
    assert first["alert"]["id"] == lab_fire and first["waiting"] == 3  # both sites blue: the older severe one
    confirmed = seed_alert(web_services, camera="gate", ago_s=100)
    client.post(f"/api/alerts/{confirmed}/confirm", json={}, headers=bearer["reviewer"])  # works turns yellow
    order = []
    skip = ""
    for _ in range(3):
        nxt = client.get(f"/api/review/next?{skip}", headers=bearer["reviewer"]).json()["alert"]
        order.append(nxt["id"])
        skip += f"&skip={nxt['id']}"
    assert order == [burning, lab_fire, dust_old]
    works = client.get("/api/sites/works", headers=bearer["operator"]).json()
    assert works["grade"] == "yellow"  # the reasons as data, so the page words them in its own language
    assert works["reason_items"] == [{"rule": "open_burning", "count": 1, "weight": 3.0, "window_days": 30.0}]


def test_detail_has_names_revisions_and_a_pending_clip(client, web_services, bearer):
    aid = seed_alert(web_services, camera="gate", clip=False)
    a = client.get(f"/api/alerts/{aid}", headers=bearer["operator"]).json()
    assert a["clip_pending"] is True and a["revisions"] == [1] and a["severity"] == 3
    assert a["camera_name"] == "Riverside gate" and a["site_name"] == "Riverside Works"
    done = seed_alert(web_services, camera="gate")
    assert client.get(f"/api/alerts/{done}", headers=bearer["operator"]).json()["clip_pending"] is False


HTML = {"Accept": "text/html,application/xhtml+xml"}


@pytest.mark.parametrize("path, who, status, lang, text", [
    ("/alerts/no-such-alert", "operator", 404, "en", "Not found"),
    ("/alerts/no-such-alert", "operator", 404, "zh", "未找到"),
    ("/wall/no-such-camera", "operator", 404, "en", "Not found"),
    ("/users", "operator", 403, "en", "Not allowed"),
    ("/users", "reviewer", 403, "zh", "无权访问"),
    ("/models", "operator", 403, "en", "Not allowed"),
    ("/no/such/page", "operator", 404, "en", "Not found"),
])
def test_people_get_error_pages(client, bearer, path, who, status, lang, text):
    r = client.get(path, headers={**HTML, **bearer[who]}, cookies={"vigil_lang": lang})
    assert r.status_code == status
    assert r.headers["content-type"].startswith("text/html")
    assert text in r.text and f'data-status="{status}"' in r.text


@pytest.mark.parametrize("path, who, status", [
    ("/api/alerts/no-such-alert", "operator", 404),
    ("/api/alerts/no-such-alert/group", "operator", 404),
    ("/api/users", "operator", 403),
    ("/api/no-such-thing", "operator", 404),
])
def test_programs_get_json_errors(client, bearer, path, who, status):
    for headers in (bearer[who], {**HTML, **bearer[who]}):  # the API answers JSON even to a browser
        r = client.get(path, headers=headers)
        assert r.status_code == status and r.headers["content-type"] == "application/json"
        assert "detail" in r.json()


@pytest.mark.parametrize("who, body, status, words", [
    ("officer", {"rule": "dumping"}, 403, "role"),
    ("data_staff", {"rule": "dumping"}, 403, "role"),
    ("operator", {"rule": "lab_fire"}, 422, "expected one of open_burning"),   # a lab rule on a site camera
    ("operator", {"rule": "dumping", "extra": 1}, 422, "extra"),
    ("reviewer", {"rule": "dumping"}, 422, "no analysed frame"),               # no cameras running here
])
def test_marking_a_missed_violation_is_checked(client, bearer, who, body, status, words):
    r = client.post("/api/cameras/gate/missed", json=body, headers=bearer[who])
    assert r.status_code == status and words in r.text
    assert client.post("/api/cameras/nope/missed", json={"rule": "dumping"},
                       headers=bearer["operator"]).status_code == 404


def test_an_unexpected_error_is_a_page_for_people_and_json_for_programs(web_services):
    """A bug behind a route (here a route added by the test that fails) gives a 500 page in the reader's language or
    a JSON 500, never a traceback."""
    from fastapi.testclient import TestClient

    from api.app import create_app

    app = create_app(web_services, run_cameras=False)

    def broken():
        raise RuntimeError("secret internals")

    app.add_api_route("/broken", broken)
    app.add_api_route("/api/broken", broken)
    with TestClient(app, raise_server_exceptions=False) as c:
        page = c.get("/broken", headers=HTML, cookies={"vigil_lang": "zh"})
        assert page.status_code == 500 and "出错了" in page.text and "secret internals" not in page.text
        api = c.get("/api/broken", headers=HTML)
        assert api.status_code == 500 and api.json() == {"detail": "internal error; the server log has the details"}
