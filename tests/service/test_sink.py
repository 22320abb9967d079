"""The evidence sink with real frames and real clips (a file's own packets), without the stream supervisor."""
from __future__ import annotations


import io
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from sqlalchemy import select

from api.service.events import EventBus
from api.service.sink import EvidenceSink, SinkConfig
from streams.evidence import ViolationEvent
from tests.service.conftest import SITES
from tests.streams.conftest import make_clip
from vigil.db.models import Alert, NotificationDelivery
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

    def __init__(self, path: Path, fail: bool = False):
        self.path, self.fail, self.requests = path, fail, []

    def cut_clip(self, request: ClipRequest, timeout: float) -> Clip:
        self.requests.append(request)
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


@pytest.mark.parametrize("store", ["local", "s3"])
def test_phases_make_one_alert_with_signed_revisions(make_services, video, store):
    services = make_services(CONFIG, store=store)
    frames, bus, notified = _frames(video), EventBus(), []
    sub = bus.subscribe()
    clips = FileClips(video)
    sink = EvidenceSink(services, bus, notify=notified.append, clips=clips, config=SinkConfig(revision_interval_s=0))
    sink.on_violation(_event(_violation("open", 3.0, frames[30])))
    sink.on_violation(_event(_violation("update", 3.5, None)))  # same best frame: no new revision
    sink.on_violation(_event(_violation("update", 4.0, frames[40], score=0.9)))  # new best frame: revision 2
    sink.on_violation(_event(_violation("closed", 5.0, None)))  # final: revision 3 with the full clip
    assert sink.errors == 0
    with services.sessions() as s:
        alert = s.scalars(select(Alert)).one()
        names = sorted((e.revision, e.name) for e in alert.evidence)
    assert (alert.ongoing, alert.evidence_revision, alert.best_score) == (False, 3, pytest.approx(0.9))
    assert alert.ended_at == T0 + timedelta(seconds=5) and alert.model_version == "abc123"
    assert manifest_revisions(services.store, alert.id) == [1, 2, 3]
    for rev in (1, 2, 3):
        assert verify_evidence(services.store, alert.id, services.signer.public_key_pem(), rev).ok
    m1, _, _ = read_manifest(services.store, alert.id, 1)
    m3, _, _ = read_manifest(services.store, alert.id, 3)
    assert m1.file("best_raw.jpg").sha256 != m3.file("best_raw.jpg").sha256  # the best frame moved
    assert m1.file("clip.mp4").sha256 != m3.file("clip.mp4").sha256  # the final clip spans the whole event
    assert m3.thresholds["min_s"] == 5.0 and m3.thresholds["pre_roll_s"] == 1.0
    assert (clips.requests[-1].start_s, clips.requests[-1].end_s) == (2.0, 5.0)
    assert names[:3] == [(1, "best_annotated.jpg"), (1, "best_raw.jpg"), (1, "clip.mp4")]
    kinds = [sub.get(0.1)[0] for _ in range(4)]
    assert kinds == ["alert.new", "alert.updated", "alert.updated", "alert.updated"]
    assert [n["id"] for n in notified] == [alert.id]  # notified once, after the alert existed


def test_throttled_updates_and_a_restarted_sink_continue_the_same_alert(make_services, video):
    services = make_services(CONFIG)
    frames = _frames(video)
    first = EvidenceSink(services, EventBus(), clips=FileClips(video), config=SinkConfig(revision_interval_s=3600))
    first.on_violation(_event(_violation("open", 3.0, frames[30])))
    first.on_violation(_event(_violation("update", 4.0, frames[40], score=0.95)))  # throttled: no revision
    with services.sessions() as s:
        alert = s.scalars(select(Alert)).one()
    assert alert.evidence_revision == 1 and alert.best_score == pytest.approx(0.95)
    restarted = EvidenceSink(services, EventBus(), clips=FileClips(video))  # e.g. the service restarted
    restarted.on_violation(_event(_violation("closed", 5.5, None)))
    with services.sessions() as s:
        rows = s.scalars(select(Alert)).all()
    assert len(rows) == 1 and rows[0].evidence_revision == 2 and not rows[0].ongoing
    assert verify_evidence(services.store, rows[0].id, services.signer.public_key_pem()).ok


def test_a_throttled_better_frame_is_the_one_the_final_revision_keeps(make_services, video):
    """The manifest's best-frame time and detections and its best-frame files must show the same frame."""
    services = make_services(CONFIG)
    frames = _frames(video)
    sink = EvidenceSink(services, EventBus(), clips=FileClips(video), config=SinkConfig(revision_interval_s=3600))
    sink.on_violation(_event(_violation("open", 3.0, frames[30], score=0.6)))
    better = _violation("update", 4.0, frames[40], score=0.95)
    sink.on_violation(_event(better))  # throttled: no revision yet
    closed = replace(better, phase="closed", end_s=5.5, ended_at=T0 + timedelta(seconds=5.5),
                                 best_image=None)
    sink.on_violation(_event(closed))
    with services.sessions() as s:
        alert = s.scalars(select(Alert)).one()
    m1, _, _ = read_manifest(services.store, alert.id, 1)
    m2, _, _ = read_manifest(services.store, alert.id, 2)
    assert m2.best_at == T0 + timedelta(seconds=4) and m2.detections[0].confidence == pytest.approx(0.95)
    raw = services.store.get(m2.file("best_raw.jpg").key)
    assert m2.file("best_raw.jpg").sha256 != m1.file("best_raw.jpg").sha256
    decoded = cv2.imdecode(np.frombuffer(raw, np.uint8), cv2.IMREAD_COLOR)
    assert np.abs(decoded.astype(int) - frames[40].astype(int)).mean() < np.abs(
        decoded.astype(int) - frames[30].astype(int)).mean()


def test_a_camera_without_footage_still_gets_frame_evidence(make_services, video):
    services = make_services(CONFIG)
    sink = EvidenceSink(services, EventBus(), clips=FileClips(video, fail=True))
    sink.on_violation(_event(replace(_violation("closed", 3.0, _frames(video)[30]), event_id="ev-2")))
    with services.sessions() as s:
        alert = s.scalars(select(Alert)).one()
        assert s.scalars(select(NotificationDelivery)).all() == []
    manifest, _, _ = read_manifest(services.store, alert.id)
    assert {f.name for f in manifest.files} == {"best_raw.jpg", "best_annotated.jpg"} and not alert.ongoing
