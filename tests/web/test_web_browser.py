"""The UI in a real browser (Debian's Chromium via Playwright): sign in, live wall, review with a box correction
by mouse and keys, the resulting lead and its package, sites, models, Chinese, API tokens and signing out everywhere;
screenshots of every page."""
from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.web.seed import PASSWORD, seed_alert
from vigil.db.models import ApiToken, LabelImage, Lead, ModelVersion, TrainingJob, User
from vigil.types import utcnow

OUT = Path(__file__).resolve().parents[1] / "output" / "web"

pytestmark = pytest.mark.slow


def shot(page, name: str) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(OUT / f"{name}.png"))


def sign_in(page, base: str, user: str, target: str) -> None:
    page.goto(base + target)
    page.wait_for_selector("#login")
    assert "/login?next=" in page.url
    page.fill("#username", user)
    page.fill("#password", PASSWORD)
    page.click("#signin")
    page.wait_for_url(base + target)


def sign_out(page) -> None:
    page.click("#logout")
    page.wait_for_url("**/login")


def seed_model_rows(services) -> None:
    history = [{"epoch": e, "map50": min(0.9, 0.1 * e), "precision": min(0.95, 0.12 * e),
                "box_loss": 2.0 / e, "cls_loss": 3.0 / e} for e in range(1, 11)]
    with services.sessions() as s:
        s.add(ModelVersion(name="site", version="v1", profile="site", path="models/site-v1.onnx", sha256="a" * 64,
                           classes=["fire", "smoke"], metrics={"map50": 0.61, "history": history,
                           "per_class": {"fire": {"ap50": 0.7}, "smoke": {"ap50": 0.52}}}, status="candidate",
                           trained_by="dana"))
        s.add(ModelVersion(name="site", version="v0", profile="site", path="models/site-v0.onnx", sha256="b" * 64,
                           classes=["fire", "smoke"], metrics={"map50": 0.48}, status="retired", trained_by="dana",
                           promoted_by="ada", promoted_at=utcnow()))
        s.add(TrainingJob(profile="site", status="running", epoch=4, epochs=10, metrics={"history": history[:4]},
                          created_by="dana"))
        s.commit()


def check_wall(page, base: str) -> None:
    page.wait_for_selector(".tile")
    assert page.locator(".tile").count() == 3
    yard = page.locator('.tile[data-camera="yard"]')  # a picture: its video, or a snapshot until the video plays
    page.wait_for_function("t => t.querySelector('video').videoWidth || t.querySelector('img').naturalWidth",
                           arg=yard.element_handle(), timeout=60000)
    page.wait_for_function("() => document.querySelector('.tile[data-camera=\"yard\"] .state')"
                           ".textContent.startsWith('live')", timeout=90000)
    assert "cam-secret-pw" not in page.content()
    for cam in ("gate", "yard"):  # analysed frames (over the live video, or as snapshots); not the waiting card
        page.wait_for_function(f"() => {{ const t = document.querySelector('.tile[data-camera=\"{cam}\"]'); "
                               "return t.dataset.mode === 'video' ? +t.dataset.overlayT >= 0 : +t.dataset.seq >= 0; }",
                               timeout=90000)
    shot(page, "01-wall")
    page.click('.tile[data-camera="gate"]')
    page.wait_for_url(base + "/wall/gate")
    page.wait_for_selector(".alert-row")
    shot(page, "02-camera")


def drag(page, box, start, end) -> None:
    page.mouse.move(box["x"] + start[0], box["y"] + start[1])
    page.mouse.down()
    page.mouse.move(box["x"] + (start[0] + end[0]) / 2, box["y"] + (start[1] + end[1]) / 2, steps=4)
    page.mouse.move(box["x"] + end[0], box["y"] + end[1], steps=4)
    page.mouse.up()


def review_with_correction(page, services) -> tuple[str, int]:
    page.wait_for_function("() => document.querySelector('#best')?.naturalWidth > 0")
    first = page.get_attribute("#best", "data-alert")
    rows = page.locator("#box-list li")
    detected = rows.count()
    canvas = page.locator("#boxes").bounding_box()
    natural = page.evaluate("() => document.querySelector('#best').naturalWidth")
    scale = canvas["width"] / natural
    drag(page, canvas, (20, 20), (120, 90))                       # draw a new box: it asks for its class
    assert rows.count() == detected + 1
    page.wait_for_selector("#class-picker")
    page.keyboard.press("z")                                      # undo it (the class menu goes with it)
    assert rows.count() == detected and page.locator("#class-picker").count() == 0
    drag(page, canvas, (20, 20), (120, 90))                       # draw it again
    page.wait_for_selector("#class-picker button[data-cls='fire']")
    page.keyboard.press("1")                                      # name it: key 1 is the first class (fire)
    assert page.locator("#class-picker").count() == 0
    assert page.locator("#box-list select").last.input_value() == "fire"
    drag(page, canvas, (70, 55), (90, 75))                        # move it by (20, 20)
    drag(page, canvas, (140, 110), (160, 130))                    # resize: bottom-right corner out by (20, 20)
    page.locator("#box-list select").last.select_option("smoke")  # relabel
    page.locator("#box-list li").first.click()                    # select the first detection
    page.keyboard.press("Delete")                                 # and remove it
    assert rows.count() == detected
    shot(page, "03-review")
    page.keyboard.press("c")
    page.wait_for_function(f"() => document.querySelector('#best')?.dataset.alert !== '{first}'")
    lead_id = int(page.evaluate("() => document.body.dataset.lastLead"))
    with services.sessions() as s:
        label = s.scalars(select(LabelImage).where(LabelImage.alert_id == first)).one()
        assert label.kind == "correction"
        drawn = [b for b in label.boxes if b.class_name == "smoke"]
        assert len(drawn) == 1 and len(label.boxes) == detected
        got = (drawn[0].x1 * label.width, drawn[0].y1 * label.height, drawn[0].x2 * label.width,
               drawn[0].y2 * label.height)
    want = (40 / scale, 40 / scale, 160 / scale, 130 / scale)
    assert all(abs(g - w) < 3 / scale + 1 for g, w in zip(got, want)), (got, want)
    return first, lead_id


