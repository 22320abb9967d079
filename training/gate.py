"""The promotion gate: a candidate may not be worse than the promoted model on the gate metric."""
from __future__ import annotations

from dataclasses import asdict, dataclass

# metric -> True when higher is better
GATE_METRICS = {"heldout_source_map50": True, "map50": True, "map50_95": True, "false_violations_per_hour": False}
# Without the held-out sources (no ../shared), the gate falls back to the frozen test split's mAP50 and says so.
FALLBACK = {"heldout_source_map50": "map50"}


@dataclass(frozen=True)
class GatePolicy:
    metric: str = "heldout_source_map50"
    tolerance: float = 0.0  # how much worse the candidate may be and still pass

    def __post_init__(self):
        if self.metric not in GATE_METRICS:
            raise ValueError(f"gate metric must be one of {', '.join(GATE_METRICS)}; got {self.metric!r}")
        if self.tolerance < 0:
            raise ValueError(f"gate tolerance must be >= 0; got {self.tolerance}")


@dataclass(frozen=True)
class GateDecision:
    allowed: bool
    metric: str
    candidate: float | None
    baseline: float | None
    reason: str

    def as_dict(self) -> dict:
        return asdict(self)


def decide(candidate: dict, baseline: dict | None, policy: GatePolicy, baseline_version: str | None = None) -> GateDecision:
    """Compare one metric of two evaluations made on the same frozen test split, and say why."""
    m = policy.metric
    if candidate.get(m) is None and m in FALLBACK:
        inner = decide(candidate, baseline, GatePolicy(FALLBACK[m], policy.tolerance), baseline_version)
        return GateDecision(inner.allowed, inner.metric, inner.candidate, inner.baseline,
                            f"no held-out source measurement (the shared datasets are absent); {inner.reason}")
    cand = candidate.get(m)
    if cand is None:
        return GateDecision(False, m, None, None, f"the candidate has no {m} measurement")
    if baseline is None:
        return GateDecision(True, m, cand, None, f"no promoted model yet; candidate {m} = {cand:.4f}")
    base = baseline.get(m)
    if base is None:
        return GateDecision(True, m, cand, None, f"the promoted model has no {m} measurement")
    higher = GATE_METRICS[m]
    worse_by = (base - cand) if higher else (cand - base)
    name = f"promoted {baseline_version}" if baseline_version else "the promoted model"
    if worse_by > policy.tolerance:
        return GateDecision(False, m, cand, base, f"candidate {m} {cand:.4f} is worse than {name}'s {base:.4f} "
                            f"(by {worse_by:.4f}, tolerance {policy.tolerance:.4f})")
    return GateDecision(True, m, cand, base, f"candidate {m} {cand:.4f} is not worse than {name}'s {base:.4f}")
