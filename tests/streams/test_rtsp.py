"""The camera pipeline against a real GStreamer RTSP server: fps, keyframe-only decode, stalls, H.265, clips."""
from __future__ import annotations

import hashlib
import io
import statistics
import time

import av
import pytest

from streams.packets import split_annexb, split_length_prefixed
from streams.pipeline import CameraPipeline, PipelineConfig
from streams.source import parse_source
from vigil.types import ClipRequest


def wait_for(pred, timeout: float, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(step)
    return pred()


def collect(pipe: CameraPipeline, n: int, timeout: float = 20.0) -> list:
    frames, deadline = [], time.monotonic() + timeout
    while len(frames) < n and time.monotonic() < deadline:
        f = pipe.frames.get(timeout=0.5)
        if f is not None:
            frames.append(f)
    return frames


def make_pipe(url: str, **cfg) -> CameraPipeline:
    defaults = dict(detect_fps=5.0, detect_size=(160, 90), pre_roll_s=3.0, queue_size=64, backoff_base_s=0.2)
    defaults.update(cfg)
    return CameraPipeline("cam1", parse_source(url), PipelineConfig(**defaults))


@pytest.fixture
def pipes():
    made: list[CameraPipeline] = []
    yield made
    for p in made:
        assert p.stop(10), "reader thread did not end"


def nal_hashes_annexb(packets) -> list[str]:
    return [hashlib.sha256(b"".join(split_annexb(p.data))).hexdigest() for p in packets]


def nal_hashes_mp4(data: bytes) -> list[str]:
    with av.open(io.BytesIO(data)) as c:
        return [hashlib.sha256(b"".join(split_length_prefixed(bytes(p)))).hexdigest()
                for p in c.demux(c.streams.video[0]) if p.size]


@pytest.mark.parametrize("fps", [5.0, 2.5])
def test_frames_arrive_at_the_asked_fps(rtsp_server, pipes, fps):
    server = rtsp_server()
    pipe = make_pipe(server.url("h264"), detect_fps=fps)
    pipes.append(pipe)
    pipe.start()
    frames = collect(pipe, 8)
    assert len(frames) == 8, pipe.status()
    gaps = [b.pts_s - a.pts_s for a, b in zip(frames, frames[1:])]
    assert statistics.median(gaps) == pytest.approx(1 / fps, abs=0.06)
    assert all(f.image.shape == (90, 160, 3) for f in frames)
    assert frames[0].source_size == (320, 180)
    assert pipe.decoder.mode == "all"  # GOP 1 s is too sparse for these rates: decode and drop
    assert pipe.status().state == "live"


def test_keyframe_only_decodes_only_keyframes(rtsp_server, pipes):
    server = rtsp_server()
    pipe = make_pipe(server.url("h264"), detect_fps=1.0)
    pipes.append(pipe)
    pipe.start()
    frames = collect(pipe, 6)
    assert len(frames) == 6
    st = pipe.status()
    assert pipe.decoder.mode == "keyframes"
    assert all(f.keyframe for f in frames[2:])
    # Until the second keyframe tells the GOP length, every frame is decoded (no blind start); then only
    # keyframes reach the decoder: at most one GOP (10 packets) more than the keyframes seen.
    assert st.decoded <= pipe.decoder.keyframes + 10
    assert st.packets >= 2.5 * st.decoded  # GOP of 10 packets: most packets were never decoded


def test_killed_server_marks_stalled_then_recovers_in_process(rtsp_server, pipes):
    server = rtsp_server()
    pipe = make_pipe(server.url("h264"))
    pipes.append(pipe)
    pipe.start()
    assert wait_for(lambda: pipe.status().state == "live", 15), pipe.status()
    server.stop()
    killed = time.monotonic()
    assert wait_for(lambda: pipe.status().state in ("stalled", "reconnecting", "connecting"), 5.0), pipe.status()
    assert time.monotonic() - killed <= 5.5
    assert pipe.status().last_error
    server.start()
    assert wait_for(lambda: pipe.status().state == "live", 20), pipe.status()
    st = pipe.status()
    assert st.reconnects >= 1
    before = st.decoded
    assert wait_for(lambda: pipe.status().decoded > before, 10)


def test_silent_server_is_detected_and_password_redacted(silent_server, pipes):
    url = silent_server.url("cam").replace("rtsp://", "rtsp://admin:hunter2secret@")
    pipe = make_pipe(url)
    pipes.append(pipe)
    pipe.start()
    assert wait_for(lambda: pipe.status().last_error != "", 8.0), pipe.status()
    st = pipe.status()
    assert st.state in ("reconnecting", "connecting")
    assert st.packets == 0 and st.decoded == 0
    assert "hunter2secret" not in st.last_error
    assert "***" in st.last_error


@pytest.mark.parametrize("mount,codec", [("h264", "h264"), ("h265", "hevc")])
def test_clip_nal_units_are_byte_identical_to_what_the_camera_sent(rtsp_server, pipes, media, mount, codec):
    server = rtsp_server()
    pipe = make_pipe(server.url(mount), pre_roll_s=2.0)
    pipes.append(pipe)
    pipe.start()
    frames = collect(pipe, 12)
    assert len(frames) == 12
    t = frames[-1].pts_s
    pipe.pin("test", t - 3.0)  # keep what the clip covers, to compare with afterwards
    request = ClipRequest("cam1", "ev1", start_s=t - 0.5, end_s=t, pre_roll_s=1.0, post_roll_s=1.0)
    clip = pipe.cut_clip(request, timeout=10)
    assert not clip.truncated
    assert clip.start_s <= t - 1.5 and clip.end_s >= t + 0.9
    span = pipe.ring.span(t - 1.5, t + 1.0)
    assert (span.packets[0].t_s, span.packets[-1].t_s, len(span.packets)) == (clip.start_s, clip.end_s, clip.packets)
    assert span.packets[0].keyframe and span.packets[0].info.codec == codec
    assert nal_hashes_mp4(clip.data) == nal_hashes_annexb(span.packets)
    # and those NAL units are the source file's own
    ts = media.h264_ts if mount == "h264" else media.h265_ts
    with av.open(str(ts)) as c:
        source_units = {u for p in c.demux(c.streams.video[0]) if p.size for u in split_annexb(bytes(p))}
    assert all(u in source_units for p in span.packets for u in split_annexb(p.data))
    with av.open(io.BytesIO(clip.data)) as c:
        assert c.streams.video[0].codec_context.name == codec
        assert sum(1 for _ in c.decode(video=0)) >= clip.packets - 1