def assign_lead(page, services, lead_id: int) -> None:
    """The assignee selector lists officers and admins; choosing one assigns the lead (its status stays: only the
    workflow's steps move it)."""
    options = page.eval_on_selector_all("#assignee option", "os => os.map(o => o.value)")
    assert options == ["", "ada", "oscar"], options
    page.select_option("#assignee", "oscar")
    page.click("#assign")
    page.wait_for_selector("#history li:has-text('assigned oscar')")
    assert page.eval_on_selector("#assignee", "s => s.value") == "oscar"
    page.wait_for_selector("#history li:has-text('assigned oscar')")
    with services.sessions() as s:
        lead = s.get(Lead, lead_id)
        assert lead.status == "electronic_evidence" and s.get(User, lead.assignee_id).username == "oscar"


def manage_tokens(page, base: str, services) -> None:
    """On the users page: make a token (shown once), revoke it, then sign out everywhere; the old cookie is dead."""
    page.goto(base + "/users")
    page.wait_for_selector("#tokens")
    page.fill('input[name="tokenname"]', "nightly-export")
    page.locator("form:has(#token-user) button[type=submit]").click()
    shown = page.wait_for_selector("#new-token").inner_text().split()[-1]
    page.wait_for_selector("#tokens tr[data-token] button.revoke")
    shot(page, "12-users-tokens-zh")
    page.click("#tokens tr[data-token] button.revoke")
    page.wait_for_selector("#tokens tr[data-token]:not(:has(button.revoke))")
    with services.sessions() as s:
        row = s.scalars(select(ApiToken).where(ApiToken.name == "nightly-export")).one()
    assert row.revoked and shown.startswith("vgl_")
    old = page.context.cookies()
    page.click("#logout-everywhere")
    page.wait_for_url("**/login")
    page.context.add_cookies(old)  # a copied cookie is refused after signing out everywhere
    page.goto(base + "/users")
    page.wait_for_selector("#login")


def test_browser_end_to_end(live_app, browser):
    server, services = live_app
    base = server.url
    alerts = [seed_alert(services, camera="gate", ago_s=600), seed_alert(services, camera="gate", ago_s=300)]
    seed_model_rows(services)
    page = browser.new_page(viewport={"width": 1920, "height": 1080}, accept_downloads=True)
    page.goto(base + "/wall")
    page.wait_for_selector("#login")
    shot(page, "00-login")

    sign_in(page, base, "rita", "/wall")
    check_wall(page, base)
    page.goto(base + "/review")
    first, lead_id = review_with_correction(page, services)
    assert first == alerts[0]
    page.keyboard.press("r")                                      # reject the second as a false positive
    page.wait_for_selector("text=Nothing to review")
    shot(page, "04-review-done")
    sign_out(page)

    sign_in(page, base, "oscar", "/leads")
    page.wait_for_selector("#leads-table tbody tr")
    shot(page, "05-leads")
    page.click(f'a[href="/leads/{lead_id}"]')
    page.wait_for_selector("#history li")
    page.wait_for_selector("#live-dot.on")                        # live updates arrive on the lead page too
    page.fill("#note-text", "Called the site manager; inspection booked.")
    page.click("#add-note")
    page.wait_for_selector("#history q")
    assign_lead(page, services, lead_id)
    shot(page, "06-lead")
    with page.expect_download() as dl:
        page.click("#package")
    names = zipfile.ZipFile(io.BytesIO(Path(dl.value.path()).read_bytes())).namelist()
    assert any(n.endswith("clip.mp4") for n in names) and any("manifest" in n for n in names)
    page.goto(base + "/sites")
    page.wait_for_selector('[data-site="works"]')
    shot(page, "07-sites")
    page.click('[data-site="works"]')
    page.wait_for_selector("#grade")
    shot(page, "08-site")
    sign_out(page)

    sign_in(page, base, "dana", "/models")
    page.wait_for_selector("svg.chart polyline")
    page.wait_for_selector('[data-job] .progress')
    shot(page, "09-models")
    sign_out(page)

    sign_in(page, base, "ada", "/wall")
    page.select_option("#lang", "zh")
    page.wait_for_selector('a[data-nav="wall"]:has-text("监控墙")')
    page.wait_for_selector(".tile")
    page.wait_for_function("() => [...document.querySelectorAll('.tile')].every(t => +t.dataset.frames >= 1)")
    shot(page, "10-wall-zh")
    page.set_viewport_size({"width": 1366, "height": 768})
    page.goto(base + "/review")
    page.wait_for_selector("text=暂无待审核告警")
    page.goto(base + "/leads/%d" % lead_id)
    page.wait_for_selector("#history li")
    shot(page, "11-lead-laptop-zh")
    manage_tokens(page, base, services)
