"""A range of recorded footage as one MP4: the segments' own packets over the range, remuxed, never re-encoded."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction
from pathlib import Path

import av

from streams.clip import remux_mp4
from streams.packets import MediaPacket, StreamInfo
from streams.segment_index import Segment, SegmentIndex
from vigil.errors import InputError, NotFoundError, StreamError


@dataclass(frozen=True)
class RangeClip:
    """The exported MP4 and what it holds: from the keyframe at or before the range's start to its end."""

    data: bytes
    camera_id: str
    start_at: datetime  # wall-clock of the first packet (a keyframe at or before the asked start)
    end_at: datetime  # ... of the last packet plus one frame
    packets: int
    segments: tuple[Segment, ...]
    gaps_s: float  # seconds of the range no segment covers (a dropped segment, the camera down)

    @property
    def duration_s(self) -> float:
        return (self.end_at - self.start_at).total_seconds()


@dataclass(frozen=True)
class _Timed:
    at: datetime
    pkt: MediaPacket


def read_segment(path: Path, seg: Segment) -> list[_Timed]:
    """A segment's packets back as Annex-B, each with its wall-clock time (the segment's start + media offset)."""
    try:
        with av.open(str(path)) as box:
            stream = box.streams.video[0]
            ctx = stream.codec_context
            tb = Fraction(stream.time_base or Fraction(1, 90000))
            info = StreamInfo(segment=0, codec=ctx.name, width=ctx.width, height=ctx.height, time_base=tb,
                              extradata=b"")
            bsf = av.bitstream.BitStreamFilterContext(f"{ctx.name}_mp4toannexb", stream)
            out: list[_Timed] = []
            first = None
            for raw in box.demux(stream):
                for pkt in bsf.filter(raw):
                    if pkt.size == 0 or pkt.pts is None:
                        continue
                    first = pkt.pts if first is None else first
                    offset = float((pkt.pts - first) * tb)
                    dts = pkt.dts if pkt.dts is not None else pkt.pts
                    mp = MediaPacket(bytes(pkt), pkt.pts, dts, offset, bool(pkt.is_keyframe),
                                     seg.start_at + timedelta(seconds=offset), info)
                    out.append(_Timed(mp.captured_at, mp))
            return out
    except (av.error.FFmpegError, OSError, IndexError) as e:
        raise StreamError(f"recorded segment {seg.path}: could not be read ({e})") from None


def cut_range(index: SegmentIndex, camera_id: str, start: datetime, end: datetime) -> RangeClip:
    """The camera's recorded packets from `start` to `end` as one MP4 (a 404 when no segment covers the range)."""
    if end <= start:
        raise InputError(f"expected the range's end after its start, found {start.isoformat()} to {end.isoformat()}")
    segs = index.between(camera_id, start, end)
    if not segs:
        raise NotFoundError(f"camera {camera_id!r} has no recorded footage between {start.isoformat()} and "
                            f"{end.isoformat()}")
    chosen: list[_Timed] = []
    for seg in segs:
        timed = read_segment(index.root / seg.path, seg)
        if not chosen:  # begin at the last keyframe at or before the start, so the clip plays from its first frame
            keys = [i for i, t in enumerate(timed) if t.pkt.keyframe and t.at <= start] or [0]
            timed = timed[keys[-1]:]
        chosen += [t for t in timed if t.at < end]
    if not chosen:
        raise NotFoundError(f"camera {camera_id!r}: the segments over {start.isoformat()}-{end.isoformat()} hold "
                            "no packets")
    kinds = {t.pkt.info.compat_key for t in chosen}
    if len(kinds) > 1:
        raise InputError(f"camera {camera_id!r} changed codec or size within the range ({sorted(kinds)}); export "
                         "the parts before and after the change separately")
    return RangeClip(data=remux_mp4(_restamp(chosen)), camera_id=camera_id, start_at=chosen[0].at,
                     end_at=chosen[-1].at + _frame(chosen), packets=len(chosen), segments=tuple(segs),
                     gaps_s=_gaps(segs, max(start, segs[0].start_at), min(end, segs[-1].end_at)))


def _frame(chosen: list[_Timed]) -> timedelta:
    if len(chosen) < 2:
        return timedelta(0)
    return (chosen[-1].at - chosen[0].at) / (len(chosen) - 1)


def _restamp(chosen: list[_Timed]) -> list[MediaPacket]:
    """One timeline for packets from many segments: media seconds since the first packet, by wall-clock."""
    info = chosen[0].pkt.info
    t0 = chosen[0].at
    out = []
    for t in chosen:
        src = t.pkt
        t_s = (t.at - t0).total_seconds()
        pts = round(t_s / info.time_base)
        dts = pts - round((src.pts - src.dts) * src.info.time_base / info.time_base)
        out.append(MediaPacket(src.data, pts, dts, t_s, src.keyframe, t.at, info))
    return out


def _gaps(segs: list[Segment], start: datetime, end: datetime) -> float:
    gap, cursor = 0.0, start
    for seg in segs:
        if seg.start_at > cursor:
            gap += (seg.start_at - cursor).total_seconds()
        cursor = max(cursor, seg.end_at)
    return gap + max(0.0, (end - cursor).total_seconds())
