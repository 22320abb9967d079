"""The in-app inbox: workflow steps and the firm's reply reach the right people (a user, or every user of a role),
over HTTP and in a real browser in Chinese and English: the header's badge counts unread items, the inbox lists
them with a link to the lead, and marking read updates both."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from api.ops import review
from api.ops.attachments import NewAttachment, add_attachment
from api.ops.inbox import list_items
from api.ops.leads import assign
from api.ops.rectification import reply, send_notice
from api.ops.workflow import advance
from tests.web.seed import seed_alert
from tests.web.test_web_browser import shot, sign_in, sign_out
from vigil.db.models import User
from vigil.types import utcnow

JPEG = b"\xff\xd8\xff\xe0" + b"photo" * 100 + b"\xff\xd9"


def _walk(services) -> int:
    """A lead assigned to the officer, verified on site, submitted, approved, with the firm's reply to a notice."""
    lead = review.confirm(services, seed_alert(services, camera="gate", rule="dust", clip=False), "rita").id
    assign(services, lead, "oscar", "rita")  # -> oscar: lead.assigned
    advance(services, lead, "dispatch", "oscar", "officer")  # oscar has it: nobody else to tell
    add_attachment(services, lead, NewAttachment(JPEG, "site.jpg", "image/jpeg", utcnow()), "oscar")
    _, link, _ = send_notice(services, lead, "oscar", "http://vigil.test/")
    reply(services, link.rsplit("/", 1)[1], "已整改", [NewAttachment(JPEG, "fixed.jpg", "image/jpeg", utcnow())])
    advance(services, lead, "submit", "oscar", "officer")  # -> reviewers: lead.review
    return lead


def test_inbox_over_http_reaches_the_right_people(client, web_services, bearer):
    lead = _walk(web_services)
    mine = client.get("/api/inbox", headers=bearer["officer"]).json()
    assert [(i["kind"], i["lead_id"], i["to"], i["read"]) for i in mine["items"]] == [
        ("rectification.reply", lead, "me", False), ("lead.assigned", lead, "me", False)]
    assert mine["unread"] == 2 and mine["items"][1]["params"] == {"site": "Riverside Works", "by": "rita"}
    theirs = client.get("/api/inbox", headers=bearer["reviewer"]).json()
    assert [(i["kind"], i["to"]) for i in theirs["items"]] == [("lead.review", "reviewer")]
    assert client.get("/api/inbox/unread", headers=bearer["operator"]).status_code == 403
    assert client.get("/api/inbox", headers=bearer["admin"]).json()["items"] == []  # addressed to others

    r = client.post(f"/api/leads/{lead}/steps", json={"action": "approve"}, headers=bearer["reviewer"])
    assert r.status_code == 200, r.text
    decided = client.get("/api/inbox?unread=true", headers=bearer["officer"]).json()["items"][0]
    assert (decided["kind"], decided["params"]["outcome"], decided["params"]["by"]) == ("lead.decided", "case_filed",
                                                                                       "rita")
    first = mine["items"][0]["id"]
    r = client.post("/api/inbox/read", json={"ids": [first, theirs["items"][0]["id"]]}, headers=bearer["officer"])
    assert r.json() == {"marked": 1, "unread": 2}  # another's item is not mine to mark
    assert client.post("/api/inbox/read", json={"ids": ["x"]}, headers=bearer["officer"]).status_code == 422
    assert client.post("/api/inbox/read", json={}, headers=bearer["officer"]).json() == {"marked": 2, "unread": 0}
    assert client.get("/api/inbox/unread", headers=bearer["reviewer"]).json() == {"unread": 1}  # read per person


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_inbox_in_the_browser(server, browser, lang):
    srv, services = server
    lead = _walk(services)
    words = {"zh": ("企业已回复", "将线索", "待审核", "全部标为已读", "查看线索", "发给全体审核员"),
             "en": ("The firm replied", "assigned you lead", "waits for review", "Mark all read", "Open lead",
                    "to all reviewers")}[lang]
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN" if lang == "zh" else "en-GB")
    context.add_cookies([{"name": "vigil_lang", "value": lang, "url": srv.url}])
    page = context.new_page()

    sign_in(page, srv.url, "oscar", "/leads")
    page.wait_for_selector("#inbox-count:has-text('2')")
    page.click("#inbox-link")
    page.wait_for_url(srv.url + "/inbox")
    page.wait_for_selector(f".inbox-item.unread:has-text('{words[0]}')")
    assert page.locator(".inbox-item").count() == 2 and words[1] in page.inner_text("#inbox-list")
    shot(page, f"inbox-officer-{lang}")
    page.locator(".inbox-item", has_text=words[1]).locator("button.mark").click()
    page.wait_for_selector("#inbox-count:has-text('1')")
    page.click(".inbox-bar [data-filter=unread]")
    page.wait_for_function("document.querySelectorAll('.inbox-item').length === 1")
    page.locator(".inbox-item").get_by_text(words[4]).click()
    page.wait_for_url(f"{srv.url}/leads/{lead}")
    page.wait_for_selector("#inbox-count", state="hidden")  # opening the lead read its item
    sign_out(page)

    sign_in(page, srv.url, "rita", "/inbox")
    page.wait_for_selector(f".inbox-item.unread:has-text('{words[2]}')")
    assert words[5] in page.inner_text("#inbox-list")
    assert page.inner_text("#inbox-count") == "1"
    shot(page, f"inbox-reviewer-{lang}")
    page.get_by_text(words[3]).click()
    page.wait_for_selector("#inbox-count", state="hidden")
    page.wait_for_selector(".inbox-item.read")
    context.close()


