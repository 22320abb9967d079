"""The recorder and the server's outbox-backed AlertSink with real frames and real clips (a file's own packets),
without the stream supervisor."""
from __future__ import annotations


import hashlib
import io
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from sqlalchemy import select

import time

from api.service.alerts_db import OutboxAlertSink
from api.service.events import EventBus
from streams.evidence import ViolationEvent
from streams.recorder import Recorder, RecorderConfig
from vigil.outbox import Backoff, Outbox
from tests.service.conftest import SITES
from tests.streams.conftest import make_clip
from vigil.db.models import Alert
from vigil.errors import StreamError
from vigil.evidence import manifest_revisions, read_manifest, verify_evidence
from vigil.types import Box, ClipRequest, Violation

CONFIG = SITES + """
cameras:
  gate: {site: works, source: demo:site, record: {pre_roll_s: 1, post_roll_s: 1}}
"""
T0 = datetime(2025, 6, 1, 9, 0, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Clip:
    data: bytes
    start_s: float
    end_s: float
    packets: int
    truncated: bool


class FileClips:
    """Cuts a clip of a video file's own packets (keyframe before start .. end), remuxed, never re-encoded."""

    def __init__(self, path: Path, fail: bool = False, delay_s: float = 0.0):
        self.path, self.fail, self.delay_s, self.requests = path, fail, delay_s, []

    def cut_clip(self, request: ClipRequest, timeout: float) -> Clip:
        self.requests.append(request)
        time.sleep(min(self.delay_s, timeout))  # a camera's post-roll arriving
        if self.fail:
            raise StreamError("expected buffered footage, found none (test)")
        start, end = request.start_s - request.pre_roll_s, request.end_s + request.post_roll_s
        out_buf = io.BytesIO()
        with av.open(str(self.path)) as src, av.open(out_buf, "w", format="mp4") as out:
            ins = src.streams.video[0]
            ost = out.add_stream_from_template(ins)
            pkts = [p for p in src.demux(ins) if p.dts is not None]
            first = max(i for i, p in enumerate(pkts) if p.is_keyframe and p.pts * ins.time_base <= max(start, 0))
            chosen = [p for p in pkts[first:] if p.pts * ins.time_base <= end]
            for p in chosen:
                p.stream = ost
                out.mux(p)
        return Clip(out_buf.getvalue(), start, end, len(chosen), False)


def _frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="bgr24") for f in c.decode(video=0)]


def _violation(phase: str, t: float, image, *, start: float = 2.0, score: float = 0.8) -> Violation:
    return Violation(event_id="ev-1", rule="dust", camera_id="gate", phase=phase, track_id=3, start_s=start, end_s=t,
                     started_at=T0 + timedelta(seconds=start), ended_at=T0 + timedelta(seconds=t), best_s=t,
                     best_at=T0 + timedelta(seconds=t), best_score=score, best_image=image,
                     detections=(Box((10, 20, 120, 90), "dust", score, 3),), thresholds={"min_s": 5.0},
                     model_name="site", model_version="abc123")


def _event(v: Violation) -> ViolationEvent:
    return ViolationEvent(v, "works", "site", None)


@pytest.fixture(scope="module")
def video(tmp_path_factory) -> Path:
    return make_clip(tmp_path_factory.mktemp("media") / "cam.mp4", seconds=6, fps=10, gop=10)



@dataclass
class Rig:
    recorder: Recorder
    sink: OutboxAlertSink
    outbox: Outbox
    bus: EventBus
    notified: list

    def settle(self, timeout: float = 30) -> None:
        assert self.recorder.wait_settled(timeout), "the recorder did not handle every phase"
        assert self.outbox.wait_idle(timeout), self.outbox.summary()


def rig(services, clips, tmp_path, *, start: bool = True, **config) -> Rig:
    bus, notified = EventBus(), []
    outbox = Outbox(tmp_path / "outbox.sqlite", backoff=Backoff(0.05, 0.2))
    sink = OutboxAlertSink(services.sessions, services.store, outbox, publish=bus.publish, notify=notified.append)
    if start:
        outbox.start(sink.handlers())
    record = services.loaded.config.cameras["gate"].record
    recorder = Recorder(sink, services.signer, clips=clips, record_for=lambda _cid: record,
                        config=RecorderConfig(**config))
    return Rig(recorder, sink, outbox, bus, notified)


def _alerts(services) -> list[Alert]:
    with services.sessions() as s:
        return list(s.scalars(select(Alert)))


