"""The "To label" queue in a real browser (en: data staff, zh: reviewer): a frame the model was unsure of, its
box pre-drawn with its score; the person adds the box it missed (class by key), saves, and the frame is a label
that a dataset build counts. Skipping leaves the queue without a label. Screenshots of each step."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from api.ops.label_tasks import create_task, list_tasks
from datasets.scenes import iter_frames
from datasets.versions import BuildSpec, build_dataset
from tests.web.test_alerts_browser import served  # noqa: F401 - the app without cameras, served
from tests.web.test_web_browser import drag, shot, sign_in
from vigil.db.models import LabelImage
from vigil.types import utcnow
from vision.jpeg import encode_jpeg

pytestmark = pytest.mark.slow


def seed_task(services, score: float) -> int:
    """A demo-scene frame as the sampler queues it: the model's one person box at 0.27 (threshold 0.25)."""
    _, img, labels = next(iter(iter_frames("site", 5, 4.0, fps=1, size=(640, 360))))
    x1, y1, x2, y2 = (float(v) for v in (labels[0].box if labels else (100, 80, 220, 300)))
    det = {"class_name": "person", "confidence": score, "track_id": 3, "x1": x1, "y1": y1, "x2": x2, "y2": y2}
    return create_task(services, camera_id="gate", profile="site", jpeg=encode_jpeg(img), width=640, height=360,
                       detections=[det], reason="near_threshold", detail=f"person {score:.2f} (threshold 0.25)",
                       facts={"class_name": "person", "score": score, "threshold": 0.25}, model_name="site-det",
                       model_version="v3", captured_at=utcnow(), max_pending=10)


@pytest.mark.parametrize("lang, user", [("en", "dana"), ("zh", "rita")])
def test_label_a_doubtful_frame_and_build_a_dataset(served, browser, lang, user):  # noqa: F811
    server, services = served
    skipped = seed_task(services, 0.26)
    task_id = seed_task(services, 0.27)   # newest first
    page = browser.new_page(viewport={"width": 1500, "height": 900})
    page.context.add_cookies([{"name": "vigil_lang", "value": lang, "url": server.url}])
    sign_in(page, server.url, user, "/label")
    page.wait_for_function("() => document.querySelector('#frame')?.naturalWidth > 0")
    assert page.get_attribute("#frame", "data-task") == str(task_id)
    assert page.inner_text("#task-reason") == {"en": "Score near the threshold", "zh": "分数接近阈值"}[lang]
    assert page.inner_text("#task-detail") == {"en": "person scored 0.27; its threshold is 0.25",
                                               "zh": "人员 得分 0.27，阈值 0.25"}[lang]
    assert page.inner_text("#waiting") == {"en": "2 to label", "zh": "待标注 2 条"}[lang]
    assert page.locator("#box-list li").count() == 1 and "0.27" in page.inner_text("#box-list")
    assert page.locator('a[data-nav="label"]').count() == 1
    shot(page, f"60-label-task-{lang}")

    canvas = page.locator("#boxes").bounding_box()
    drag(page, canvas, (canvas["width"] - 260, 40), (canvas["width"] - 120, 200))   # what the model missed
    page.wait_for_selector("#class-picker")
    assert {"en": "debris pile", "zh": "渣土堆"}[lang] in page.inner_text("#class-picker")
    shot(page, f"61-label-picker-{lang}")
    page.keyboard.press("s")                           # no save while a box has no class
    assert page.locator("#class-picker").count() == 1
    page.keyboard.press("4")                           # 4: debris_pile, the fourth site class
    assert page.locator("#box-list select").nth(1).input_value() == "debris_pile"
    shot(page, f"62-label-boxes-{lang}")
    page.keyboard.press("s")
    page.wait_for_function(f"() => document.querySelector('#frame')?.dataset.task === '{skipped}'")
    page.keyboard.press("n")                           # the other one is skipped
    page.wait_for_selector("#label-done")
    shot(page, f"63-label-done-{lang}")

    with services.sessions() as s:
        label = s.scalars(select(LabelImage)).one()
        assert label.kind == "correction" and label.camera_id == "gate" and label.alert_id is None
        assert sorted(b.class_name for b in label.boxes) == ["debris_pile", "person"]
        assert all(0 <= b.x1 < b.x2 <= 1 and 0 <= b.y1 < b.y2 <= 1 for b in label.boxes)
    assert list_tasks(services, "labelled")[1] == 1 and list_tasks(services, "skipped")[1] == 1
    version = build_dataset(services.sessions, services.store, services.data_dir,
                            BuildSpec(profile="site", reviews=True, created_by=user))
    reviews = [src for src in version.sources if src["kind"] == "reviews"]
    assert reviews and reviews[0]["images"] == 1, version.sources
    page.close()
