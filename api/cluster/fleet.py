"""The API process's side of `vigil serve --ray`: camera groups as Ray actors, one recorder here, states polled.

`RayFleet` stands where `streams.supervisor.Supervisor` stands in one process (the runtime, /healthz, the wall,
/metrics and missed-violation marking use the same methods). It owns the event's life: every violation phase
comes back from a group's `poll` and goes to the one `Recorder` of this process, which ends in the outbox, the
database, the evidence store and the notifications of this process, under its instance lock. Actors write
nothing: an actor that dies cannot leave a half-written alert, and two actors cannot write one twice.

A group that dies (its node lost) is restarted by Ray on a live node (`max_restarts`); a new incarnation answers
the next poll. Events that were open in the old incarnation are closed here from what their evidence already
holds (the best frame, and the clip when it was cut), as a restart after a crash closes them (issue #15).
The relay and the bookkeeping are `fleet_base.GroupFleet`'s (shared with `procs.ProcessFleet`); this module is
Ray's transport and the groups' placement.
"""
from __future__ import annotations

import logging
import uuid
from typing import Any, Callable, Mapping

from api.cluster.actors import CameraGroup, DetectorSpec
from api.cluster.connect import ClusterOptions, cluster_gpus, connect, site_nodes
from api.cluster.detector_pool import DetectorPool
from api.cluster.fleet_base import GroupFleet
from api.cluster.groups import Group, plan_groups
from streams.recorder import AlertSink, RecorderConfig
from streams.status import CameraStatus
from vigil.config_loader import LoadedConfig

log = logging.getLogger(__name__)


class RayFleet(GroupFleet):
    """Supervisor-shaped: `start`, `stop`, `status`, `stats`, `latest`, `cut_clip`, `swap_model`, `recorder`."""

    def __init__(self, loaded: LoadedConfig, options: ClusterOptions, *, alert_sink: AlertSink, signer,
                 recorder_config: RecorderConfig = RecorderConfig(),
                 on_state: Callable[[CameraStatus], None] | None = None,
                 pipeline_overrides: Mapping[str, object] | None = None):
        super().__init__(loaded, alert_sink=alert_sink, signer=signer, poll_s=options.poll_s,
                         lost_after_s=options.lost_after_s, recorder_config=recorder_config, on_state=on_state)
        self.options = options
        self._overrides = dict(pipeline_overrides or {})
        self._detectors = DetectorPool()
        self._detector_actors = self._detectors.handles  # profile -> detector actor (--ray-detectors actor)
        self._init_refs: list[Any] = []
        self._run = uuid.uuid4().hex[:6]  # actor names are cluster-wide: two services may share a cluster

    # -- lifecycle ---------------------------------------------------------------------------------------------
    def start(self) -> None:
        import ray

        connect(self.options.address)
        gpus = cluster_gpus()
        use_actors = self.options.detectors == "actor" or (self.options.detectors == "auto" and gpus > 0)
        if use_actors:
            self._detectors.start(self._specs, gpus, self.options.max_restarts, self._run)
        remote_group = ray.remote(CameraGroup)
        # Creation arguments by reference, held here for the fleet's life: Ray re-reads them to restart an actor
        # on another node, and would have dropped inline ones once the first incarnation was built.
        self._init_refs = [ray.put(self.loaded), ray.put(self._specs), ray.put(self._detector_actors),
                           ray.put(self._overrides)]
        for i, (name, site, cams) in enumerate(plan_groups(self.loaded, self.options.group_size)):
            group = Group(name, cams, specs={p: s.sha256 for p, s in self._specs.items()})
            group.handle = remote_group.options(
                name=f"vigil-{self._run}-cameras-{name}", num_cpus=self.options.group_cpus, max_concurrency=8,
                max_restarts=self.options.max_restarts, scheduling_strategy=self._placement(site, i)).remote(
                self._init_refs[0], cams, *self._init_refs[1:])
            self._add_group(group)
        log.info("%d camera group(s) started on the Ray cluster at %s", len(self._groups), self.options.address)
        self._start_polling()

    @staticmethod
    def _placement(site: str, index: int):
        """A node that carries `vigil-site-<site>` is preferred (softly: any live node takes over; a site's groups
        take turns among its nodes); else spread over the cluster."""
        nodes = sorted(site_nodes(site))
        if not nodes:
            return "SPREAD"
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        return NodeAffinitySchedulingStrategy(nodes[index % len(nodes)], soft=True)

    # -- Ray as the transport --------------------------------------------------------------------------------
    def _submit(self, g: Group, method: str, *args) -> Any:
        return getattr(g.handle, method).remote(*args)

    def _ready(self, pending: list, timeout: float) -> list:
        import ray

        return ray.wait(pending, num_returns=len(pending), timeout=timeout)[0]

    def _result(self, pending: Any, timeout: float | None = None) -> Any:
        import ray

        return ray.get(pending, timeout=timeout)

    def _end_groups(self, groups: list[Group]) -> None:
        import ray

        for handle in [g.handle for g in groups] + list(self._detector_actors.values()):
            try:
                ray.kill(handle, no_restart=True)
            except Exception:  # noqa: BLE001 - already gone
                pass

    def _tick(self, now: float) -> None:
        self._detectors.check(self._specs, now)

    def _swap_shared(self, spec: DetectorSpec) -> bool:
        return self._detectors.swap(spec)

    def _shared_detector(self, profile: str) -> bool:
        return profile in self._detector_actors
