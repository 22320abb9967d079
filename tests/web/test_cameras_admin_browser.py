"""The cameras admin page in a real browser, with the cameras running: an admin adds a camera (it starts at once),
renames it and disables it (it stops), in English; in Chinese, adds an RTSP camera with a typed password, which the
page never shows again. The other cameras keep running throughout; screenshots of each step."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.streams.conftest import make_clip
from tests.web.conftest import serve_live
from tests.web.test_web_browser import shot, sign_in
from tests.web.test_zones_browser import wait_until
from vigil.db.models import AuditEntry, Camera

pytestmark = pytest.mark.slow
TYPED_PW = "typed-rtsp-pw-4410"


@pytest.fixture
def live(tmp_path):
    yield from serve_live(tmp_path, "")


def fill_form(page, values: dict) -> None:
    form = page.locator("#camera-form")
    for name, value in values.items():
        field = form.locator(f"[name={name}]")
        if name == "site":
            field.select_option(value)
        else:
            field.fill(value)


def test_add_rename_and_disable_a_camera_en(live, browser, tmp_path):
    server, services = live
    supervisor = server.app.state.runtime.supervisor
    wait_until("the gate camera to run", lambda: "gate" in supervisor.status(), timeout=60)
    gate = supervisor.pipeline("gate")
    clip = make_clip(tmp_path / "north.mp4", seconds=4)
    page = browser.new_page(viewport={"width": 1500, "height": 900})
    sign_in(page, server.url, "ada", "/cameras")
    page.wait_for_selector("tr[data-camera='bench']")
    assert "rtsp://viewer:${CAM_PW}@127.0.0.1:9/bench" in page.inner_text("tr[data-camera='bench'] .source")
    assert "cam-secret-pw" not in page.content()
    page.click("#add-camera")
    fill_form(page, {"id": "north", "name": "North yard", "site": "works", "source": str(clip)})
    shot(page, "45-cameras-add-en")
    page.click("#camera-save")
    page.wait_for_selector("tr[data-camera='north']")
    wait_until("the new camera to run", lambda: "north" in supervisor.status(), timeout=30)
    page.reload()
    page.wait_for_selector("tr[data-camera='north'] .state-live", timeout=30000)
    shot(page, "46-cameras-added-en")

    page.click("tr[data-camera='north'] button.edit")
    fill_form(page, {"name": "North yard gate"})
    page.click("#camera-save")
    page.wait_for_function("() => document.querySelector(\"tr[data-camera='north']\")?.innerText.includes("
                           "'North yard gate')")
    page.click("tr[data-camera='north'] button.disable")
    page.wait_for_selector("tr[data-camera='north'] .state-disabled")
    page.wait_for_selector("tr[data-camera='north'] button.enable")
    shot(page, "47-cameras-disabled-en")
    assert "north" not in supervisor.status()
    assert supervisor.pipeline("gate") is gate  # the other camera ran on undisturbed
    with services.sessions() as s:
        row = s.get(Camera, "north")
        assert (row.name, row.enabled) == ("North yard gate", False)
        actions = [a.action for a in s.scalars(select(AuditEntry).where(AuditEntry.target_id == "north"))]
    assert actions == ["camera.create", "camera.update", "camera.disable"]
    page.close()


def test_an_rtsp_password_typed_in_is_never_shown_again_zh(live, browser):
    server, services = live
    page = browser.new_page(viewport={"width": 1500, "height": 900})
    page.context.add_cookies([{"name": "vigil_lang", "value": "zh", "url": server.url}])
    sign_in(page, server.url, "ada", "/cameras")
    page.wait_for_selector("tr[data-camera='gate']")
    assert "添加摄像头" in page.inner_text("#add-camera") and "配置来源" in page.inner_text("#cameras thead")
    page.click("#add-camera")
    fill_form(page, {"id": "east", "name": "东门", "site": "works",
                     "source": f"rtsp://admin:{TYPED_PW}@127.0.0.1:9/east"})
    page.click("#camera-save")
    page.wait_for_selector("tr[data-camera='east']")
    assert page.inner_text("tr[data-camera='east'] .source") == "rtsp://admin:***@127.0.0.1:9/east"
    page.click("tr[data-camera='east'] button.edit")
    assert page.input_value("#camera-form [name=source]") == "rtsp://admin:***@127.0.0.1:9/east"
    shot(page, "48-cameras-edit-zh")
    assert TYPED_PW not in page.content()
    fill_form(page, {"source": "rtsp://admin:***@127.0.0.1:9/east-hd"})  # a new path keeps the password
    page.click("#camera-save")
    page.wait_for_function("() => document.querySelector(\"tr[data-camera='east'] .source\")?.innerText"
                           ".endsWith('/east-hd')")
    assert services.loaded.config.cameras["east"].source == f"rtsp://admin:{TYPED_PW}@127.0.0.1:9/east-hd"
    page.click("tr[data-camera='gate'] button.edit")               # a camera of the YAML, renamed here ...
    fill_form(page, {"name": "北门"})
    page.click("#camera-save")
    page.wait_for_selector("tr[data-camera='gate'] button.revert")
    page.reload()
    page.wait_for_selector("tr[data-camera='east']")
    assert TYPED_PW not in page.content()
    assert "配置文件，已在此编辑" in page.inner_text("tr[data-camera='gate']")
    shot(page, "49-cameras-zh")
    page.once("dialog", lambda d: d.accept())                     # ... and back to the file
    page.click("tr[data-camera='gate'] button.revert")
    page.wait_for_function("() => !document.querySelector(\"tr[data-camera='gate'] button.revert\")")
    assert "Riverside gate" in page.inner_text("tr[data-camera='gate']")
    assert services.loaded.config.cameras["gate"].name == "Riverside gate"
    page.close()
