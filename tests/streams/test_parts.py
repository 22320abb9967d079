"""Ring buffer bounds and pins, drop-oldest hand-off, backoff, mid-stream size change, the analyze command."""
from __future__ import annotations

import json
import subprocess
import threading
from datetime import datetime, timezone
from fractions import Fraction

import pytest

from streams.decoder import FrameDecoder
from streams.handoff import DropOldestQueue
from streams.packets import MediaPacket, StreamInfo
from streams.ring import PacketRing
from streams.source import SourceSession, parse_source
from streams.status import Backoff
from tests.streams.conftest import lab_config, make_clip, make_fire_video

INFO = StreamInfo(0, "h264", 320, 180, Fraction(1, 90000), b"")
T0 = datetime(2025, 1, 1, tzinfo=timezone.utc)


def pkt(t: float, key: bool, size: int = 100) -> MediaPacket:
    return MediaPacket(b"\0" * size, int(t * 90000), int(t * 90000), t, key, T0, INFO)


def feed(ring: PacketRing, seconds: float, fps: int = 10, gop: int = 10, size: int = 100) -> None:
    for i in range(int(seconds * fps)):
        ring.push(pkt(i / fps, i % gop == 0, size))


@pytest.mark.parametrize("pre_roll,max_bytes,oldest,first_key", [
    (2.0, 10**9, 7.0, True),    # time bound: from the keyframe at or before newest - pre-roll (9.9 - 2 = 7.9)
    (0.0, 10**9, 9.0, True),    # no pre-roll: still from the last keyframe
    (5.0, 1500, 9.0, True),     # byte bound wins (15 packets), and the ring restarts at a keyframe
])
def test_ring_is_bounded_by_time_and_bytes(pre_roll, max_bytes, oldest, first_key):
    ring = PacketRing(pre_roll, max_bytes)
    feed(ring, 10)
    assert ring.oldest_s == pytest.approx(oldest)
    assert ring.nbytes <= max_bytes
    assert ring.span(0, 100).packets[0].keyframe is first_key


def test_pin_holds_footage_until_released_past_its_time():
    ring = PacketRing(1.0, 10**9)
    feed(ring, 3)
    ring.pin("ev", 1.0)
    for i in range(30, 80):
        ring.push(pkt(i / 10, i % 10 == 0))
    assert ring.oldest_s == pytest.approx(1.0)
    span = ring.span(1.2, 6.0)
    assert span.packets[0].t_s == pytest.approx(1.0) and not span.truncated
    ring.release("ev", after_s=8.0)
    ring.push(pkt(8.0, True))
    assert ring.oldest_s == pytest.approx(1.0)  # not yet past 8.0
    ring.push(pkt(8.1, False))
    assert ring.oldest_s == pytest.approx(7.0)


def test_span_is_truncated_when_footage_is_missing():
    ring = PacketRing(1.0, 10**9)
    feed(ring, 5)
    assert ring.span(0.0, 4.0).truncated  # start evicted
    assert ring.span(3.5, 9.0).truncated  # end not yet recorded
    assert not ring.span(3.5, 4.5).truncated


def test_drop_oldest_queue_never_blocks_and_counts():
    q = DropOldestQueue(2)
    assert [q.put(i) for i in range(5)] == [0, 0, 1, 1, 1]
    assert q.dropped == 3 and q.get(0) == 3 and q.get(0) == 4 and q.get(0.01) is None


def test_backoff_grows_with_jitter_and_caps_at_30s():
    import random

    b = Backoff(0.5, 30.0, rng=random.Random(1))
    delays = [b.next_delay() for _ in range(12)]
    assert delays[0] <= 0.5 and max(delays) <= 30.0 and delays[-1] >= 15.0
    assert len(set(delays)) == len(delays)  # jittered
    b.reset()
    assert b.next_delay() <= 0.5


def test_resolution_change_mid_stream_starts_a_new_segment(tmp_path):
    a = make_clip(tmp_path / "a.mp4", size="320x180", seconds=2)
    b = make_clip(tmp_path / "b.mp4", size="256x144", seconds=2)
    lst = tmp_path / "list.txt"
    lst.write_text(f"file '{a}'\nfile '{b}'\n")
    ts = tmp_path / "joined.ts"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-f", "concat", "-safe", "0", "-i", str(lst), "-c", "copy",
                    "-bsf:v", "h264_mp4toannexb", "-f", "mpegts", str(ts)], check=True)
    from streams.pipeline import CameraPipeline, PipelineConfig

    pipe = CameraPipeline("c", parse_source(str(ts), as_camera=False),
                          PipelineConfig(detect_fps=10, detect_size=(160, 90), pre_roll_s=30, queue_size=100))
    pipe.start()
    assert pipe.finished.wait(30)
    frames = []
    while (f := pipe.frames.get(0)) is not None:
        frames.append(f)
    sizes = [f.source_size for f in frames]
    assert sizes[0] == (320, 180) and sizes[-1] == (256, 144)
    assert all(f.image.shape == (90, 160, 3) for f in frames)
    before, after = pipe.ring.span(0, 3.9), pipe.ring.span(2.5, 3.9)
    assert {p.info.width for p in before.packets} == {320} and before.truncated
    assert {p.info.width for p in after.packets} == {256} and not after.truncated
    assert after.packets[0].info.segment > before.packets[0].info.segment
    span = pipe.ring.span(1.0, 3.5)
    assert span.truncated and {p.info.width for p in span.packets} == {320}  # one MP4 track, one setup
    assert pipe.status().state == "offline"



