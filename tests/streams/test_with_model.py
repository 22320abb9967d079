"""The pipeline with a real (tiny) ONNX model: offline analysis with evidence, and the supervisor live."""
from __future__ import annotations

import hashlib
import io
import threading

import av
import pytest

from streams.analyze import analyze_source
from streams.packets import has_parameter_sets, split_length_prefixed
from streams.supervisor import Supervisor
from tests.streams.conftest import lab_config, make_fire_video
from tests.streams.test_rtsp import wait_for
from vigil.catalogue import DetClass
from vigil.evidence import verify_evidence
from vigil.signing import Signer
from vigil.store.local import LocalStore
from vigil.types import ClipRequest


def _nal_hashes(data: bytes, codec: str = "h264") -> list[str]:
    with av.open(io.BytesIO(data)) as c:
        out = []
        for p in c.demux(c.streams.video[0]):
            if p.size:
                units = [u for u in split_length_prefixed(bytes(p)) if not has_parameter_sets(b"\0\0\1" + u, codec)]
                out.append(hashlib.sha256(b"".join(units)).hexdigest())
        return out


@pytest.mark.slow
def test_analyze_finds_the_fire_and_writes_verifiable_evidence(tmp_path, toy_onnx):
    video = make_fire_video(tmp_path / "fire.mp4")
    loaded = lab_config(tmp_path, toy_onnx)
    out = tmp_path / "out"
    records = list(analyze_source(str(video), profile="lab", loaded=loaded, out_dir=out))
    fires = [r for r in records if r["rule"] == "lab_fire"]
    assert len(fires) == 1, records
    fire = fires[0]
    assert fire["closed"] is True
    assert 1.5 <= fire["start"] <= 3.5 and 6.0 <= fire["end"] <= 8.0
    assert fire["detections"] and fire["detections"][0]["class_name"] == DetClass.FIRE.value
    ev = fire["evidence"]
    for name in ("best_raw.jpg", "best_annotated.jpg", "clip.mp4", "manifest"):
        assert (tmp_path / ev[name]).is_file(), name
    clip = (tmp_path / ev["clip.mp4"]).read_bytes()
    source = _nal_hashes(video.read_bytes())
    got = _nal_hashes(clip)
    first = source.index(got[0])
    assert source[first:first + len(got)] == got  # a contiguous run of the source's own packets, unchanged
    assert len(got) >= (fire["end"] - fire["start"] + 2.0) * 10  # the event plus both rolls, at 10 fps
    assert ev["clip_truncated"] is False
    signer = Signer.load_or_create(loaded.data_dir / "keys" / "evidence-ed25519.pem")
    report = verify_evidence(LocalStore(out), fire["event_id"], signer.public_key_pem())
    assert report.ok, report.problems


class ClipSink:
    def __init__(self, sup_ref):
        self.sup_ref = sup_ref
        self.events = []
        self.clips = []
        self.done = threading.Event()

    def on_violation(self, event) -> None:
        self.events.append(event)
        v = event.violation
        if v.phase == "closed":
            req = ClipRequest(v.camera_id, v.event_id, v.start_s, v.end_s, 1.0, 1.0)
            self.clips.append(self.sup_ref[0].cut_clip(req, timeout=15))
            self.done.set()


@pytest.mark.slow
def test_supervisor_detects_live_and_cuts_the_clip(tmp_path, toy_onnx, rtsp_server):
    from tests.streams.conftest import to_ts

    video = make_fire_video(tmp_path / "fire.mp4", seconds=12)
    server = rtsp_server()
    server.stop()
    server.mounts = {"fire": (to_ts(video), "h264")}
    server.start()
    loaded = lab_config(tmp_path, toy_onnx, source=server.url("fire"))
    ref = [None]
    sink = ClipSink(ref)
    sup = Supervisor(loaded, sink)
    ref[0] = sup
    sup.start()
    try:
        assert sink.done.wait(40), [e.violation.phase for e in sink.events]
        phases = [e.violation.phase for e in sink.events if e.violation.rule == "lab_fire"]
        assert phases[0] == "open" and phases[-1] == "closed"
        opened = next(e for e in sink.events if e.violation.phase == "open")
        assert opened.annotated is not None and opened.annotated.shape == (96, 96, 3)
        assert opened.site_id == "lab1" and opened.profile == "lab"
        clip = sink.clips[0]
        closed = next(e.violation for e in sink.events if e.violation.phase == "closed")
        assert clip.packets >= 40 and not clip.truncated, (closed.start_s, closed.end_s, clip.start_s, clip.end_s)
        assert sup.latest("cam1").detected or sup.latest("cam1").frame is not None
    finally:
        sup.stop()
