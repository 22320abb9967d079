"""The API's view of its camera groups: the plan (which cameras go together), each group's last report, and the
merged counters `/metrics` reads."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from api.cluster.actors import GroupReport
from streams.evidence import ViolationEvent
from streams.status import CameraStats, CameraStatus, DetectorStats, SupervisorStats
from vigil.config_loader import LoadedConfig


@dataclass(eq=False)
class Group:
    """One camera-group actor as the API process knows it (touched under the fleet's lock)."""

    name: str
    camera_ids: list[str]
    handle: Any = None
    incarnation: str = ""
    node_ip: str = ""
    acked: int = 0
    pending: Any = None  # the poll in flight (an ObjectRef)
    pending_since: float = 0.0
    report: GroupReport | None = None
    unreachable_since: float | None = None
    unreachable_error: str = ""
    restarts: int = 0  # incarnations after the first
    dropped: int = 0  # phases the incarnation dropped unpolled (its MAX_QUEUED_EVENTS)
    open: dict[str, ViolationEvent] = field(default_factory=dict)  # event -> its last phase (no images)
    closed_lost: bool = False  # the open events of an unreachable group were closed already
    specs: dict[str, str] = field(default_factory=dict)  # profile -> model sha256 the incarnation runs


def plan_groups(loaded: LoadedConfig, group_size: int) -> list[tuple[str, str, list[str]]]:
    """(group name, site, cameras): each site's enabled cameras in chunks of `group_size`."""
    by_site: dict[str, list[str]] = {}
    for cid, cam in sorted(loaded.config.cameras.items()):
        if cam.enabled:
            by_site.setdefault(cam.site, []).append(cid)
    out = []
    for site, cams in sorted(by_site.items()):
        for i in range(0, len(cams), group_size):
            out.append((f"{site}-{i // group_size}", site, cams[i:i + group_size]))
    return out



def merge_stats(groups: list[Group], statuses: dict[str, CameraStatus], loaded: LoadedConfig,
                recorder) -> SupervisorStats:
    """Every group's last counters as one SupervisorStats; the alerts and open events are the API recorder's."""
    cameras: list[CameraStats] = []
    detectors: dict[str, list[int]] = {}
    for g in groups:
        known = {c.status.camera_id: c for c in g.report.stats.cameras} if g.report is not None else {}
        for cid in g.camera_ids:
            cam = loaded.config.cameras[cid]
            base = known.get(cid) or CameraStats(statuses[cid], cam.site, loaded.config.camera_profile(cid))
            cameras.append(replace(base, status=statuses[cid], restarts=base.restarts + g.restarts))
        for d in (g.report.stats.detectors if g.report is not None else ()):
            acc = detectors.setdefault(d.profile, [0, 0, 0, 0])
            for i, n in enumerate((d.batches, d.frames, d.failures, d.pending)):
                acc[i] += n
    return SupervisorStats(tuple(sorted(cameras, key=lambda c: c.status.camera_id)),
                           tuple(DetectorStats(p, *acc) for p, acc in sorted(detectors.items())),
                           alerts=recorder.opened_counts(), open_events=recorder.open_events(),
                           recorder_errors=recorder.errors)
