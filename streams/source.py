"""Sources: RTSP cameras, local files (looped and paced as a camera, flat-out when analysed), demo scenes."""
from __future__ import annotations

import re

import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Callable, Iterator

import av

from vigil.errors import SourceConnectionError, StreamError
from vigil.redact import redact_text, redact_url
from vigil.types import utcnow
from streams.packets import MediaPacket, StreamInfo, is_annexb

SUPPORTED_CODECS = ("h264", "hevc")
OPEN_TIMEOUT_S = 5.0
READ_TIMEOUT_S = 5.0
MAX_GAP_S = 10.0  # a forward jump larger than this between packets is a discontinuity


@dataclass(frozen=True)
class SourceSpec:
    """Where a camera's packets come from, already resolved (demo specs become files)."""

    url: str  # rtsp://... or a local file path
    kind: str  # rtsp | file
    paced: bool  # files: sleep to native speed and loop (a camera); False: read once, flat-out (analysis)
    shown: str  # redacted form for logs and errors

    @property
    def live(self) -> bool:
        return self.kind == "rtsp" or self.paced


def parse_source(source: str, *, as_camera: bool = True,
                 resolve_source: Callable[[str], str] | None = None) -> SourceSpec:
    """rtsp(s)://..., file://PATH or PATH, or demo:... (mapped to a file by `resolve_source`)."""
    text = source.strip()
    if text.startswith("demo:"):
        if resolve_source is None:
            raise StreamError(f"expected a resolver for demo sources (the api passes one), found none for {text!r}")
        text = str(resolve_source(text))
    if text.startswith(("rtsp://", "rtsps://")):
        return SourceSpec(text, "rtsp", True, redact_url(text))
    if text.startswith(("http://", "https://")):
        raise StreamError(f"expected rtsp://, a file path or demo:..., found an HTTP source {redact_url(text)!r}")
    path = Path(text[len("file://"):] if text.startswith("file://") else text).expanduser()
    if not path.is_file():
        raise SourceConnectionError(f"expected a video file at {path}, found nothing there")
    return SourceSpec(str(path), "file", as_camera, str(path))


def source_problem(source: str, base_dir: Path | None = None) -> str | None:
    """Why a camera source cannot be used (scheme, host, file), or None; for `vigil config check`, no network."""
    from urllib.parse import urlsplit

    text = source.strip()
    if text.startswith("demo:"):
        return None if text[5:].split("?")[0] in ("site", "lab") else \
            f"expected demo:site or demo:lab, found {redact_url(text)!r}"
    scheme = text.split(":", 1)[0].lower() if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", text) else ""
    if scheme in ("rtsp", "rtsps"):
        parts = urlsplit(text)
        if not text[len(scheme) + 1:].startswith("//") or not parts.hostname:
            return f"scheme {scheme}: expected {scheme}://HOST[:PORT]/PATH, found {redact_url(text)!r}"
        return None
    if scheme == "file":
        text = text[len("file://"):] if text.startswith("file://") else text[len("file:"):]
    elif scheme and len(scheme) > 1:  # a Windows drive letter is not a scheme
        return f"scheme {scheme}: not a camera source Vigil can open (expected rtsp://, rtsps://, file:// or demo:)"
    path = Path(text).expanduser()
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    if not path.is_file():
        return f"expected a video file at {path}, found nothing there"
    return None


def _open(spec: SourceSpec) -> av.container.InputContainer:
    try:
        if spec.kind == "rtsp":
            return av.open(spec.url, options={"rtsp_transport": "tcp"}, timeout=(OPEN_TIMEOUT_S, READ_TIMEOUT_S))
        return av.open(spec.url)
    except (av.error.FFmpegError, OSError) as e:
        raise SourceConnectionError(f"could not open {spec.shown}: {redact_text(str(e))}") from None


class SourceSession:
    """One connection to a source: its stream parameters and an iterator of its packets from a keyframe on."""

    def __init__(self, spec: SourceSpec, *, segment: int, base_s: float, origin_utc: datetime | None = None):
        self.spec = spec
        self.base_s = base_s
        self._origin = origin_utc or utcnow()
        self._container = _open(spec)
        try:
            self._stream = self._container.streams.video[0]
        except IndexError:
            self.close()
            raise StreamError(f"{spec.shown}: expected a video stream, found none") from None
        ctx = self._stream.codec_context
        if ctx.name not in SUPPORTED_CODECS:
            self.close()
            raise StreamError(f"{spec.shown}: expected H.264 or H.265 video, found {ctx.name}")
        extradata = bytes(ctx.extradata or b"")
        self._bsf = None
        if extradata and not is_annexb(extradata):  # MP4/MKV: avcC/hvcC framing; make it Annex-B like RTSP
            self._bsf = av.bitstream.BitStreamFilterContext(f"{ctx.name}_mp4toannexb", self._stream)
            extradata = b""  # the filter puts the parameter sets in-band before every keyframe
        self.info = StreamInfo(segment=segment, codec=ctx.name, width=ctx.width, height=ctx.height,
                               time_base=Fraction(self._stream.time_base), extradata=extradata)
        self.last_t_s = base_s
        self.frame_s = 1.0 / float(self._stream.average_rate) if self._stream.average_rate else 0.04

    def packets(self, stop: threading.Event) -> Iterator[MediaPacket]:
        """Packets until the source ends (EOF or a dropped connection); raises SourceConnectionError on errors."""
        first_pts = None
        pace_start = None
        try:
            for raw in self._container.demux(self._stream):
                if stop.is_set():
                    return
                for pkt in (self._bsf.filter(raw) if self._bsf is not None else (raw,)):
                    if pkt.size == 0:
                        continue
                    pts = pkt.pts if pkt.pts is not None else pkt.dts
                    if pts is None or (first_pts is None and not pkt.is_keyframe):
                        continue  # join at the first timed keyframe (clients join mid-GOP)
                    if first_pts is None:
                        first_pts = pts
                    dts = pkt.dts if pkt.dts is not None else pts
                    t_s = self.base_s + float((pts - first_pts) * self.info.time_base)
                    if first_pts != pts and not -2.0 <= t_s - self.last_t_s <= MAX_GAP_S:
                        # a timestamp discontinuity (wrap, splice, server restart of its clock): stay monotonic
                        self.base_s += self.last_t_s + self.frame_s - t_s
                        t_s = self.last_t_s + self.frame_s
                    if self.spec.paced and self.spec.kind == "file":
                        pace_start = self._pace(t_s, pace_start, stop)
                    captured = utcnow() if self.spec.live else self._origin + timedelta(seconds=t_s)
                    self.last_t_s = max(self.last_t_s, t_s)
                    yield MediaPacket(bytes(pkt), pts, dts, t_s, bool(pkt.is_keyframe), captured, self.info)
        except (av.error.FFmpegError, OSError) as e:
            raise SourceConnectionError(f"{self.spec.shown}: {redact_text(str(e))}") from None

    def _pace(self, t_s: float, pace_start: tuple[float, float] | None, stop: threading.Event):
        if pace_start is None:
            return time.monotonic(), t_s
        wall0, media0 = pace_start
        delay = wall0 + (t_s - media0) - time.monotonic()
        if delay > 0:
            stop.wait(delay)
        return pace_start

    def close(self) -> None:
        try:
            self._container.close()
        except (av.error.FFmpegError, OSError):
            pass
