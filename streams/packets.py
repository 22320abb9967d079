"""Encoded packets as the camera sent them, their stream parameters, and Annex-B NAL unit helpers."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction

# NAL unit types that carry parameter sets: H.264 SPS 7 / PPS 8; H.265 VPS 32 / SPS 33 / PPS 34.
_PARAM_TYPES = {"h264": {7, 8}, "hevc": {32, 33, 34}}


@dataclass(frozen=True)
class StreamInfo:
    """Codec parameters of a run of packets; a change of codec or size starts a new `segment`."""

    segment: int
    codec: str  # FFmpeg codec name: h264 | hevc
    width: int
    height: int
    time_base: Fraction
    extradata: bytes  # Annex-B parameter sets when the container gives them out of band, else b""

    @property
    def compat_key(self) -> tuple:
        """Packets with equal keys can share one MP4 track."""
        return self.codec, self.width, self.height


@dataclass(frozen=True, eq=False)
class MediaPacket:
    """One encoded video packet (Annex-B), stamped on the camera's media timeline."""

    data: bytes
    pts: int  # in info.time_base, the source's own stamp
    dts: int
    t_s: float  # media seconds on this camera's timeline (monotonic across reconnects and loops)
    keyframe: bool
    captured_at: datetime  # UTC
    info: StreamInfo


def is_annexb(data: bytes) -> bool:
    return data[:3] == b"\x00\x00\x01" or data[:4] == b"\x00\x00\x00\x01"


def split_annexb(data: bytes) -> list[bytes]:
    """NAL unit payloads of an Annex-B byte stream (start codes removed, trailing zero bytes trimmed)."""
    starts, i, n = [], 0, len(data)
    while True:
        j = data.find(b"\x00\x00\x01", i)
        if j < 0:
            break
        starts.append(j + 3)
        i = j + 3
    units = []
    for k, s in enumerate(starts):
        end = starts[k + 1] - 3 if k + 1 < len(starts) else n
        unit = data[s:end]
        while unit.endswith(b"\x00") and k + 1 < len(starts):
            unit = unit[:-1]
        if unit:
            units.append(unit)
    return units


def split_length_prefixed(data: bytes, size: int = 4) -> list[bytes]:
    """NAL unit payloads of an MP4 (length-prefixed) sample."""
    units, i = [], 0
    while i + size <= len(data):
        length = int.from_bytes(data[i:i + size], "big")
        units.append(data[i + size:i + size + length])
        i += size + length
    return units


def nal_type(unit: bytes, codec: str) -> int:
    return (unit[0] & 0x1F) if codec == "h264" else ((unit[0] >> 1) & 0x3F)


def has_parameter_sets(data: bytes, codec: str) -> bool:
    wanted = _PARAM_TYPES.get(codec, set())
    return any(nal_type(u, codec) in wanted for u in split_annexb(data) if u)
