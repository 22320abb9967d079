"""Continuous recording over a running supervisor (a real RTSP camera and a looping file camera): segments cut at
keyframes, the camera's own NAL units byte-identical, atomic files in an index that survives a restart, a range
exported across segments, and a writer that drops rather than blocks."""
from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import av
import pytest

from streams.packets import MediaPacket, split_annexb, split_length_prefixed
from streams.segment_export import cut_range
from streams.segment_index import SegmentIndex
from streams.segments import SegmentPolicy, SegmentRecorder
from streams.supervisor import Supervisor
from tests.streams.test_rtsp import wait_for
from tests.streams.test_supervisor import Collect, config_for
from vigil.errors import InputError, NotFoundError


def mp4_samples(path: Path) -> list[tuple[bytes, bool, float]]:
    """(sample, keyframe, seconds) of an MP4's video track, as stored (length-prefixed NAL units)."""
    with av.open(str(path)) as box:
        s = box.streams.video[0]
        return [(bytes(p), bool(p.is_keyframe), float(p.pts * s.time_base)) for p in box.demux(s) if p.size]


def record(sources: dict[str, str], tmp_path: Path, until, policy=SegmentPolicy(segment_s=2.0), timeout=40):
    """Run the cameras with every packet recorded and kept; returns (index, recorder, {camera: packets})."""
    sup = Supervisor(config_for(sources, tmp_path), Collect(), detectors={})
    index = SegmentIndex(tmp_path / "recordings")
    rec = SegmentRecorder(index, policy).start()
    seen: dict[str, list[MediaPacket]] = {c: [] for c in sources}
    sup.start()
    try:
        for cid in sources:
            sup.pipeline(cid).add_packet_listener(rec.listener(cid))
            sup.pipeline(cid).add_packet_listener(seen[cid].append)
        assert wait_for(lambda: until(index), timeout), (index.oldest(limit=50), rec.stats())
    finally:
        sup.stop(timeout=10)
        rec.stop()
    return index, rec, seen


