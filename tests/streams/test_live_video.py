"""Live fMP4: the camera's own NAL units byte-identical, a keyframe first, baseMediaDecodeTime on the camera's
media clock across fragments and a resolution change (a new init segment), the codec string, GOP-dropping queues,
and a feed primed from the ring buffer of a real pipeline."""
from __future__ import annotations

import struct
import subprocess
import threading
import time
from io import BytesIO

import av
import pytest

from streams.live_feed import LiveFeed, QueueLimits, ViewerQueue
from streams.live_mux import FragmentMuxer, Segment, codec_string, top_boxes
from streams.packets import nal_type, split_annexb, split_length_prefixed
from streams.pipeline import CameraPipeline, PipelineConfig
from streams.source import SourceSession, parse_source
from tests.streams.conftest import make_clip


def packets_of(path, base_s: float = 0.0):
    session = SourceSession(parse_source(str(path), as_camera=False), segment=0, base_s=base_s)
    try:
        return list(session.packets(threading.Event()))
    finally:
        session.close()


def child(box: bytes, kind: bytes) -> bytes:
    """The first box of `kind` inside a container box (moof/traf)."""
    for k, b in top_boxes(box[8:]):
        if k == kind:
            return b
    raise AssertionError(f"no {kind!r} in {box[4:8]!r}")


def tfdt_of(fragment: bytes) -> int:
    tfdt = child(child(fragment[:struct.unpack(">I", fragment[:4])[0]], b"traf"), b"tfdt")
    return struct.unpack(">Q", tfdt[12:20])[0] if tfdt[8] == 1 else struct.unpack(">I", tfdt[12:16])[0]


def mdat_payload(fragment: bytes) -> bytes:
    boxes = dict(top_boxes(fragment))
    return boxes[b"mdat"][8:]


def mux_all(packets) -> list[Segment]:
    mux = FragmentMuxer(packets[0].info)
    out = []
    for p in packets:
        out += mux.add(p)
    return out + mux.close()


def test_fmp4_holds_the_cameras_own_nal_units_from_a_keyframe_on_the_camera_clock(tmp_path):
    clip = make_clip(tmp_path / "c.mp4", size="320x180", fps=25, seconds=3, gop=25)
    packets = packets_of(clip, base_s=1000.0)  # a camera that has been running for a while
    segments = mux_all(packets)
    init, media = segments[0], segments[1:]
    assert init.kind == "init" and [k for k, _ in top_boxes(init.data)] == [b"ftyp", b"moov"]
    assert init.codec == codec_string(init.data) and init.codec.startswith("avc1.")
    avcc = init.data[init.data.find(b"avcC") + 4:]
    sps = split_annexb(packets[0].data)[[nal_type(u, "h264") for u in split_annexb(packets[0].data)].index(7)]
    assert init.codec == "avc1." + sps[1:4].hex()  # profile, constraints, level: from the camera's own SPS
    assert avcc[1:4] == sps[1:4]
    assert len(media) == len(packets) and all(s.kind == "media" for s in media)
    assert media[0].keyframe and 5 in [nal_type(u, "h264") for u in split_length_prefixed(mdat_payload(media[0].data))]
    tb = packets[0].info.time_base
    for pkt, seg in zip(packets, media):
        assert [k for k, _ in top_boxes(seg.data)] == [b"moof", b"mdat"]
        # Annex-B start codes became length prefixes; every NAL unit is byte-identical
        assert split_length_prefixed(mdat_payload(seg.data)) == split_annexb(pkt.data)
        assert tfdt_of(seg.data) == round(pkt.t_s / tb)  # baseMediaDecodeTime: the camera's media time
        assert seg.keyframe == pkt.keyframe and seg.t_s == pkt.t_s
    with av.open(BytesIO(init.data + b"".join(s.data for s in media))) as c:  # and it plays
        frames = list(c.decode(video=0))
    assert len(frames) == len(packets) and frames[0].time == pytest.approx(1000.0)


def test_hevc_has_its_codec_string(tmp_path):
    clip = make_clip(tmp_path / "c.mp4", codec="h265", size="320x180", fps=25, seconds=1, gop=25)
    segments = mux_all(packets_of(clip))
    assert segments[0].codec.split(".")[0] in ("hev1", "hvc1") and segments[0].codec.count(".") >= 3
    assert len(segments) == 1 + 25


def test_a_muxer_refuses_to_start_mid_gop(tmp_path):
    packets = packets_of(make_clip(tmp_path / "c.mp4", seconds=1, gop=10))
    with pytest.raises(Exception, match="expected the first packet to be a keyframe"):
        FragmentMuxer(packets[1].info).add(packets[1])


def seg(t: float, key: bool = False, size: int = 1000) -> Segment:
    return Segment("media", b"x" * size, key, t)


