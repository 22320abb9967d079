"""Joining a Ray cluster as its driver: the options of `vigil serve --ray`, and `connect` with a clear error."""
from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass

from vigil.errors import VigilError

log = logging.getLogger(__name__)
DETECTOR_MODES = ("auto", "local", "actor")
SITE_RESOURCE = "vigil-site-"  # a node started with resource "vigil-site-<site id>" is preferred for that site


class ClusterUnavailableError(VigilError):
    """The Ray cluster named by --ray cannot be joined."""


@dataclass(frozen=True)
class ClusterOptions:
    """How `vigil serve --ray ADDRESS` spreads the cameras (CLI options; see docs/SCALING.md)."""

    address: str
    group_size: int = 8  # cameras per camera-group actor (one site's cameras are grouped together)
    detectors: str = "auto"  # auto: detector actors when the cluster has GPUs; local: in each group; actor: always
    group_cpus: float = 1.0  # CPUs a camera-group actor reserves (scheduling only)
    poll_s: float = 0.25  # how often the API asks every group for its phases and states
    lost_after_s: float = 10.0  # a group unreachable this long has its open events closed from their evidence
    max_restarts: int = -1  # Ray restarts a dead group on a live node this many times (-1: always)

    def __post_init__(self):
        if self.detectors not in DETECTOR_MODES:
            raise ClusterUnavailableError(f"--ray-detectors: expected one of {', '.join(DETECTOR_MODES)}, "
                                          f"found {self.detectors!r}")
        if self.group_size < 1:
            raise ClusterUnavailableError(f"--ray-group-size: expected at least 1, found {self.group_size}")


def _host_port(address: str) -> tuple[str, int]:
    host, sep, port = address.strip().rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ClusterUnavailableError(f"--ray: expected the head's GCS address HOST:PORT (e.g. 10.0.0.5:6379), "
                                      f"found {address!r}")
    return host.strip("[]"), int(port)


def connect(address: str, timeout_s: float = 5.0) -> None:
    """Join the cluster at `address` as its driver (idempotent). Nothing of Ray's reaches out: no usage stats,
    no dashboard from this process."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # Ray reads it; the one setting we give it this way
    import ray

    if ray.is_initialized():
        return
    host, port = _host_port(address)
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            pass
    except OSError as e:
        raise ClusterUnavailableError(f"--ray {address}: expected a Ray head (`ray start --head --port {port}`) "
                                      f"listening there, found none ({e.strerror or type(e).__name__})") from None
    try:
        ray.init(address=f"{host}:{port}", include_dashboard=False, log_to_driver=True,
                 configure_logging=False, namespace="vigil")
    except Exception as e:  # noqa: BLE001 - Ray raises several untyped errors for a cluster it cannot join
        raise ClusterUnavailableError(f"--ray {address}: could not join the Ray cluster: "
                                      f"{str(e).splitlines()[0][:300]}") from None
    nodes = [n for n in ray.nodes() if n.get("Alive")]
    log.info("joined the Ray cluster at %s: %d node(s), %s", address, len(nodes),
             ", ".join(sorted({n["NodeManagerAddress"] for n in nodes})))


def disconnect() -> None:
    import ray

    if ray.is_initialized():
        ray.shutdown()


def cluster_gpus() -> float:
    import ray

    return float(ray.cluster_resources().get("GPU", 0.0))


def site_nodes(site_id: str) -> list[str]:
    """Alive nodes that carry the resource `vigil-site-<site_id>` (preferred for that site's cameras)."""
    import ray

    key = SITE_RESOURCE + site_id
    return [n["NodeID"] for n in ray.nodes() if n.get("Alive") and key in n.get("Resources", {})]
