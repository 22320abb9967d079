"""The alert list and an alert's page in a real browser (Debian's Chromium via Playwright), in English and Chinese:
an alert found through the list's filters, opened (frames, clip or "clip pending", evidence, history), its repeats
grouped, bulk-rejected and undone; error pages for people; screenshots of each step."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.web.conftest import LiveServer, open_web_services
from tests.web.seed import add_role_users, seed_alert
from tests.web.test_web_browser import shot, sign_in
from vigil.db.models import Alert, AuditEntry

pytestmark = pytest.mark.slow

WORDS = {  # what the page must say in each language
    "en": {"alerts": "Alerts", "rule": "Open burning", "pending": "Clip pending", "notfound": "Not found",
           "rejected": "rejected", "group": "×3 repeats"},
    "zh": {"alerts": "告警", "rule": "露天焚烧", "pending": "视频片段待生成", "notfound": "未找到",
           "rejected": "已驳回", "group": "×3 次重复"},
}


@pytest.fixture
def served(tmp_path):
    """The app without cameras (the alert pages need none), served by uvicorn on 127.0.0.1."""
    from api.app import create_app
    from tests.servers import free_port

    services = open_web_services(tmp_path)
    add_role_users(services)
    server = LiveServer(create_app(services, run_cameras=False), free_port()).start()
    yield server, services
    server.stop()
    services.close()


def states(services, ids) -> set[str]:
    with services.sessions() as s:
        return set(s.scalars(select(Alert.state).where(Alert.id.in_(ids))))


def choose(page, name: str, value: str) -> None:
    """Pick a filter and wait for the list to reload with it in the address."""
    page.select_option(f"#f-{name}", value)
    page.wait_for_function(f"() => new URLSearchParams(document.body.dataset.query).get('{name}') === '{value}'")


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_alert_found_opened_grouped_bulk_rejected_and_undone(served, browser, lang):
    server, services = served
    base, words = server.url, WORDS[lang]
    repeats = [seed_alert(services, camera="gate", ago_s=ago) for ago in (420, 360, 300)]
    others = [seed_alert(services, camera="gate", rule="dust", ago_s=200),
              seed_alert(services, camera="bench", rule="lab_fire", ago_s=900)]
    pending = seed_alert(services, camera="gate", rule="uncovered_truck", ago_s=30, clip=False)
    page = browser.new_page(viewport={"width": 1600, "height": 1000})
    page.context.add_cookies([{"name": "vigil_lang", "value": lang, "url": base}])
    sign_in(page, base, "rita", "/alerts")
    page.wait_for_selector("body[data-ready='1'] #alert-table tbody tr")
    assert page.inner_text("h1") == words["alerts"]
    assert page.locator("tr.alert-item").count() == 4  # three groups of one, and the three repeats as one
    choose(page, "site", "works")
    choose(page, "camera", "gate")
    choose(page, "rule", "open_burning")
    rows = page.locator("tr.alert-item")
    assert rows.count() == 1 and rows.first.get_attribute("data-size") == "3"
    assert words["group"] in rows.first.inner_text() and "Riverside gate" in rows.first.inner_text()
    shot(page, f"20-alerts-filtered-{lang}")

    page.click("tr.alert-item a.rule-link")                       # open the newest of the group
    page.wait_for_url(f"{base}/alerts/{repeats[-1]}")
    page.wait_for_selector("body[data-ready='1'] #group li")
    assert page.inner_text("#alert-title") == words["rule"]
    assert page.locator("#group li").count() == 3
    assert page.get_attribute("#camera-link", "href") == "/wall/gate"
    assert page.get_attribute("#site-link", "href") == "/sites/works"
    page.wait_for_function("() => document.querySelector('#frame').naturalWidth > 0")
    page.wait_for_function("() => document.querySelector('#clip').readyState >= 1")  # the clip plays
    assert page.locator("#evidence tr").count() == 3 and page.locator("#revisions li").count() == 1
    shot(page, f"21-alert-{lang}")
    page.wait_for_selector("#frame-boxes g.det text")              # raw frame, boxes drawn in the page's language
    label = page.locator("#frame-boxes g.det text").first.text_content()
    assert label.split()[0] in ({"火", "烟"} if lang == "zh" else {"fire", "smoke"})
    page.click("#view-annotated")                                 # the signed annotated frame
    page.wait_for_function("() => document.querySelector('#frame').src.endsWith('best_annotated.jpg')")
    page.wait_for_function("() => document.querySelector('#frame').naturalWidth > 0")
    shot(page, f"22-alert-annotated-{lang}")

    page.go_back()                                                # back to the filtered list
    page.wait_for_selector("body[data-ready='1'] tr.alert-item")
    assert page.locator("tr.alert-item").count() == 1
    page.check("tr.alert-item input.pick")
    assert "3" in page.inner_text("#chosen")
    page.click("#bulk-reject")
    page.wait_for_selector("#undo-bar:not([hidden]) #undo")
    page.wait_for_selector("tr.alert-item .badge.st-rejected")
    assert words["rejected"] in page.inner_text("tr.alert-item")
    assert states(services, repeats) == {"rejected"} and states(services, others + [pending]) == {"new"}
    shot(page, f"23-alerts-bulk-rejected-{lang}")
    page.click("#undo")
    page.wait_for_selector("#undo-bar[hidden]", state="attached")
    page.wait_for_selector("tr.alert-item .badge.st-new")
    assert states(services, repeats) == {"new"}
    with services.sessions() as s:
        reopened = s.scalars(select(AuditEntry.target_id).where(AuditEntry.action == "alert.reopen",
                                                                AuditEntry.actor == "rita")).all()
    assert sorted(reopened) == sorted(repeats)
    shot(page, f"24-alerts-undone-{lang}")

    page.goto(f"{base}/alerts/{pending}")                         # the row came before its clip
    page.wait_for_selector("body[data-ready='1'] #clip-pending")
    assert words["pending"] in page.inner_text("#clip-pending")
    shot(page, f"25-alert-clip-pending-{lang}")

    page.goto(f"{base}/alerts/no-such-alert")
    assert page.locator("body[data-status='404']").count() == 1
    assert words["notfound"] in page.inner_text("#error-title")
    shot(page, f"26-error-404-{lang}")
    page.close()


def test_review_queue_rejects_repeats_together_and_undoes(served, browser):
    server, services = served
    base = server.url
    repeats = [seed_alert(services, camera="gate", ago_s=ago) for ago in (420, 360, 300)]
    dust = seed_alert(services, camera="gate", rule="dust", ago_s=9000)
    page = browser.new_page(viewport={"width": 1600, "height": 1000})
    page.context.add_cookies([{"name": "vigil_lang", "value": "zh", "url": base}])
    sign_in(page, base, "rita", "/review")
    page.wait_for_selector("#reject-repeats")                     # severity 3 first: one of the repeats
    assert page.get_attribute("#best", "data-alert") in repeats
    assert "3" in page.inner_text("#repeats")
    shot(page, "27-review-repeats-zh")
    page.click("#reject-repeats")
    page.wait_for_function(f"() => document.querySelector('#best')?.dataset.alert === '{dust}'")
    assert states(services, repeats) == {"rejected"}
    page.wait_for_selector("#undo-repeats")
    shot(page, "28-review-repeats-rejected-zh")
    page.click("#undo-repeats")
    page.wait_for_function(f"() => {repeats}.includes(document.querySelector('#best')?.dataset.alert)")
    assert states(services, repeats) == {"new"} and states(services, [dust]) == {"new"}
    page.close()


def test_operators_see_alerts_without_decisions(served, browser):
    server, services = served
    aid = seed_alert(services, camera="bench", rule="lab_fire", ago_s=60)
    seed_alert(services, camera="gate", rule="dust", ago_s=2 * 86400)
    page = browser.new_page(viewport={"width": 1600, "height": 1000})
    sign_in(page, server.url, "olga", "/alerts")
    page.wait_for_selector("body[data-ready='1'] tr.alert-item")
    assert page.locator("input.pick, #bulk-reject").count() == 0
    assert "null" not in page.inner_text("main")
    assert page.locator("tr.alert-item").count() == 2
    page.select_option("#f-range", "24")                          # the last 24 hours: not the 2-day-old alert
    page.wait_for_function("() => new URLSearchParams(document.body.dataset.query).has('since')")
    assert page.locator("tr.alert-item").count() == 1
    page.click("tr.alert-item a.rule-link")
    page.wait_for_url(f"{server.url}/alerts/{aid}")
    page.wait_for_selector("body[data-ready='1'] #alert-title")
    assert page.locator("#decide").count() == 0 and "null" not in page.inner_text("main")
    assert page.inner_text("#camera-link") == "Lab 3 bench" and page.inner_text("#site-link") == "Chemistry lab 3"
    page.close()
