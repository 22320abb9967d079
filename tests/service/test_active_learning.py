"""Active learning in a running service: a near-threshold detection queues one labelling task per camera per
interval (the frame, the model's boxes and scores, camera, time, model, reason); confident detections none."""
from __future__ import annotations

import time

from api.ops.label_tasks import create_task, list_tasks, save_task_labels, task_image
from api.ops.labels import PixelBox
from api.service.runtime import start_runtime
from datasets.samples import review_samples
from tests.service.conftest import SITES
from tests.service.scripted_box import OneBoxDetector
from tests.streams.conftest import make_clip
from vigil.types import utcnow

CONFIG = SITES + """
cameras:
  yard: {site: works, source: yard.mp4}
  bench: {site: lab3, source: bench.mp4}
detectors:
  site: {model: models/none.onnx, conf: 0.25}
  lab: {model: models/none.onnx, conf: 0.25}
active_learning: {enabled: true, min_interval_s: 60, max_pending: 50}
"""


def test_near_threshold_frames_become_one_task_per_interval_and_confident_ones_none(make_services, tmp_path):
    for name in ("yard", "bench"):
        make_clip(tmp_path / f"{name}.mp4", seconds=8, fps=10, gop=10)
    services = make_services(CONFIG)
    detectors = {"site": OneBoxDetector("site", "person", 0.27),   # just above its 0.25 threshold: doubtful
                 "lab": OneBoxDetector("lab", "person", 0.92)}     # confident
    runtime = start_runtime(services, detectors=detectors, watch_models=False)
    try:
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            yard, bench = runtime.latest("yard"), runtime.latest("bench")
            if (yard and bench and yard.frame.pts_s > 3 and bench.frame.pts_s > 3
                    and list_tasks(services)[1] >= 1):
                break
            time.sleep(0.2)
        time.sleep(1.0)  # more doubtful frames come: the rate limit keeps them out
        tasks, total = list_tasks(services)
    finally:
        runtime.stop()
    assert total == 1, tasks
    task = tasks[0]
    assert task["camera_id"] == "yard" and task["profile"] == "site" and task["reason"] == "near_threshold"
    assert task["detail"] == "person 0.27 (threshold 0.25)"
    assert task["facts"] == {"class_name": "person", "score": 0.27, "threshold": 0.25}
    assert task["model_name"] == "one-box-site" and task["model_version"] == "score0.27"
    assert [(d["class_name"], round(d["confidence"], 2)) for d in task["detections"]] == [("person", 0.27)]
    assert task_image(services, task["id"])[:3] == b"\xff\xd8\xff"
    assert (task["width"], task["height"]) == (320, 180)

    # labelled, it is a review sample of the site profile (what dataset builds read)
    save_task_labels(services, task["id"], "nobody", [PixelBox("person", 90, 50, 200, 150)])
    samples = list(review_samples(services.sessions, services.store, "site"))
    assert len(samples) == 1 and [b.cls for b in samples[0].boxes] == ["person"]
    assert list_tasks(services)[1] == 0 and list_tasks(services, "labelled")[1] == 1


def test_pending_tasks_are_bounded_oldest_dropped(make_services):
    services = make_services(SITES + "cameras:\n  yard: {site: works, source: x.mp4}\n")
    jpeg = (b"\xff\xd8\xff" + b"0" * 100)
    ids = [create_task(services, camera_id="yard", profile="site", jpeg=jpeg, width=10, height=10, detections=[],
                       reason="near_threshold", detail=str(i), facts={}, model_name="m", model_version="1",
                       captured_at=utcnow(), max_pending=2) for i in range(4)]
    tasks, total = list_tasks(services)
    assert total == 2 and sorted(t["id"] for t in tasks) == ids[2:]


def test_a_confident_box_that_blinks_is_sampled_as_a_flickering_track(make_services, tmp_path):
    make_clip(tmp_path / "yard.mp4", seconds=8, fps=10, gop=10)
    services = make_services(SITES + """
cameras:
  yard: {site: works, source: yard.mp4}
detectors:
  site: {model: models/none.onnx, conf: 0.25}
active_learning: {enabled: true, min_interval_s: 60, flicker_changes: 4, flicker_window_s: 10}
""")
    runtime = start_runtime(services, detectors={"site": OneBoxDetector("site", "person", 0.9, blink=True)},
                            watch_models=False)
    try:
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline and list_tasks(services)[1] == 0:
            time.sleep(0.2)
        tasks, total = list_tasks(services)
    finally:
        runtime.stop()
    assert total == 1, tasks
    assert tasks[0]["reason"] == "flicker" and tasks[0]["facts"]["class_name"] == "person", tasks[0]
    assert tasks[0]["facts"]["changes"] >= 4