def test_a_slow_viewer_loses_whole_gops_never_blocking_the_reader():
    woken = []
    q = ViewerQueue(lambda: woken.append(1), QueueLimits(max_bytes=1 << 20, max_s=0.9))
    q.put(seg(0.0))                                   # a viewer starts at a keyframe: this is dropped
    q.put(Segment("init", b"init", codec="avc1.42e01e"))
    for i in range(10):                               # a GOP of 0.5 s at 20 fps: within the bound
        q.put(seg(i * 0.05, key=i % 10 == 0))
    assert len(woken) == 1 and q.dropped == 1
    for i in range(10, 30):                           # the viewer does not read: 0.9 s behind ...
        q.put(seg(i * 0.05, key=i % 10 == 0))
    got = q.take()
    assert got[0].kind == "init"                      # ... the init that applies is kept
    assert got[1].keyframe and got[1].t_s == pytest.approx(1.0)  # and video resumes at a keyframe
    assert [s.t_s for s in got[1:]] == pytest.approx([i * 0.05 for i in range(20, 30)])
    assert q.drops == 1 and q.dropped == 1 + 20
    q.put(seg(1.5))
    q.put(seg(1.55))
    assert [s.t_s for s in q.take()] == pytest.approx([1.5, 1.55])
    big = ViewerQueue(lambda: None, QueueLimits(max_bytes=2500, max_s=60))
    for i, key in enumerate([True, False, False, False, True]):
        big.put(seg(i, key))
    assert [s.t_s for s in big.take()] == [4]         # the byte bound drops the GOP that did not fit


def run_file(path, **cfg) -> CameraPipeline:
    return CameraPipeline("c", parse_source(str(path), as_camera=False),
                          PipelineConfig(detect_fps=10, detect_size=(160, 90), pre_roll_s=30, queue_size=1000, **cfg))


def test_a_resolution_change_sends_a_new_init_and_the_clock_goes_on(tmp_path):
    a = make_clip(tmp_path / "a.mp4", size="320x180", seconds=2)
    b = make_clip(tmp_path / "b.mp4", size="256x144", seconds=2)
    lst = tmp_path / "list.txt"
    lst.write_text(f"file '{a}'\nfile '{b}'\n")
    ts = tmp_path / "joined.ts"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-f", "concat", "-safe", "0", "-i", str(lst), "-c", "copy",
                    "-bsf:v", "h264_mp4toannexb", "-f", "mpegts", str(ts)], check=True)
    pipe = run_file(ts)
    feed = LiveFeed(pipe, QueueLimits(max_s=60))  # the file is read flat-out: let this viewer hold all of it
    viewer = feed.join(lambda: None)
    assert feed.running and feed.viewers == 1
    pipe.start()
    assert pipe.finished.wait(30)
    got = viewer.take()
    assert feed.leave(viewer) and not feed.running and not pipe._listeners  # the last viewer removes the tap
    inits = [i for i, s in enumerate(got) if s.kind == "init"]
    assert len(inits) == 2 and [got[i].width for i in inits] == [320, 256]
    assert all(got[i + 1].keyframe for i in inits)  # each setup starts at a keyframe
    assert len(got) - 2 == len(packets_of(ts)) - 1  # every packet, but the newest (its fragment lags one packet)
    times = [tfdt_of(s.data) for s in got if s.kind == "media"]
    assert all(y > x for x, y in zip(times, times[1:]))  # baseMediaDecodeTime goes on across the new init


def test_a_viewer_joining_a_live_camera_starts_at_the_rings_newest_keyframe(tmp_path):
    clip = make_clip(tmp_path / "c.mp4", size="320x180", fps=25, seconds=4, gop=25)
    pipe = CameraPipeline("c", parse_source(str(clip), as_camera=True),  # paced and looping, like a camera
                          PipelineConfig(detect_fps=1, detect_size=(160, 90), pre_roll_s=3))
    pipe.start()
    try:
        deadline = time.monotonic() + 20
        while (pipe.ring.newest_s or 0) < 1.5 and time.monotonic() < deadline:
            time.sleep(0.05)
        feed = LiveFeed(pipe)
        newest = pipe.ring.newest_s
        first = feed.join(lambda: None)
        at_once = first.take()  # no waiting for the next keyframe: the ring's GOP is there already
        assert at_once[0].kind == "init" and at_once[1].keyframe and len(at_once) >= 2
        assert newest - 1.0 - 1e-6 <= at_once[1].t_s <= newest  # the newest keyframe (GOP 1 s)
        time.sleep(0.5)
        later = feed.join(lambda: None)  # a second viewer shares the muxer: init and the current GOP at once
        second = later.take()
        assert second[0].data == at_once[0].data and second[1].keyframe
        live: list[Segment] = []
        deadline = time.monotonic() + 10
        while len(live) < 25 and time.monotonic() < deadline:  # a second of live packets follows
            time.sleep(0.1)
            live += first.take()
        assert len(live) >= 25 and all(s.kind == "media" for s in live)
        assert [round(s.t_s * 25) for s in live] == list(range(round(live[0].t_s * 25), round(live[0].t_s * 25) +
                                                                len(live)))  # every packet, in order
        assert not feed.leave(first) and feed.leave(later) and not pipe._listeners
    finally:
        pipe.stop()
