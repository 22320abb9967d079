"""A violation the model missed, in a real browser with a camera running (the real CCTV file): an operator marks
"violation here" from the wall (English), a reviewer draws the missed object in the review queue and confirms
it (Chinese), and it becomes a labelled example; screenshots of each step."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.web.conftest import serve_live
from tests.web.test_web_browser import drag, shot, sign_in, sign_out
from vigil.db.models import Alert, AuditEntry, LabelImage

pytestmark = pytest.mark.slow


@pytest.fixture
def live_file_camera(tmp_path):
    """The gate camera (a real CCTV file) and an unreachable RTSP camera, running, served by uvicorn."""
    yield from serve_live(tmp_path, "")


def test_missed_violation_marked_reviewed_and_labelled(live_file_camera, browser):
    server, services = live_file_camera
    base = server.url
    page = browser.new_page(viewport={"width": 1600, "height": 1000})
    sign_in(page, base, "olga", "/wall")
    gate = '.tile[data-camera="gate"]'
    page.wait_for_function(f"() => +document.querySelector('{gate}')?.dataset.frames >= 2", timeout=90000)
    page.wait_for_timeout(6000)  # let the ring buffer fill its pre-roll
    page.click(f"{gate} .mark-flag")                              # "violation here", from the wall
    page.wait_for_selector(f"{gate} .mark-menu button[data-rule='dumping']")
    shot(page, "30-missed-wall-menu-en")
    assert page.url == base + "/wall"                             # the flag does not open the camera
    page.click(f"{gate} .mark-menu button[data-rule='dumping']")
    page.wait_for_selector("body[data-marked]")
    alert_id = page.get_attribute("body", "data-marked")
    page.click(gate)                                              # the tile opens the camera, where it is listed
    page.wait_for_url(base + "/wall/gate")
    page.wait_for_selector(f"a.alert-row[href='/alerts/{alert_id}'] .badge.missed")
    assert page.locator("#mark-missed").count() == 1              # the camera page can mark one too
    shot(page, "30-missed-marked-en")
    with services.sessions() as s:
        alert = s.get(Alert, alert_id)
        assert alert.state == "new" and alert.event_id.startswith("missed-") and alert.rule == "dumping"
        assert {e.name for e in alert.evidence} >= {"best_raw.jpg", "best_annotated.jpg", "clip.mp4"}
        assert alert.detections == []  # the model saw nothing: that is the point
        marked = s.scalars(select(AuditEntry).where(AuditEntry.action == "alert.missed")).one()
        assert marked.actor == "olga" and marked.target_id == alert_id
    sign_out(page)

    page.context.add_cookies([{"name": "vigil_lang", "value": "zh", "url": base}])
    sign_in(page, base, "rita", "/review")
    page.wait_for_function("() => document.querySelector('#best')?.naturalWidth > 0")
    assert page.get_attribute("#best", "data-alert") == alert_id
    assert "模型漏检" in page.inner_text("#missed-badge")
    canvas = page.locator("#boxes").bounding_box()
    drag(page, canvas, (60, 60), (260, 200))                      # the object the model missed
    page.wait_for_selector("#class-picker")
    assert "渣土堆" in page.inner_text("#class-picker")
    shot(page, "31-missed-review-picker-zh")
    page.keyboard.press("c")                                      # a decision waits until the box has a class
    assert page.locator("#class-picker").count() == 1
    page.keyboard.press("4")                                      # 4: debris_pile, the fourth site class
    assert page.locator("#box-list select").first.input_value() == "debris_pile"
    shot(page, "32-missed-review-zh")
    page.keyboard.press("c")
    page.wait_for_selector(".empty.big")
    shot(page, "33-missed-reviewed-zh")
    with services.sessions() as s:
        alert = s.get(Alert, alert_id)
        assert alert.state == "confirmed" and alert.lead_id is not None
        label = s.scalars(select(LabelImage).where(LabelImage.alert_id == alert_id)).one()
        assert label.kind == "correction" and label.event_id == alert.event_id
        assert [b.class_name for b in label.boxes] == ["debris_pile"]
        b = label.boxes[0]
        assert 0 <= b.x1 < b.x2 <= 1 and 0 <= b.y1 < b.y2 <= 1
    page.close()