def test_packet_listeners_see_every_packet_and_a_failing_one_is_dropped(tmp_path):
    clip = make_clip(tmp_path / "a.mp4", size="320x180", seconds=2)
    from streams.pipeline import CameraPipeline, PipelineConfig

    pipe = CameraPipeline("c", parse_source(str(clip), as_camera=False),
                          PipelineConfig(detect_fps=2, detect_size=(160, 90), pre_roll_s=30, queue_size=100))
    seen: list[MediaPacket] = []
    calls = {"bad": 0}

    def bad(_pkt):
        calls["bad"] += 1
        raise RuntimeError("viewer went away")

    pipe.add_packet_listener(seen.append)
    pipe.add_packet_listener(bad)
    removed: list[MediaPacket] = []
    pipe.add_packet_listener(removed.append)()  # removed at once: never called
    pipe.start()
    assert pipe.finished.wait(30)
    assert len(seen) == pipe.status().packets > 0 and [p.t_s for p in seen] == sorted(p.t_s for p in seen)
    assert calls["bad"] == 1 and removed == []  # the failing listener was removed; the camera read on


@pytest.mark.slow
def test_vigil_analyze_prints_one_json_line_per_violation(tmp_path, toy_onnx):
    import typer
    from typer.testing import CliRunner

    from api.cli_streams import register

    video = make_fire_video(tmp_path / "fire.mp4")
    cfg = tmp_path / "vigil.yaml"
    loaded = lab_config(tmp_path, toy_onnx)
    cfg.write_text(loaded.config.model_dump_json())  # JSON is YAML
    app = typer.Typer()
    register(app)

    @app.command("noop")
    def noop() -> None:  # a second command keeps `analyze` a subcommand, as in `vigil`
        pass

    res = CliRunner().invoke(app, ["analyze", str(video), "--profile", "lab", "--config", str(cfg),
                                   "--out", str(tmp_path / "out"), "--duration", "9.5"])
    assert res.exit_code == 0, res.output
    lines = [json.loads(x) for x in res.stdout.splitlines() if x.strip()]
    assert [r["rule"] for r in lines] == ["lab_fire"]
    assert set(lines[0]["evidence"]) >= {"clip.mp4", "best_raw.jpg", "best_annotated.jpg", "manifest"}
    assert lines[0]["started_at"].endswith("Z")

    truth = tmp_path / "ground_truth.json"
    truth.write_text(json.dumps([{"rule": "lab_fire", "start": 0.0, "end": 9.5},
                                 {"rule": "lab_no_coat", "start": 2.0, "end": 5.0}]))
    res = CliRunner().invoke(app, ["analyze", str(video), "--profile", "lab", "--config", str(cfg),
                                   "--duration", "9.5", "--ground-truth", str(truth)])
    assert res.exit_code == 0, res.output
    score = json.loads(res.stderr.strip().splitlines()[-1])["ground_truth"]
    assert (score["tp"], score["fp"], score["miss"], score["recall"]) == (1, 0, 1, 0.5)
    assert score["seconds"] == pytest.approx(9.5) and score["false_per_hour"] == 0.0
    # a violation the video cuts short is optional: an event on it is neither found nor false
    truth.write_text(json.dumps([{"rule": "lab_fire", "start": 6.0, "end": 9.5, "optional": True}]))
    res = CliRunner().invoke(app, ["analyze", str(video), "--profile", "lab", "--config", str(cfg),
                                   "--duration", "9.5", "--ground-truth", str(truth)])
    score = json.loads(res.stderr.strip().splitlines()[-1])["ground_truth"]
    assert (score["expected"], score["tp"], score["fp"], score["miss"]) == (0, 0, 0, 0)
    truth.write_text(json.dumps({"rule": "lab_fire"}))
    res = CliRunner().invoke(app, ["analyze", str(video), "--profile", "lab", "--config", str(cfg),
                                   "--ground-truth", str(truth)])
    assert res.exit_code == 2 and 'expected a JSON list of {"rule"' in res.output
    # a second-look classifier that is not one says so, and nothing is printed as found
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"no model")
    res = CliRunner().invoke(app, ["analyze", str(video), "--profile", "lab", "--config", str(cfg),
                                   "--second-look", str(junk)])
    assert res.exit_code != 0 and res.stdout == ""
    assert "expected an ONNX model ONNX Runtime can load" in str(res.exception)
