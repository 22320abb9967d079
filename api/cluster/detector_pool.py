"""Detector actors (`--ray-detectors actor`, or `auto` on a cluster with GPUs): one per profile, one GPU each."""
from __future__ import annotations

import logging
from typing import Any

from api.cluster.actors import DetectorActor, DetectorSpec

log = logging.getLogger(__name__)
MODEL_CHECK_S = 5.0  # how often detector actors are asked which model they run


class DetectorPool:
    """The detector actors of one service; the camera groups get their handles and send them whole batches."""

    def __init__(self) -> None:
        self.handles: dict[str, Any] = {}
        self._refs: list[Any] = []  # creation arguments, held: Ray re-reads them to restart an actor
        self._checked = 0.0

    def start(self, specs: dict[str, DetectorSpec], gpus: float, max_restarts: int, run: str) -> None:
        import ray

        remote = ray.remote(DetectorActor)
        for profile, spec in specs.items():
            ref = ray.put(spec)
            self._refs.append(ref)
            self.handles[profile] = remote.options(
                name=f"vigil-{run}-detector-{profile}", num_gpus=1 if gpus > 0 else 0, num_cpus=1,
                max_restarts=max_restarts, max_concurrency=4).remote(ref)
        log.info("detectors run as Ray actors (%s)", "one GPU each" if gpus > 0 else "no GPU in the cluster")

    def swap(self, spec: DetectorSpec) -> bool:
        """Send a new model to the profile's actor; False when the profile has none (its groups detect)."""
        handle = self.handles.get(spec.profile)
        if handle is None:
            return False
        handle.swap_model.remote(spec)
        return True

    def check(self, specs: dict[str, DetectorSpec], now: float) -> None:
        """Every few seconds: an actor Ray restarted comes back with the model it was created with; give it the
        current one."""
        if not self.handles or now - self._checked < MODEL_CHECK_S:
            return
        self._checked = now
        import ray

        for profile, handle in list(self.handles.items()):
            spec = specs.get(profile)
            try:
                running = ray.get(handle.model.remote(), timeout=2.0)
            except Exception:  # noqa: BLE001 - restarting or its node lost: the next check sees it
                continue
            if spec is not None and running != spec.sha256:
                log.info("detector actor %s runs %s; sending it %s %s", profile, running[:12], spec.name,
                         spec.version)
                handle.swap_model.remote(spec)
