"""The models page in Chromium: build a dataset, cancel a build, train with live progress (SSE, no reload),
cancel a running job, promote, gate refusal."""
from __future__ import annotations

import pytest

from tests.web.test_web_browser import shot, sign_in
from tests.web.test_models_jobs import services  # noqa: F401  (fixture)
from training.jobs import get_job
from training.registry import get_model, list_models, register_model
from vigil.catalogue import PROFILE_CLASSES

pytestmark = pytest.mark.slow


def test_models_page_build_train_live_promote_and_refusal(services, browser):  # noqa: F811
    from api.app import create_app
    from tests.servers import free_port
    from tests.web.conftest import LiveServer

    server = LiveServer(create_app(services, run_cameras=False), free_port()).start()
    try:
        page = browser.new_page(viewport={"width": 1920, "height": 1080})
        sign_in(page, server.url, "dana", "/models")
        page.wait_for_selector("#build-form")
        page.select_option('#build-form select[name="profile"]', "site")
        page.uncheck('#build-form input[name="reviews"]')
        page.fill('#build-form input[name="seeds"]', "3, 4, 5")
        page.fill('#build-form input[name="duration"]', "3")
        page.click("#build-submit")
        page.wait_for_selector('.build-status:has-text("site-v1")', timeout=60000)
        page.wait_for_selector('#train-dataset option[value="site-v1"]', state="attached")
        assert page.locator("#build-cancel").is_hidden()

        # a build far too big for what was meant: stopped from the form while its worker renders scenes
        page.fill('#build-form input[name="seeds"]', "10, 11, 12, 13, 14, 15")
        page.fill('#build-form input[name="duration"]', "600")
        page.click("#build-submit")
        page.click("#build-cancel", timeout=30000)
        page.wait_for_selector('.build-status:has-text("Build cancelled")', timeout=30000)
        assert page.locator("#build-cancel").is_hidden()

        page.evaluate("() => { window.__sameDocument = true; }")
        page.fill('#train-form input[name="epochs"]', "1")
        page.fill('#train-form input[name="imgsz"]', "64")
        page.fill('#train-form input[name="batch"]', "8")
        page.click("#train-submit")
        page.wait_for_selector('[data-job="1"]')
        page.wait_for_selector('[data-job="1"][data-status="done"]', timeout=100000)
        assert page.evaluate("() => window.__sameDocument === true")  # updated live, not by reloading
        card = page.locator('[data-job="1"]')
        assert card.locator(".progress").get_attribute("aria-valuenow") == "100"
        assert card.locator("svg.chart polyline").count() >= 1  # the epoch's metrics drawn from the event
        page.wait_for_selector('tr[data-model="1"] [data-act="promote"]')
        shot(page, "models-01-trained")

        # a long run started by mistake: cancelled from its card (after a confirm) while it trains
        page.fill('#train-form input[name="epochs"]', "500")
        page.click("#train-submit")
        page.wait_for_selector('[data-job="2"][data-status="running"] [data-act="cancel"]', timeout=60000)
        page.once("dialog", lambda dialog: dialog.accept())
        page.click('[data-job="2"] [data-act="cancel"]')
        page.wait_for_selector('[data-job="2"][data-status="cancelled"]', timeout=60000)
        card = page.locator('[data-job="2"]')
        assert card.locator(".badge").text_content() == "cancelled"
        assert card.locator('[data-act="cancel"]').count() == 0  # nothing left to cancel
        assert get_job(services.sessions, 2).model_version_id is None and len(list_models(services.sessions)) == 1
        shot(page, "models-01b-cancelled")

        page.click('tr[data-model="1"] [data-act="promote"]')
        page.wait_for_selector('tr[data-model="1"] [data-act="rollback"]')
        assert get_model(services.sessions, 1).status == "promoted"

        # a candidate whose stored evaluation is worse than the promoted v1: the gate refuses and says why
        worse = {"imgsz": 64, "evaluation": {"candidate": {"map50": 0.0}, "baseline": {"map50": 0.5},
                                             "baseline_id": 1}}
        register_model(services.sessions, services.data_dir, get_model(services.sessions, 1).path, profile="site",
                       classes=PROFILE_CLASSES["site"], dataset_version_id=None, metrics=worse, trained_by="dana")
        page.reload()
        page.click('tr[data-model="2"] [data-act="promote"]')
        refusal = page.locator('tr[data-model="2"] + tr .gate-refusal')
        refusal.wait_for(state="visible")
        assert "worse than promoted v1" in refusal.text_content()
        assert page.locator('tr[data-model="2"] [data-act="force"]').count() == 0  # data staff cannot force
        shot(page, "models-02-gate-refused")
        assert get_model(services.sessions, 2).status == "candidate"
    finally:
        server.stop()
