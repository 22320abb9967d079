"""Registry (register, gate, admin force, rollback, audit), the job runner thread, metrics and the gate table."""
from __future__ import annotations

import time

import numpy as np
import pytest

from datasets.versions import BuildSpec, build_dataset
from tests.datasets.conftest import data_env  # noqa: F401  (fixture)
from training.gate import GatePolicy, decide
from training.jobs import JobRunner, cancel_job, get_job, submit_job
from training.metrics import DetectionTally
from training.registry import promote, promoted_model, register_model, rollback
from vigil import audit
from vigil.catalogue import PROFILE_CLASSES
from vigil.errors import AuthError, TrainingError

SITE = PROFILE_CLASSES["site"]


@pytest.mark.parametrize("metric,cand,base,allowed,says", [
    ("map50", {"map50": 0.5}, None, True, "no promoted model yet"),
    ("map50", {"map50": 0.5}, {"map50": 0.5}, True, "not worse"),
    ("map50", {"map50": 0.4}, {"map50": 0.5}, False, "worse than"),
    ("false_violations_per_hour", {"false_violations_per_hour": 3.0}, {"false_violations_per_hour": 1.0}, False, "worse"),
    ("false_violations_per_hour", {"false_violations_per_hour": 0.5}, {"false_violations_per_hour": 1.0}, True, "not worse"),
    ("map50", {}, {"map50": 0.5}, False, "no map50 measurement"),
])
def test_gate_table(metric, cand, base, allowed, says):
    d = decide(cand, base, GatePolicy(metric), "v1")
    assert d.allowed is allowed and says in d.reason


def test_gate_tolerance_and_bad_policy():
    assert decide({"map50": 0.48}, {"map50": 0.5}, GatePolicy("map50", 0.05)).allowed
    with pytest.raises(ValueError):
        GatePolicy("accuracy")


def test_metrics_perfect_and_missed_boxes():
    gt = np.array([[0, 0, 10, 10], [20, 20, 40, 40]], float)
    t = DetectionTally(SITE)
    t.add(gt, [0.9, 0.8], [0, 2], gt, [0, 2])
    t.add(np.zeros((0, 4)), [], [], gt[:1], [0])  # a missed fire
    s = t.summary()
    assert s["per_class"]["dust"]["ap50"] == pytest.approx(0.995) and s["per_class"]["fire"]["recall"] == 0.5
    assert s["per_class"]["smoke"] is None and 0.7 < s["map50"] < 0.995


def _evaluation(cand: float, base: float | None, baseline_id: int | None) -> dict:
    return {"imgsz": 64, "evaluation": {"candidate": {"map50": cand},
                                        "baseline": None if base is None else {"map50": base},
                                        "baseline_id": baseline_id}}


def test_register_promote_gate_force_rollback_audited(data_env, site_toy_model):
    S, d = data_env.sessions, data_env.data_dir
    reg = lambda metrics: register_model(S, d, site_toy_model.onnx, profile="site", classes=SITE,  # noqa: E731
                                         dataset_version_id=None, metrics=metrics, trained_by="dana")
    m1 = reg(_evaluation(0.6, None, None))
    assert m1.path == d / "models" / "site" / "v1.onnx" and m1.path.read_bytes() == site_toy_model.onnx.read_bytes()
    assert promote(S, m1.id, "dana").promoted and promoted_model(S, "site").id == m1.id
    m2 = reg(_evaluation(0.4, 0.6, m1.id))
    refused = promote(S, m2.id, "dana")
    assert not refused.promoted and "worse than promoted v1" in refused.decision.reason
    with pytest.raises(AuthError, match="admin"):
        promote(S, m2.id, "dana", force=True)
    forced = promote(S, m2.id, "boss", role="admin", force=True)
    assert forced.promoted and forced.forced and forced.previous.id == m1.id
    m3 = reg(_evaluation(0.7, 0.6, m1.id))  # measured against v1, but v2 is promoted now: must be re-measured
    with pytest.raises(TrainingError, match="evaluate it first"):
        promote(S, m3.id, "dana")
    assert rollback(S, "site", "dana").id == m1.id
    assert rollback(S, "site", "dana") is None and promoted_model(S, "site") is None
    with pytest.raises(TrainingError, match="no promoted site model"):
        rollback(S, "site", "dana")
    with S() as s:
        actions = [e.action for e in s.query(audit.AuditEntry).order_by(audit.AuditEntry.id)]
        assert audit.verify_chain(s).ok
    assert actions == ["model.register", "model.promote", "model.register", "model.promote_refused",
                       "model.promote", "model.register", "model.rollback", "model.rollback"]


def test_runner_thread_records_a_failed_job_and_cancels_queued_ones(data_env):
    v = build_dataset(data_env.sessions, data_env.store, data_env.data_dir,
                      BuildSpec("site", reviews=False, scene_seeds=(3, 4, 5), scene_duration_s=3, scene_fps=1))
    bad = submit_job(data_env.sessions, dataset=v.name, params={"epochs": 1, "imgsz": 64,
                                                                "base_weights": "/nowhere/x.pt"})
    later = submit_job(data_env.sessions, dataset=v.name, params={"epochs": 1})
    assert cancel_job(data_env.sessions, later.id).status == "cancelled"
    seen = []
    runner = JobRunner(data_env.sessions, data_env.data_dir, poll_s=0.2, on_progress=seen.append)
    runner.start()
    try:
        deadline = time.monotonic() + 60
        while get_job(data_env.sessions, bad.id).status in ("queued", "running") and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        runner.stop()
    job = get_job(data_env.sessions, bad.id)
    assert job.status == "failed" and "expected a .pt checkpoint" in job.error and job.finished_at
    assert [r.status for r in seen] == ["running", "failed"]
    assert get_job(data_env.sessions, later.id).status == "cancelled"
    with pytest.raises(TrainingError, match="only queued jobs"):
        cancel_job(data_env.sessions, bad.id)
    with pytest.raises(TrainingError, match="unknown training parameters"):
        submit_job(data_env.sessions, dataset=v.name, params={"epochz": 3})
