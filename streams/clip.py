"""Clip writer: remux a camera's own packets into MP4 (faststart), no decode and no encode."""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import av

from vigil.errors import StreamError
from streams.packets import MediaPacket, has_parameter_sets


@dataclass(frozen=True)
class ClipResult:
    """An MP4 clip of the camera's own packets; times are media seconds of the first and last packet."""

    data: bytes
    start_s: float
    end_s: float
    packets: int
    truncated: bool


def remux_mp4(packets: Sequence[MediaPacket], *, tmp_dir: Path | None = None) -> bytes:
    """MP4 bytes holding exactly these packets' NAL units (Annex-B start codes become length prefixes).

    Timestamps are rewritten from the camera timeline so loops and reconnects stay monotonic; when the
    first keyframe lacks in-band parameter sets, the source's out-of-band ones (the SDP's) are put in front.
    """
    if not packets:
        raise StreamError("expected at least one packet to write a clip, found none")
    if not packets[0].keyframe:
        raise StreamError("expected a clip to start at a keyframe, found a non-keyframe first")
    info = packets[0].info
    fd, tmp = tempfile.mkstemp(suffix=".mp4", prefix="vigil-clip-", dir=tmp_dir)
    os.close(fd)
    try:
        _write(packets, tmp)
        return Path(tmp).read_bytes()
    except (av.error.FFmpegError, OSError) as e:
        raise StreamError(f"could not write an MP4 clip of {len(packets)} {info.codec} packets: {e}") from None
    finally:
        Path(tmp).unlink(missing_ok=True)


def write_mp4_file(packets: Sequence[MediaPacket], path: Path) -> None:
    """Write these packets as an MP4 file at `path` (the same muxing as `remux_mp4`; continuous recording)."""
    if not packets or not packets[0].keyframe:
        raise StreamError("expected a segment to start at a keyframe, found "
                          + ("no packets" if not packets else "a non-keyframe first"))
    try:
        _write(packets, str(path))
    except (av.error.FFmpegError, OSError) as e:
        raise StreamError(f"could not write an MP4 segment of {len(packets)} {packets[0].info.codec} packets to "
                          f"{path}: {e}") from None


def _write(packets: Sequence[MediaPacket], path: str) -> None:
    info = packets[0].info
    tb = info.time_base
    out = av.open(path, "w", format="mp4", options={"movflags": "faststart"})
    try:
        stream = out.add_mux_stream(info.codec, width=info.width, height=info.height)
        stream.time_base = tb
        t0 = packets[0].t_s
        last_dts = None
        for i, mp in enumerate(packets):
            data = mp.data
            if i == 0 and info.extradata and not has_parameter_sets(data, info.codec):
                data = info.extradata + data  # the mp4 muxer builds avcC/hvcC from the first sample
            pts = round((mp.t_s - t0) / tb)
            dts = pts - (mp.pts - mp.dts)
            if last_dts is not None and dts <= last_dts:
                dts = last_dts + 1
            pts = max(pts, dts)
            last_dts = dts
            pkt = av.Packet(data)
            pkt.pts, pkt.dts, pkt.time_base = pts, dts, tb
            pkt.is_keyframe = mp.keyframe
            pkt.stream = stream
            out.mux(pkt)
    finally:
        out.close()


def cut_from_ring(ring, camera_id: str, request, timeout: float) -> ClipResult:
    """A camera's own packets over the request's padded span from its ring (a `streams.ring.PacketRing`); blocks
    until the post-roll is buffered, the source ended, or `timeout`. Used live (the pipeline) and offline."""
    start = request.start_s - request.pre_roll_s
    end = request.end_s + request.post_roll_s
    hold = f"clip:{request.event_id}:{id(request)}"
    ring.pin(hold, start)  # keep the pre-roll while waiting for the post-roll
    try:
        arrived = ring.wait_until(end, timeout)
        span = ring.span(start, end)
    finally:
        ring.release(hold)
    if not span.packets:
        raise StreamError(f"camera {camera_id}: expected buffered footage for {start:.2f}-{end:.2f} s, "
                          f"found none (buffer holds {ring.duration_s():.2f} s)")
    data = remux_mp4(span.packets)
    return ClipResult(data=data, start_s=span.packets[0].t_s, end_s=span.packets[-1].t_s,
                      packets=len(span.packets), truncated=span.truncated or not arrived)
