"""Fragmented MP4 of a camera's own packets for live viewers (PyAV remux: no decode, no encode).

One `FragmentMuxer` turns a run of packets of one codec setup into an init segment (ftyp + moov) and one
moof + mdat fragment per packet. Sample times are the camera's media seconds (`MediaPacket.t_s`) in the stream's
time base, so every fragment's baseMediaDecodeTime continues the timeline across loops, reconnects and new init
segments, and a player's `currentTime` is the same clock the analysis results carry.
"""
from __future__ import annotations

import io
import struct
from dataclasses import dataclass
from typing import Iterator

import av

from vigil.errors import StreamError
from streams.packets import MediaPacket, StreamInfo, has_parameter_sets

# empty_moov: the moov holds no samples, every sample is in a fragment; frag_every_frame: a fragment per packet
# (the muxer writes a packet's fragment when the next packet arrives, so it lags one frame); default_base_moof:
# what Media Source Extensions expect; frag_discont + avoid_negative_ts=disabled: tfdt is the packet's own time
# instead of being shifted to start at zero.
MUX_OPTIONS = {"movflags": "empty_moov+default_base_moof+frag_every_frame+frag_discont",
               "avoid_negative_ts": "disabled", "flush_packets": "1"}
INIT_BOXES = (b"ftyp", b"moov")


@dataclass(frozen=True)
class Segment:
    """A piece of the fMP4 stream: the init segment or one media fragment (moof + mdat of one packet)."""

    kind: str  # init | media
    data: bytes
    keyframe: bool = False  # media: the fragment's sample is a keyframe (a viewer may start here)
    t_s: float = 0.0  # media: the packet's camera media time
    codec: str = ""  # init: the RFC 6381 codecs string (avc1.64001f) for MediaSource.isTypeSupported
    width: int = 0
    height: int = 0


def top_boxes(data: bytes) -> Iterator[tuple[bytes, bytes]]:
    """(type, whole box) of each top-level ISO BMFF box in `data`."""
    i = 0
    while i + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[i:i + 8])
        if size == 1:
            size = struct.unpack(">Q", data[i + 8:i + 16])[0]
        elif size == 0:
            size = len(data) - i
        if size < 8 or i + size > len(data):
            raise StreamError(f"fMP4: expected a whole box at byte {i}, found a {kind!r} box of size {size} in "
                              f"{len(data)} bytes")
        yield kind, data[i:i + size]
        i += size


def codec_string(init: bytes) -> str:
    """The RFC 6381 codecs parameter of an init segment's sample entry (avc1.PPCCLL, or hvc1/hev1 for H.265)."""
    i = init.find(b"avcC")
    if i >= 0:
        profile, compat, level = init[i + 5], init[i + 6], init[i + 7]
        avc = "avc3" if init.find(b"avc3") >= 0 else "avc1"
        return f"{avc}.{profile:02x}{compat:02x}{level:02x}"
    i = init.find(b"hvcC")
    if i >= 0:
        c = init[i + 4:i + 4 + 23]
        space, tier, idc = c[1] >> 6, (c[1] >> 5) & 1, c[1] & 0x1F
        flags = int.from_bytes(c[2:6], "big")
        flags = int(f"{flags:032b}"[::-1], 2)  # the compatibility flags are written bit-reversed
        constraints = c[6:12].rstrip(b"\x00")
        hevc = "hvc1" if init.find(b"hvc1") >= 0 else "hev1"
        parts: list[str] = [hevc, ("", "A", "B", "C")[space] + str(idc), f"{flags:x}", ("L", "H")[tier] + str(c[12])]
        parts += [f"{b:x}" for b in constraints]
        return ".".join(parts)
    raise StreamError("fMP4: expected an avcC or hvcC box in the init segment, found neither")


class _Sink(io.RawIOBase):
    """Where the muxer writes: collects what one mux call produced."""

    def __init__(self):
        super().__init__()
        self.chunks: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, b) -> int:  # type: ignore[override]
        self.chunks.append(bytes(b))
        return len(b)

    def take(self) -> bytes:
        out, self.chunks = b"".join(self.chunks), []
        return out


class FragmentMuxer:
    """fMP4 of one codec setup (codec, size), starting at a keyframe. `add(pkt)` returns the segments now ready:
    the init segment with the first packet, then each packet's fragment when the next packet arrives; `close()`
    returns the last one."""

    def __init__(self, info: StreamInfo):
        self.info = info
        self._sink = _Sink()
        self._out = av.open(self._sink, "w", format="mp4", options=dict(MUX_OPTIONS))
        self._stream = self._out.add_mux_stream(info.codec, width=info.width, height=info.height)
        self._stream.time_base = info.time_base
        self._pending: list[MediaPacket] = []  # muxed packets whose fragment has not come out yet
        self._last_dts: int | None = None
        self._closed = False

    def accepts(self, pkt: MediaPacket) -> bool:
        """Packets of the same codec setup go into this muxer; another setup needs a new init segment."""
        return pkt.info.compat_key == self.info.compat_key and pkt.info.extradata == self.info.extradata

    def add(self, mp: MediaPacket) -> list[Segment]:
        if self._closed:
            raise StreamError("fMP4: a closed muxer got a packet")
        if self._last_dts is None and not mp.keyframe:
            raise StreamError("fMP4: expected the first packet to be a keyframe, found a non-keyframe")
        data = mp.data
        if self._last_dts is None and self.info.extradata and not has_parameter_sets(data, self.info.codec):
            data = self.info.extradata + data  # out-of-band parameter sets (an RTSP SDP): the muxer needs them in
        tb = self.info.time_base
        pts = round(mp.t_s / tb)
        dts = pts - (mp.pts - mp.dts)
        if self._last_dts is not None and dts <= self._last_dts:
            dts = self._last_dts + 1
        self._last_dts = dts
        pkt = av.Packet(data)
        pkt.pts, pkt.dts, pkt.time_base = max(pts, dts), dts, tb
        pkt.is_keyframe = mp.keyframe
        pkt.stream = self._stream
        try:
            self._out.mux(pkt)
        except av.error.FFmpegError as e:
            raise StreamError(f"fMP4: could not remux a {self.info.codec} packet at {mp.t_s:.3f} s: {e}") from None
        self._pending.append(mp)
        return self._segments(self._sink.take())

    def close(self) -> list[Segment]:
        """End the stream: the last packet's fragment (nothing more may be added)."""
        if self._closed:
            return []
        self._closed = True
        try:
            self._out.close()
        except av.error.FFmpegError:
            pass
        return self._segments(self._sink.take())

    def _segments(self, data: bytes) -> list[Segment]:
        out: list[Segment] = []
        init = b""
        moof = b""
        for kind, box in top_boxes(data):
            if kind in INIT_BOXES:
                init += box
            elif kind == b"moof":
                moof = box
            elif kind == b"mdat" and moof:
                mp = self._pending.pop(0)
                out.append(Segment("media", moof + box, mp.keyframe, mp.t_s))
                moof = b""
        if init:
            out.insert(0, Segment("init", init, codec=codec_string(init), width=self.info.width,
                                  height=self.info.height))
        return out
