"""The service's own troubles reach the people using it: a disk under its watermark shows as a bar under the header
on every page (Chromium), worded in the page's language from the problem's code and parameters (English and
Chinese), and the bar goes away when the trouble does; a role that may not read the reliability state sees no bar."""
from __future__ import annotations

import pytest

from tests.web.test_alerts_browser import served  # noqa: F401 - the app without cameras, served
from tests.web.test_web_browser import shot, sign_in

pytestmark = pytest.mark.slow


@pytest.fixture
def watermark(served):  # noqa: F811
    """Sets the disk watermark as a config would, and puts it back: the default section object is shared."""
    rel = served[1].loaded.config.reliability
    before = rel.min_free_mb

    def set_mb(mb: int) -> None:
        object.__setattr__(rel, "min_free_mb", mb)
    yield set_mb
    set_mb(before)


def test_disk_under_its_watermark_shows_on_every_page_until_it_is_not(served, watermark, browser):  # noqa: F811
    server, services = served
    watermark(1 << 24)  # 16 TB: no test disk has that much free
    page = browser.new_page(viewport={"width": 1400, "height": 800})
    sign_in(page, server.url, "olga", "/wall")
    bar = page.wait_for_selector("#health-bar:not([hidden])")
    assert "Service warning:" in bar.inner_text() and "under the 16777216 MB watermark" in bar.inner_text()
    shot(page, "60-health-bar-en")
    body = page.evaluate("fetch('/api/system/reliability').then(r => r.json())")  # codes and parameters for the UI
    low = [p for p in body["problem_details"] if p["code"] == "disk_low"]
    assert low and low[0]["params"]["min_mb"] == 1 << 24 and low[0]["text"] in body["problems"]
    page.goto(server.url + "/alerts")
    assert "watermark" in page.wait_for_selector("#health-bar:not([hidden])").inner_text()
    with page.expect_navigation():
        page.select_option("#lang", "zh")
    text = page.wait_for_selector("#health-bar:has-text('系统警告')").inner_text()
    assert "数据目录：剩余" in text and "低于 16777216 MB 警戒线" in text, text  # the problem itself in Chinese
    assert "watermark" not in text and "MB free" not in text, text
    shot(page, "60-health-bar-zh")
    watermark(0)
    page.reload()
    page.wait_for_selector("#main")
    page.wait_for_timeout(500)
    assert page.eval_on_selector("#health-bar", "b => b.hidden") is True
    page.close()


def test_a_role_without_the_reliability_view_sees_no_bar(served, watermark, browser):  # noqa: F811
    server, services = served
    watermark(1 << 24)
    page = browser.new_page()
    sign_in(page, server.url, "dana", "/models")  # data staff: no /api/system/reliability
    page.wait_for_selector("#main")
    refused = []
    page.on("response", lambda r: refused.append(r.url) if r.status == 403 else None)
    page.wait_for_timeout(800)
    assert page.eval_on_selector("#health-bar", "b => b.hidden") is True
    assert refused == [] and page.inner_text("#toast").strip() == ""  # it does not ask, so no refusal toast
    page.close()
