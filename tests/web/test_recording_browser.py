"""Done when: a range of recorded footage exported and attached to a lead, in a real browser (Debian's Chromium) with
a recording camera running: the camera page's timeline shows the recorded range and the alert on it, a click plays
the footage there, a range is marked and exported to the site's open lead, and the lead page lists it — in English
(a reviewer) and Chinese (an officer); screenshots of each."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from api.ops import review
from tests.servers import wait_for
from tests.web.conftest import serve_live
from tests.web.seed import seed_alert
from tests.web.test_recording_api import RECORDING, rec_camera
from tests.web.test_web_browser import shot, sign_in, sign_out
from vigil.db.models import LeadAttachment

pytestmark = pytest.mark.slow


@pytest.fixture
def live_recording(tmp_path):
    from tests.streams.conftest import make_clip

    clip = make_clip(tmp_path / "yard.mp4", size="640x360", fps=10, seconds=20, gop=10, source="testsrc2")
    yield from serve_live(tmp_path, rec_camera(clip), RECORDING)


def click_in_recorded(page, fraction: float) -> None:
    """Click the timeline's recorded range near `fraction` of its width, beside any alert mark (a mark is a link)."""
    box = page.locator(".tl-rec").first.bounding_box()
    marks = [m.bounding_box() for m in page.locator(".tl-alert").all()]
    x = box["x"] + box["width"] * fraction
    while any(m["x"] - 4 <= x <= m["x"] + m["width"] + 4 for m in marks if m):
        x += 3 if fraction < 0.5 else -3
    page.mouse.click(x, box["y"] + box["height"] / 2)


def play_at(page, fraction: float) -> None:
    click_in_recorded(page, fraction)
    page.wait_for_function("() => { const v = document.querySelector('#tl-video');"
                           " return v.dataset.segment && v.readyState >= 2 && !v.paused && v.currentTime > 0.2; }",
                           timeout=20000)


def export_range(page, base: str, lead: int, lang: str) -> int:
    """Play near the range's start, mark it, play near its end, mark it, export to `lead`; the attachment id."""
    page.click("button[data-span='10m']")                     # zoom in: seconds of footage in 10 minutes
    page.wait_for_selector(".tl-rec")
    page.wait_for_function("() => document.querySelector('.tl-rec').getBoundingClientRect().width > 40",
                           timeout=60000)
    play_at(page, 0.15)
    playing = page.get_attribute("#tl-video", "data-segment")                # at its end the next one follows
    page.wait_for_function(f"() => document.querySelector('#tl-video').dataset.segment !== '{playing}'"
                           " && !document.querySelector('#tl-video').paused", timeout=20000)
    page.click("#mark-start")
    play_at(page, 0.8)
    page.click("#mark-end")
    page.wait_for_selector("#tl-sel")
    assert ("Selected" if lang == "en" else "已选") in page.inner_text("#export-range")
    page.select_option("#export-lead", str(lead))
    page.fill("#export-note", "yard footage" if lang == "en" else "工地录像")
    shot(page, f"40-recording-timeline-{lang}")
    page.click("#export-go")
    page.wait_for_selector("#export-result[data-attachment]")
    shot(page, f"41-recording-exported-{lang}")
    att = int(page.get_attribute("#export-result", "data-attachment"))
    page.click("#export-lead-link")
    page.wait_for_url(f"{base}/leads/{lead}")
    page.wait_for_selector(f"#attachments a[href$='/attachments/{att}']")
    assert page.locator("#attachments .badge.footage").count() >= 1
    shot(page, f"42-recording-on-lead-{lang}")
    return att


def test_recorded_footage_exported_and_attached_to_a_lead(live_recording, browser):
    server, services = live_recording
    base = server.url
    wait_for(lambda: server.app.state.runtime.recording is not None
             and len(server.app.state.runtime.recording.index.oldest("rec")) >= 4, 90, "four recorded segments")
    alert = seed_alert(services, camera="rec", rule="dust", ago_s=6, duration_s=3)
    lead = review.confirm(services, alert, "rita").id

    page = browser.new_page(viewport={"width": 1500, "height": 1250})
    sign_in(page, base, "rita", "/wall/rec")
    page.wait_for_selector("#tl-bar .tl-rec")
    assert page.locator(f".tl-alert[data-alert='{alert}']").count() == 1      # the alert is marked on the bar
    assert "Click the bar" in page.inner_text("#tl-status")
    shot(page, "39-recording-camera-en")
    first = export_range(page, base, lead, "en")
    sign_out(page)

    page.context.add_cookies([{"name": "vigil_lang", "value": "zh", "url": base}])
    sign_in(page, base, "oscar", "/wall/rec")
    page.wait_for_selector("#tl-bar .tl-rec")
    assert page.inner_text(".recordings h2") == "录像"
    second = export_range(page, base, lead, "zh")
    page.goto(f"{base}/wall/rec")                                             # an alert mark opens the alert
    page.wait_for_selector(f".tl-alert[data-alert='{alert}']")
    page.click("button[data-span='10m']")
    mark = page.locator(f".tl-alert[data-alert='{alert}']")
    mark.wait_for(state="visible", timeout=30000)  # the zoomed bar is drawn again; a loaded box takes a while
    mark.click(force=True)
    page.wait_for_url(f"{base}/alerts/{alert}")
    page.close()

    with services.sessions() as s:
        rows = s.scalars(select(LeadAttachment).where(LeadAttachment.lead_id == lead)).all()
        assert sorted(r.id for r in rows) == sorted([first, second])
        assert {r.kind for r in rows} == {"footage"} and {r.note for r in rows} == {"yard footage", "工地录像"}
        assert all(r.size > 1000 for r in rows)
