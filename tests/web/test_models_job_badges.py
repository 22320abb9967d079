"""The models page in Chromium: every training job state has its own badge, the in-between ones included."""
from __future__ import annotations

import pytest

from tests.web.test_web_browser import shot, sign_in
from vigil.db.models import JOB_STATUSES, TrainingJob

pytestmark = pytest.mark.slow
EPOCH_REACHED = {"queued": 0, "running": 4, "cancelling": 6, "registering": 10, "done": 10, "failed": 3, "cancelled": 7}


def test_every_job_state_has_its_own_badge(web_services, browser):
    from api.app import create_app
    from tests.servers import free_port
    from tests.web.conftest import LiveServer

    with web_services.sessions() as s:  # rows only: no runner picks them up (run_jobs=False)
        for status in JOB_STATUSES:
            s.add(TrainingJob(profile="site", status=status, epoch=EPOCH_REACHED[status], epochs=10, created_by="dana"))
        s.commit()
    server = LiveServer(create_app(web_services, run_cameras=False, run_jobs=False), free_port()).start()
    try:
        page = browser.new_page(viewport={"width": 1366, "height": 1500})  # every card in the screenshot
        sign_in(page, server.url, "dana", "/models")
        page.wait_for_selector(f'[data-job="{len(JOB_STATUSES)}"]')
        colours = {status: page.eval_on_selector(f'[data-job="{i + 1}"] .badge.status',
                                                 "b => getComputedStyle(b).backgroundColor")
                   for i, status in enumerate(JOB_STATUSES)}
        shot(page, "models-job-states")
    finally:
        server.stop()
    # queued is the plain badge; every later state, passing or final, reads apart from the others at a glance
    later = [colours[s] for s in JOB_STATUSES if s != "queued"]
    assert len(set(later)) == len(later), colours