def test_recording_cuts_segments_at_keyframes_with_the_cameras_own_nal_units(rtsp_server, tmp_path):
    server = rtsp_server()
    index, rec, seen = record({"cam": server.url("h264")}, tmp_path,
                              lambda ix: len(ix.oldest("cam")) >= 3)
    segs = index.oldest("cam")
    assert len(segs) >= 3 and rec.stats()["cam"].dropped_segments == 0
    source_units = [u for p in seen["cam"] for u in split_annexb(p.data)]
    recorded = []
    for seg in segs:
        path = tmp_path / "recordings" / seg.path
        assert path.is_file() and path.stat().st_size == seg.bytes and not list(path.parent.glob("*.tmp"))
        samples = mp4_samples(path)
        assert samples[0][1], "a segment starts at a keyframe"
        assert len(samples) == seg.packets
        if seg != segs[-1]:  # the last one is what the stop flushed
            assert 2.0 <= seg.end_s - seg.start_s < 2.0 + 1.5  # the first keyframe after 2 s (GOP 1 s at 10 fps)
        recorded += [u for data, _, _ in samples for u in split_length_prefixed(data)]
    # every recorded NAL unit is the camera's own, byte for byte, in order (the source joins at its first keyframe)
    start = source_units.index(recorded[0])
    assert recorded == source_units[start:start + len(recorded)]
    # consecutive segments meet: no packet lost between them
    for a, b in zip(segs, segs[1:]):
        assert abs((b.start_at - a.end_at).total_seconds()) < 0.25

    reopened = SegmentIndex(tmp_path / "recordings")  # the index survives a restart
    assert [s.id for s in reopened.oldest("cam")] == [s.id for s in segs]
    (tmp_path / "recordings" / segs[0].path).unlink()
    (tmp_path / "recordings" / "cam" / "stray.mp4.tmp").write_bytes(b"half")
    assert reopened.reconcile() == 1 and len(reopened.oldest("cam")) == len(segs) - 1
    assert not (tmp_path / "recordings" / "cam" / "stray.mp4.tmp").exists()
    # a crash between the rename and the insert: the file is there, its row is not; it is indexed again as it was
    lost = segs[1]
    (tmp_path / "recordings" / "cam" / "notes.mp4").write_bytes(b"not a segment")  # left alone
    reopened.remove(lost.id)
    assert reopened.reindex_orphans() == 1 and reopened.reindex_orphans() == 0
    again = reopened.get_path(lost.path)
    assert again is not None and (again.camera_id, again.start_at, again.packets, again.bytes) == \
        (lost.camera_id, lost.start_at.replace(microsecond=lost.start_at.microsecond // 1000 * 1000), lost.packets,
         lost.bytes)
    assert abs(again.duration_s - lost.duration_s) < 0.01


def test_a_range_over_two_segments_exports_as_one_clip_of_its_duration(media, tmp_path):
    index, _, _ = record({"f": str(media.h264_mp4)}, tmp_path, lambda ix: len(ix.oldest("f")) >= 3)
    a, b = index.oldest("f")[:2]
    start, end = a.start_at + timedelta(seconds=1.0), b.start_at + timedelta(seconds=1.0)
    clip = cut_range(index, "f", start, end)
    assert clip.segments[:2] == (a, b) and clip.gaps_s < 0.3
    assert clip.start_at <= start and (start - clip.start_at).total_seconds() <= 1.0  # from the keyframe before
    out = tmp_path / "export.mp4"
    out.write_bytes(clip.data)
    samples = mp4_samples(out)
    assert samples[0][1] and len(samples) == clip.packets
    span = samples[-1][2] - samples[0][2] + 0.1  # one frame at 10 fps
    assert abs(span - clip.duration_s) < 0.15
    assert abs(clip.duration_s - (end - clip.start_at).total_seconds()) < 0.15
    with av.open(str(out)) as box:  # it decodes, frame after frame
        assert sum(1 for _ in box.decode(video=0)) == len(samples)
    for bad, error in (((end, start), InputError), ((end + timedelta(days=1), end + timedelta(days=2)), NotFoundError)):
        with pytest.raises(error):
            cut_range(index, "f", *bad)


def test_a_full_queue_or_a_refused_disk_drops_segments_and_never_blocks(media, tmp_path):
    refused = []

    def may_write(camera_id, size):
        refused.append(size)
        return "recordings disk under the watermark" if len(refused) <= 2 else None

    t0 = time.monotonic()
    index, rec, seen = record({"f": str(media.h264_mp4)}, tmp_path, lambda ix: len(ix.oldest("f")) >= 4,
                              SegmentPolicy(segment_s=1.0))
    assert time.monotonic() - t0 < 30
    index2 = SegmentIndex(tmp_path / "other")
    rec2 = SegmentRecorder(index2, SegmentPolicy(segment_s=1.0, queue_bytes=1), may_write)
    offer = rec2.listener("f")
    t0 = time.monotonic()
    for p in seen["f"]:  # nothing drains the queue: every packet is refused at once, none waits
        offer(p)
    assert time.monotonic() - t0 < 1.0
    assert rec2.stats()["f"].dropped_packets == len(seen["f"])
    rec3 = SegmentRecorder(index2, SegmentPolicy(segment_s=1.0), may_write).start()
    offer = rec3.listener("f")
    for p in seen["f"]:
        offer(p)
    rec3.stop()
    st = rec3.stats()["f"]
    assert st.dropped_segments == 2 and st.segments >= 1 and len(index2.oldest("f")) == st.segments


@pytest.fixture
def small_fs(tmp_path):
    from tests.servers import small_tmpfs

    with small_tmpfs(tmp_path / "small", 2) as mount:
        yield mount


def test_a_full_disk_drops_segments_while_the_camera_reads_on(media, tmp_path, small_fs):
    sup = Supervisor(config_for({"f": str(media.h264_mp4)}, tmp_path), Collect(), detectors={})
    index = SegmentIndex(small_fs / "recordings")
    rec = SegmentRecorder(index, SegmentPolicy(segment_s=1.0)).start()
    sup.start()
    try:
        sup.pipeline("f").add_packet_listener(rec.listener("f"))
        assert wait_for(lambda: len(index.oldest("f")) >= 1, 20)
        with open(small_fs / "filler", "wb") as f:  # the disk fills up
            try:
                while True:
                    f.write(b"\0" * 65536)
                    f.flush()
            except OSError:
                pass
        packets = sup.status()["f"].packets
        assert wait_for(lambda: rec.stats()["f"].dropped_segments >= 2, 20), rec.stats()
        assert "No space left" in rec.stats()["f"].last_error or "could not write" in rec.stats()["f"].last_error
        assert sup.status()["f"].packets > packets + 10 and sup.status()["f"].state == "live"  # analysis goes on
        assert not list((small_fs / "recordings").rglob("*.tmp"))
        written = rec.stats()["f"].segments
        (small_fs / "filler").unlink()  # room again: recording resumes by itself
        assert wait_for(lambda: rec.stats()["f"].segments >= written + 2, 20), rec.stats()
        assert rec.stats()["f"].last_error == ""
        for seg in index.oldest("f"):
            assert (small_fs / "recordings" / seg.path).stat().st_size == seg.bytes
    finally:
        sup.stop(timeout=10)
        rec.stop()
