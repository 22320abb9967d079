"""Decode only what detection needs: keyframes only when the detect fps allows, else decode and drop."""
from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime

import av
import numpy as np

from vigil.types import VideoFrame
from streams.packets import MediaPacket, StreamInfo


def fit_size(source: tuple[int, int], box: tuple[int, int]) -> tuple[int, int]:
    """The analysis size of a `source` (width, height) frame: its long side fitted to the box's long side, its
    aspect ratio kept (a portrait 576x1024 camera becomes 360x640, never a squashed 640x360), never upscaled;
    even sides, as the colour converter wants."""
    sw, sh = source
    scale = min(1.0, max(box) / max(sw, sh, 1))
    return max(2, int(round(sw * scale / 2)) * 2), max(2, int(round(sh * scale / 2)) * 2)


@dataclass(frozen=True)
class DecodeResult:
    """What one packet gave: frames for vision, how many frames were decoded, a size change if one was seen."""

    frames: tuple[VideoFrame, ...]
    decoded: int
    new_size: tuple[int, int] | None = None


class FrameDecoder:
    """Turns one camera's packets into `VideoFrame`s at `fps`, resized once to fit `size` (see `fit_size`).

    Mode "keyframes": only keyframe packets reach the decoder (skip_frame NONKEY), used while the camera's
    keyframe rate is at least the detect fps. Mode "all": every packet is decoded and frames are dropped
    to the detect fps; colour conversion and resizing happen only for frames that are kept.
    """

    def __init__(self, camera_id: str, fps: float, size: tuple[int, int], *, mode: str = "auto"):
        if fps <= 0 or mode not in ("auto", "keyframes", "all"):
            raise ValueError(f"expected fps > 0 and mode auto|keyframes|all, found {fps}, {mode!r}")
        self.camera_id = camera_id
        self.period_s = 1.0 / fps
        self.size = size
        self.forced = None if mode == "auto" else mode
        # auto decodes every frame until the GOP length is known: starting on keyframes would leave the first
        # GOPs of a stream (8 s of a 19 s clip with a long GOP) unseen while it waits for a second keyframe.
        self.mode = self.forced or "all"
        self._ctx: av.codec.context.CodecContext | None = None
        self._info: StreamInfo | None = None
        self._times: OrderedDict[int, tuple[float, datetime]] = OrderedDict()
        self._last_kf_s: float | None = None
        self.gop_s: float | None = None
        self._next_due: float | None = None
        self._seq = 0
        self._frame_size: tuple[int, int] | None = None
        self.decoded = 0
        self.emitted = 0
        self.keyframes = 0  # keyframe packets seen

    def _open(self, info: StreamInfo) -> None:
        ctx = av.CodecContext.create(info.codec, "r")
        if info.extradata:
            ctx.extradata = info.extradata
        ctx.thread_count = 1  # no frame-threading delay: a frame leaves with its own packet
        self._ctx, self._info = ctx, info
        self._apply_mode()

    def _apply_mode(self) -> None:
        if self._ctx is not None:
            self._ctx.skip_frame = "NONKEY" if self.mode == "keyframes" else "DEFAULT"

    def _track_gop(self, pkt: MediaPacket) -> None:
        if not pkt.keyframe:
            return
        self.keyframes += 1
        if self._last_kf_s is not None and pkt.t_s > self._last_kf_s:
            gap = pkt.t_s - self._last_kf_s
            self.gop_s = gap if self.gop_s is None else 0.7 * self.gop_s + 0.3 * gap
        self._last_kf_s = pkt.t_s
        if self.forced is None and self.gop_s is not None:
            # keyframes suffice when they come at least as often as detection wants frames (5% slack)
            want = "keyframes" if self.gop_s <= self.period_s * 1.05 else "all"
            if want != self.mode:
                self.mode = want
                self._apply_mode()

    def feed(self, pkt: MediaPacket) -> DecodeResult:
        if self._info is None or pkt.info.codec != self._info.codec or pkt.info.extradata != self._info.extradata:
            if not pkt.keyframe:
                return DecodeResult((), 0)
            self._open(pkt.info)
        self._track_gop(pkt)
        if self.mode == "keyframes" and not pkt.keyframe:
            return DecodeResult((), 0)
        self._times[pkt.pts] = (pkt.t_s, pkt.captured_at)
        while len(self._times) > 256:
            self._times.popitem(last=False)
        avpkt = av.Packet(pkt.data)
        avpkt.pts, avpkt.dts, avpkt.time_base = pkt.pts, pkt.dts, pkt.info.time_base
        try:
            frames = self._ctx.decode(avpkt)
        except av.error.InvalidDataError:
            return DecodeResult((), 0)  # a damaged packet: skip it, the next keyframe recovers
        return self._collect(frames, pkt)

    def _collect(self, frames, pkt: MediaPacket) -> DecodeResult:
        out, new_size = [], None
        for frame in frames:
            self.decoded += 1
            fsize = (frame.width, frame.height)
            if self._frame_size is not None and fsize != self._frame_size:
                new_size = fsize
            self._frame_size = fsize
            t_s, captured = self._times.get(frame.pts, (pkt.t_s, pkt.captured_at))
            if not self._due(t_s):
                continue
            width, height = fit_size(fsize, self.size)
            image = frame.to_ndarray(format="bgr24", width=width, height=height)
            self._seq += 1
            self.emitted += 1
            out.append(VideoFrame(camera_id=self.camera_id, seq=self._seq, pts_s=t_s, t_mono=time.monotonic(),
                                  captured_at=captured, image=np.ascontiguousarray(image), source_size=fsize,
                                  keyframe=bool(frame.key_frame)))
        return DecodeResult(tuple(out), len(frames), new_size)

    def _due(self, t_s: float) -> bool:
        if self._next_due is None or t_s >= self._next_due - 0.1 * self.period_s:
            nxt = (self._next_due or t_s) + self.period_s
            self._next_due = nxt if nxt > t_s else t_s + self.period_s
            return True
        if t_s < self._next_due - 10 * self.period_s:  # the timeline went back (should not happen): follow it
            self._next_due = t_s + self.period_s
            return True
        return False

