"""Group splits: frames of one camera event (or scene) stay on one side; a profile's test split is frozen."""
from __future__ import annotations

import hashlib
from typing import Iterable, Mapping

SPLITS = ("train", "val", "test")


def group_score(group: str) -> float:
    """A stable number in [0, 1) for a group name (the same on every machine and every run)."""
    return int(hashlib.sha256(group.encode()).hexdigest()[:12], 16) / float(1 << 48)


def assign_splits(groups: Iterable[str], *, frozen: Mapping[str, str] | None = None,
                  val: float = 0.15, test: float = 0.15, labelled: set[str] | None = None) -> dict[str, str]:
    """Split name for every group.

    Groups already assigned in `frozen` (the parent version's assignment) keep their split: a test group
    stays in test and a train group never moves to test, so later versions extend the test split and never
    reshuffle it. New groups go by a stable hash. When neither `frozen` nor the hash gives a test (or val)
    group with boxes (`labelled`: groups with at least one box; default all) and there are at least three new
    groups, the lowest-scoring new labelled train group is taken for it (train keeps one); for test, a
    labelled val group when train has none to spare."""
    if not (0 <= val < 1 and 0 <= test < 1 and val + test < 1):
        raise ValueError(f"expected val and test fractions in [0, 1) with a sum below 1, found {val}, {test}")
    frozen = dict(frozen or {})
    out: dict[str, str] = {}
    new: list[str] = []
    for g in sorted(set(groups)):
        if g in frozen:
            if frozen[g] not in SPLITS:
                raise ValueError(f"group {g!r}: frozen split {frozen[g]!r} is not one of {', '.join(SPLITS)}")
            out[g] = frozen[g]
            continue
        u = group_score(g)
        out[g] = "test" if u < test else "val" if u < test + val else "train"
        new.append(g)
    boxed = set(out) if labelled is None else set(labelled)
    if len(new) < 3:
        return out
    for split, frac in (("test", test), ("val", val)):
        if frac <= 0 or any(s == split and g in boxed for g, s in out.items()):
            continue
        donors = sorted((g for g in new if out[g] == "train" and g in boxed), key=group_score)[:-1]  # train keeps one
        if split == "test":  # a test split matters more than a val split: take from val too
            donors += sorted((g for g in new if out[g] == "val" and g in boxed), key=group_score)
        if donors:
            out[donors[0]] = split
    return out
