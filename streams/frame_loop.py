"""The streams half of the one frame loop: what a violation phase out of vision's FrameStep does to the footage
and the recorder. The supervisor (delivery on its evidence pool) and offline analysis (delivery inline) share it."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping, Protocol

from vigil.types import Violation
from streams.evidence import ViolationEvent, ViolationSink, annotate_violation
from streams.pipeline import PipelineConfig

PIN_GRACE_S = 30.0  # footage stays pinned this long past an event's post-roll, for the recorder to cut its clip


class Footage(Protocol):
    """Where a camera's packets wait (a CameraPipeline's ring, or offline analysis's PacketRing)."""

    def pin(self, key: str, from_s: float) -> None: ...

    def release(self, key: str, after_s: float | None = None) -> None: ...


@dataclass(frozen=True)
class CameraPlace:
    """What a violation phase needs to become evidence: the camera's site and profile, and its zones to draw."""

    site_id: str
    profile: str
    zones: Mapping[str, list[tuple[float, float]]]


class ViolationHandoff:
    """A phase's way out of the frame loop: `open` pins the footage from the pre-roll on, `closed` lets it go
    after the post-roll (and a grace), then `dispatch` (inline by default) hands the phase, its best frame
    annotated, to the sink."""

    def __init__(self, footage: Footage, cfg: PipelineConfig, place: CameraPlace, sink: ViolationSink | None,
                 dispatch: Callable[[Violation], None] | None = None):
        self.footage = footage
        self.cfg = cfg
        self.place = place
        self.sink = sink
        self.dispatch = dispatch or self.deliver

    def __call__(self, v: Violation) -> None:
        if v.phase == "open":
            self.footage.pin(v.event_id, v.start_s - self.cfg.pre_roll_s)
        elif v.phase == "closed":
            self.footage.release(v.event_id, v.end_s + self.cfg.post_roll_s + PIN_GRACE_S)
        if self.sink is not None:
            self.dispatch(v)

    def deliver(self, v: Violation) -> None:
        """Annotate the best frame and hand the phase to the sink (on whichever thread dispatch chose)."""
        assert self.sink is not None
        self.sink.on_violation(ViolationEvent(v, self.place.site_id, self.place.profile,
                                              annotate_violation(v, self.place.zones)))

