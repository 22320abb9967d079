"""Acknowledging and opening an alert from the wall, in Chromium, English and Chinese: an alert flashes on a tile,
the operator acknowledges it there, the flash stops (on another wall too, by the live bus), the alert page shows who
acknowledged it and when; the tile's flash opens the alert; the alert page acknowledges too. Screenshots of each."""
from __future__ import annotations

import pytest

from tests.web.conftest import LiveServer, open_web_services
from tests.web.seed import ROLE_USERS, add_role_users, seed_alert
from tests.web.test_alert_ack_api import going_on
from tests.web.test_web_browser import shot, sign_in
from vigil.db.models import Alert

pytestmark = pytest.mark.slow
GATE = '.tile[data-camera="gate"]'


@pytest.fixture
def wall_server(tmp_path):
    """The app served by uvicorn without running cameras: alerts are seeded, the wall shows their flash."""
    from api.app import create_app
    from tests.servers import free_port

    services = open_web_services(tmp_path)
    add_role_users(services)
    server = LiveServer(create_app(services, run_cameras=False), free_port()).start()
    yield server, services
    server.stop()
    services.close()


def flashing(page, alert_id: str) -> None:
    page.wait_for_function(f"() => document.querySelector('{GATE}')?.dataset.alert === '{alert_id}'")
    page.wait_for_selector(f"{GATE}.alerting .wall-flash .flash-ack", state="visible")


def test_acknowledge_and_open_from_the_wall_en_zh(wall_server, browser):
    server, services = wall_server
    base = server.url
    first = seed_alert(services, camera="gate", ago_s=20)
    going_on(services, first)

    ctx = browser.new_context(viewport={"width": 1400, "height": 900})
    page, other = ctx.new_page(), None
    sign_in(page, base, ROLE_USERS["operator"], "/wall")
    flashing(page, first)
    assert page.inner_text(f"{GATE} .wall-flash .flash-ack") == "Acknowledge"
    other = browser.new_page(viewport={"width": 1000, "height": 700})  # a second wall, signed in as a reviewer
    sign_in(other, base, ROLE_USERS["reviewer"], "/wall")
    flashing(other, first)
    shot(page, "50-ack-wall-flash-en")
    page.click(f"{GATE} .wall-flash .flash-ack")
    page.wait_for_function(f"() => !document.querySelector('{GATE}').classList.contains('alerting')")
    assert page.url == base + "/wall"                               # acknowledging does not open the camera
    other.wait_for_function(f"() => !document.querySelector('{GATE}').classList.contains('alerting')")
    shot(page, "51-ack-wall-acknowledged-en")
    with services.sessions() as s:
        a = s.get(Alert, first)
        assert a.acknowledged_by == "olga" and a.acknowledged_at is not None and a.state == "new"
    page.goto(f"{base}/alerts/{first}")
    page.wait_for_selector("body[data-ready='1']")
    assert page.inner_text("#acknowledged").startswith("olga, ")
    assert page.locator("#acknowledge").count() == 0                # nothing left to acknowledge
    assert "acknowledged it" in page.inner_text("#alert-history")
    shot(page, "52-ack-alert-page-en")
    other.close()

    ctx.add_cookies([{"name": "vigil_lang", "value": "zh", "url": base}])
    second = seed_alert(services, camera="gate", ago_s=10)
    going_on(services, second)
    page.goto(base + "/wall")
    flashing(page, second)
    assert page.inner_text(f"{GATE} .wall-flash .flash-open") == "打开"
    shot(page, "53-ack-wall-flash-zh")
    page.click(f"{GATE} .wall-flash .flash-open")                   # the flash opens the alert, not the camera
    page.wait_for_url(f"{base}/alerts/{second}")
    page.wait_for_selector("body[data-ready='1'] #acknowledge")
    assert page.inner_text("#acknowledged") == "—"
    shot(page, "54-ack-alert-page-button-zh")
    page.click("#acknowledge")                                      # acknowledged from the alert page
    page.wait_for_function("() => document.querySelector('#acknowledged')?.textContent.startsWith('olga，')")
    assert page.locator("#acknowledge").count() == 0
    assert "确认已看到该告警" in page.inner_text("#alert-history")
    shot(page, "55-ack-alert-page-zh")
    with services.sessions() as s:
        assert s.get(Alert, second).acknowledged_by == "olga" and s.get(Alert, second).state == "new"
    page.goto(base + "/wall")
    page.wait_for_selector("body[data-ready='1'] .tile")
    assert "alerting" not in (page.get_attribute(GATE, "class") or "")
    page.goto(base + "/alerts?acknowledged=false&grouped=0")        # the list filters by it
    page.wait_for_selector("body[data-ready='1'] #no-alerts")
    assert page.input_value("#f-acknowledged") == "false"
    page.select_option("#f-acknowledged", "true")
    page.wait_for_function("() => document.querySelectorAll('.alert-item').length === 2")
    assert "已看到" in page.inner_text("#filters")
    shot(page, "56-ack-alert-list-filter-zh")
    page.goto(base + "/wall/gate")                                  # the camera's recent alerts open them
    page.click(f"a.alert-row[href='/alerts/{second}']")
    page.wait_for_url(f"{base}/alerts/{second}")
    ctx.close()