@pytest.mark.parametrize("store", ["local", "s3"])
def test_the_alert_and_its_best_frame_come_first_the_clip_and_revisions_follow(make_services, video, store,
                                                                                tmp_path):
    services = make_services(CONFIG, store=store)
    frames = _frames(video)
    r = rig(services, FileClips(video, delay_s=2.0), tmp_path, revision_interval_s=0)
    sub = r.bus.subscribe()
    t0 = time.monotonic()
    r.recorder.on_violation(_event(_violation("open", 3.0, frames[30])))
    kind, row = sub.get(timeout=5)
    latency = time.monotonic() - t0
    assert kind == "alert.new" and row["evidence_revision"] == 1 and row["ongoing"]
    assert latency < 1.5, f"the alert row took {latency:.2f} s, while the clip's post-roll takes 2 s"
    assert r.outbox.wait_idle(10)
    m1, _, _ = read_manifest(services.store, row["id"], 1)
    assert {f.name for f in m1.files} == {"best_raw.jpg", "best_annotated.jpg"}  # the clip is not there yet
    kind, row = sub.get(timeout=10)  # the clip, once its post-roll is buffered
    assert kind == "alert.updated" and row["evidence_revision"] == 2
    r.recorder.on_violation(_event(_violation("update", 3.5, None)))  # same best frame: no new revision
    r.recorder.on_violation(_event(_violation("update", 4.0, frames[40], score=0.9)))  # new best frame: revision 3
    r.recorder.on_violation(_event(_violation("closed", 5.0, None)))  # final: revision 4 with the full clip
    r.settle()
    assert r.recorder.errors == 0 and r.recorder.open_events() == 0
    alert = _alerts(services)[0]
    assert (alert.ongoing, alert.evidence_revision, alert.best_score) == (False, 4, pytest.approx(0.9))
    assert alert.ended_at == T0 + timedelta(seconds=5) and alert.model_version == "abc123"
    assert manifest_revisions(services.store, alert.id) == [1, 2, 3, 4]
    for rev in (1, 2, 3, 4):
        assert verify_evidence(services.store, alert.id, services.signer.public_key_pem(), rev).ok
    m2, _, _ = read_manifest(services.store, alert.id, 2)
    m4, body4, _ = read_manifest(services.store, alert.id, 4)
    assert alert.manifest_sha256 == hashlib.sha256(body4).hexdigest()
    assert m1.file("best_raw.jpg").sha256 != m4.file("best_raw.jpg").sha256  # the best frame moved
    assert m2.file("clip.mp4").sha256 != m4.file("clip.mp4").sha256  # the final clip spans the whole event
    assert m4.thresholds["min_s"] == 5.0 and m4.thresholds["pre_roll_s"] == 1.0
    assert [n["id"] for n in r.notified] == [alert.id]  # notified once, after the alert existed


def test_a_throttled_better_frame_is_the_one_the_final_revision_keeps(make_services, video, tmp_path):
    """The manifest's best-frame time and detections and its best-frame files must show the same frame."""
    services = make_services(CONFIG)
    frames = _frames(video)
    r = rig(services, FileClips(video), tmp_path, revision_interval_s=3600, clip_after_open=False)
    r.recorder.on_violation(_event(_violation("open", 3.0, frames[30], score=0.6)))
    better = _violation("update", 4.0, frames[40], score=0.95)
    r.recorder.on_violation(_event(better))  # throttled: no revision yet
    r.settle()
    assert _alerts(services)[0].evidence_revision == 1
    r.recorder.on_violation(_event(replace(better, phase="closed", end_s=5.5, ended_at=T0 + timedelta(seconds=5.5),
                                           best_image=None)))
    r.settle()
    alert = _alerts(services)[0]
    m1, _, _ = read_manifest(services.store, alert.id, 1)
    m2, _, _ = read_manifest(services.store, alert.id, 2)
    assert m2.best_at == T0 + timedelta(seconds=4) and m2.detections[0].confidence == pytest.approx(0.95)
    raw = services.store.get(m2.file("best_raw.jpg").key)
    assert m2.file("best_raw.jpg").sha256 != m1.file("best_raw.jpg").sha256
    decoded = cv2.imdecode(np.frombuffer(raw, np.uint8), cv2.IMREAD_COLOR)
    assert np.abs(decoded.astype(int) - frames[40].astype(int)).mean() < np.abs(
        decoded.astype(int) - frames[30].astype(int)).mean()


def test_a_camera_without_footage_still_gets_frame_evidence(make_services, video, tmp_path):
    services = make_services(CONFIG)
    r = rig(services, FileClips(video, fail=True), tmp_path)
    r.recorder.on_violation(_event(replace(_violation("open", 3.0, _frames(video)[30]), event_id="ev-2")))
    r.recorder.on_violation(_event(replace(_violation("closed", 4.0, None), event_id="ev-2")))
    r.settle()
    alert = _alerts(services)[0]
    manifest, _, _ = read_manifest(services.store, alert.id)
    assert {f.name for f in manifest.files} == {"best_raw.jpg", "best_annotated.jpg"} and not alert.ongoing
    assert verify_evidence(services.store, alert.id, services.signer.public_key_pem()).ok


def test_work_queued_before_a_crash_is_done_at_the_next_start_and_left_ongoing_alerts_close(
        make_services, video, tmp_path):
    """The first process queues an open event and dies before any worker ran; the next one finishes it."""
    services = make_services(CONFIG)
    first = rig(services, FileClips(video), tmp_path, start=False, clip_after_open=False)
    first.recorder.on_violation(_event(_violation("open", 3.0, _frames(video)[30])))
    assert first.recorder.wait_settled(10)
    first.outbox.close()  # "killed": nothing reached the database or the store
    assert _alerts(services) == []
    second = rig(services, FileClips(video), tmp_path, start=False)
    second.sink.recover()
    second.outbox.start(second.sink.handlers())
    second.settle()
    alerts = _alerts(services)
    assert len(alerts) == 1 and not alerts[0].ongoing  # inserted from the outbox, then closed as left ongoing
    assert verify_evidence(services.store, alerts[0].id, services.signer.public_key_pem()).ok
    assert [n["id"] for n in second.notified] == [alerts[0].id]
    second.outbox.close()
