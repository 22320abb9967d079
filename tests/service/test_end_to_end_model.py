"""Done-when with nothing scripted: the shipped site model watches a demo scene with open burning.

Unlike `test_end_to_end.py` (whose detector replays the scene's labels so the rules can be checked exactly),
here the shipped `models/site.onnx` sees the rendered frames: a camera over an unseen demo scene with one
open-burning episode yields one open-burning alert with complete, verifying, signed evidence, and confirming
it gives a lead whose package's report lists hashes that match its files.
"""
from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import select

from api.ops import grading, review
from api.service.events import EventBus
from api.service.runtime import start_runtime
from streams.recorder import RecorderConfig
from tests.service.test_end_to_end import _check_package
from vigil.db.models import Alert
from vigil.evidence import read_manifest, verify_evidence

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "models" / "site.onnx"
DURATION = 25


def _burning_scene() -> tuple[int, dict]:
    """An unseen seed (training used 1000+, 5000+, 9000+) whose only violation is open burning, inside 4-22 s."""
    from datasets.scenes.assets import default_datasets_dir
    from datasets.scenes.base import ground_truth
    from datasets.scenes.render import build_plan

    for seed in range(30001, 30060):
        found = ground_truth(build_plan("site", seed, DURATION, (640, 360), default_datasets_dir()).episodes, DURATION)
        if len(found) == 1 and found[0]["rule"] == "open_burning" and 4 <= found[0]["start"] <= found[0]["end"] - 4 \
                and found[0]["end"] <= DURATION - 3:
            return seed, found[0]
    pytest.fail("no site demo scene among seeds 30001-30059 has a single open-burning episode inside 4-22 s")


@pytest.mark.slow
def test_shipped_model_finds_open_burning_with_signed_evidence(make_services, tmp_path):
    assert MODEL.is_file(), f"{MODEL} is missing: the shipped site model is committed under models/"
    seed, expected = _burning_scene()
    services = make_services(f"""
sites:
  works: {{name: Riverside Works, address: "18 Riverside Road, Eastport", kind: site}}
cameras:
  gate: {{site: works, source: "demo:site?seed={seed}&duration={DURATION}", record: {{pre_roll_s: 2, post_roll_s: 2}}}}
detectors:
  site: {{model: {MODEL}, imgsz: 320}}
rules:
  open_burning: {{legal_basis: "Legal basis text edited in the config (test edit)."}}
""")
    bus = EventBus()
    sub = bus.subscribe(1000)
    runtime = start_runtime(services, recorder_config=RecorderConfig(revision_interval_s=3), events=bus,
                            watch_models=False)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            ev = sub.get(timeout=0.5)
            if ev and ev[0] == "alert.updated" and ev[1]["rule"] == "open_burning" and not ev[1]["ongoing"]:
                break
    finally:
        runtime.stop()
        sub.close()
    with services.sessions() as s:
        alerts = list(s.scalars(select(Alert).where(Alert.rule == "open_burning")))
    assert len(alerts) == 1, f"expected one open_burning alert for {expected}, found {len(alerts)}"
    alert = alerts[0]
    assert alert.model_name == "site" and not alert.ongoing
    assert verify_evidence(services.store, alert.id, services.signer.public_key_pem()).ok
    manifest, _, _ = read_manifest(services.store, alert.id)
    assert {f.name for f in manifest.files} == {"clip.mp4", "best_raw.jpg", "best_annotated.jpg"}
    assert any(d.class_name in ("fire", "smoke") for d in manifest.detections)
    files = {f.name: services.store.get(f.key) for f in manifest.files}
    lead = review.confirm(services, alert.id, "reviewer1")
    assert grading.site_grade(services, "works").grade != "blue"
    _check_package(services, lead.id, files, alert.id, tmp_path)