def test_users_have_an_email_address_for_escalations(client, web_services, bearer):
    with web_services.sessions() as s:
        oscar = s.scalars(select(User).where(User.username == "oscar")).one().id
    r = client.patch(f"/api/users/{oscar}", json={"email": "oscar@agency.test"}, headers=bearer["admin"])
    assert r.status_code == 200 and r.json()["email"] == "oscar@agency.test"
    bad = client.patch("/api/auth/me", json={"email": "two@a.test, three@b.test"}, headers=bearer["officer"])
    assert bad.status_code == 422
    mine = client.patch("/api/auth/me", json={"email": "o.chen@agency.test"}, headers=bearer["officer"])
    assert mine.json()["email"] == "o.chen@agency.test"
    made = client.post("/api/users", json={"username": "olive", "role": "officer", "password": "long-enough-1",
                                           "email": "olive@agency.test"}, headers=bearer["admin"])
    assert made.status_code == 201 and made.json()["email"] == "olive@agency.test"
    assert client.patch(f"/api/users/{oscar}", json={"email": ""}, headers=bearer["admin"]).json()["email"] == ""


# (who dispatches, assignee) -> who hears of it: [(kind, addressed to)] in oscar's inbox
@pytest.mark.parametrize("actor, role, assignee, heard", [
    ("oscar", "officer", None, []),  # he took it on himself
    ("ada", "admin", None, [("lead.dispatched", "officer")]),  # every officer: one of them goes
    ("ada", "admin", "oscar", [("lead.dispatched", "me"), ("lead.assigned", "me")]),
    ("oscar", "officer", "oscar", [("lead.assigned", "me")]),  # the assignment, not his own dispatch
])
def test_who_hears_of_a_dispatch(web_services, actor, role, assignee, heard):
    lead = review.confirm(web_services, seed_alert(web_services, camera="gate", rule="dust", clip=False), "rita").id
    if assignee:
        assign(web_services, lead, assignee, "ada")
    advance(web_services, lead, "dispatch", actor, role)
    assert [(i["kind"], i["to"]) for i in list_items(web_services, "oscar")] == heard


def test_a_decision_and_a_reopen_reach_the_verifying_officer(web_services):
    lead = review.confirm(web_services, seed_alert(web_services, camera="gate", rule="dust", clip=False), "rita").id
    advance(web_services, lead, "dispatch", "oscar", "officer")
    add_attachment(web_services, lead, NewAttachment(JPEG, "site.jpg", "image/jpeg", utcnow()), "oscar")
    advance(web_services, lead, "submit", "oscar", "officer")
    advance(web_services, lead, "dismiss", "rita", "reviewer", "洒水，不是扬尘")
    advance(web_services, lead, "reopen", "rita", "reviewer", "企业承认存在扬尘")
    items = list_items(web_services, "oscar")
    assert [(i["kind"], i["params"].get("outcome"), i["params"].get("reason")) for i in items] == [
        ("lead.reopened", "onsite_verification", "企业承认存在扬尘"), ("lead.decided", "dismissed", "洒水，不是扬尘")]
    assert [i["kind"] for i in list_items(web_services, "rita")] == ["lead.review"]  # not her own steps
