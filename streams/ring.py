"""Per-camera ring buffer of encoded packets, bounded in time (pre-roll, or pinned while an event is open) and bytes."""
from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass

from streams.packets import MediaPacket

EPS = 1e-6  # media times are float seconds; compare with a microsecond of slack


@dataclass(frozen=True)
class Span:
    """Packets picked for a clip, starting at a keyframe, and whether the asked span was cut short."""

    packets: tuple[MediaPacket, ...]
    truncated: bool


class PacketRing:
    """Keeps the last `pre_roll_s` seconds (from a keyframe on), never more than `max_bytes`.

    A pin holds footage from a time on (an open event's pre-roll) so the clip can be cut after the post-roll.
    """

    def __init__(self, pre_roll_s: float, max_bytes: int):
        if pre_roll_s < 0 or max_bytes <= 0:
            raise ValueError(f"expected pre_roll_s >= 0 and max_bytes > 0, found {pre_roll_s}, {max_bytes}")
        self.pre_roll_s = pre_roll_s
        self.max_bytes = max_bytes
        self._pkts: deque[MediaPacket] = deque()
        self._bytes = 0
        self._pins: dict[str, float] = {}
        self._expiry: dict[str, float] = {}
        self._cond = threading.Condition()
        self.evicted_over_cap = 0  # packets dropped by the byte cap (pinned footage can be lost this way)
        self.ended = False  # the source will send no more (file analysed to its end)

    # -- writing -----------------------------------------------------------------------------------------------
    def push(self, pkt: MediaPacket) -> None:
        with self._cond:
            if not self._pkts and not pkt.keyframe:
                return  # a ring always starts at a keyframe
            self._pkts.append(pkt)
            self._bytes += len(pkt.data)
            self._expire_pins(pkt.t_s)
            self._evict(pkt.t_s)
            self._cond.notify_all()

    def end(self) -> None:
        with self._cond:
            self.ended = True
            self._cond.notify_all()

    def pin(self, key: str, from_s: float) -> None:
        with self._cond:
            self._pins[key] = from_s
            self._expiry.pop(key, None)

    def release(self, key: str, after_s: float | None = None) -> None:
        """Drop a pin now, or once the newest packet is past `after_s` (media seconds)."""
        with self._cond:
            if key not in self._pins:
                return
            if after_s is None:
                del self._pins[key]
            else:
                self._expiry[key] = after_s

    def _expire_pins(self, now_s: float) -> None:
        for key, at in list(self._expiry.items()):
            if now_s > at:
                self._pins.pop(key, None)
                del self._expiry[key]

    def _evict(self, newest_s: float) -> None:
        cutoff = newest_s - self.pre_roll_s
        if self._pins:
            cutoff = min(cutoff, min(self._pins.values()))
        # Drop whole GOPs while the next GOP still starts at or before the cutoff.
        while True:
            nxt = self._next_keyframe_index()
            if nxt is None or self._pkts[nxt].t_s > cutoff:
                break
            for _ in range(nxt):
                self._pop()
        while self._bytes > self.max_bytes and len(self._pkts) > 1:
            self._pop()
            self.evicted_over_cap += 1
            while self._pkts and not self._pkts[0].keyframe:
                self._pop()
                self.evicted_over_cap += 1

    def _next_keyframe_index(self) -> int | None:
        for i in range(1, len(self._pkts)):
            if self._pkts[i].keyframe:
                return i
        return None

    def _pop(self) -> None:
        self._bytes -= len(self._pkts.popleft().data)

    # -- reading -----------------------------------------------------------------------------------------------
    @property
    def nbytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._pkts)

    @property
    def oldest_s(self) -> float | None:
        with self._cond:
            return self._pkts[0].t_s if self._pkts else None

    @property
    def newest_s(self) -> float | None:
        with self._cond:
            return self._pkts[-1].t_s if self._pkts else None

    def duration_s(self) -> float:
        with self._cond:
            return self._pkts[-1].t_s - self._pkts[0].t_s if self._pkts else 0.0

    def wait_until(self, t_s: float, timeout: float) -> bool:
        """Block until a packet at or after `t_s` is buffered (True), the source ended or time ran out (False)."""
        with self._cond:
            return self._cond.wait_for(
                lambda: self.ended or (bool(self._pkts) and self._pkts[-1].t_s >= t_s - EPS), timeout=timeout) \
                and bool(self._pkts) and self._pkts[-1].t_s >= t_s - EPS

    def span(self, start_s: float, end_s: float) -> Span:
        """From the keyframe at or before `start_s` to the last packet at or before `end_s`, one codec setup."""
        with self._cond:
            pkts = list(self._pkts)
        if not pkts:
            return Span((), True)
        first = 0
        for i, p in enumerate(pkts):
            if p.keyframe and p.t_s <= start_s + EPS:
                first = i
            elif p.t_s > start_s + EPS:
                break
        truncated = pkts[first].t_s > start_s + EPS or pkts[-1].t_s < end_s - EPS
        key = pkts[first].info.compat_key
        out = []
        for p in pkts[first:]:
            if p.t_s > end_s + EPS:
                break
            if p.info.compat_key != key:
                truncated = True  # resolution or codec changed mid-span: one MP4 track holds one setup
                break
            out.append(p)
        return Span(tuple(out), truncated)
