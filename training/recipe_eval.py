"""Scoring a detector by source: each source only on the classes it labels, held-out sources apart from own splits.

A source's images are scored alone (its own data yaml), so a class it leaves unlabelled never counts as a false
positive there; a class's figure is the mean over the sources that label it. "own" is the validation split of a
source the model trained on (it flatters the model); "heldout" is a whole source it never saw (the headline).
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Mapping

import numpy as np

Validate = Callable[..., dict]  # recipe_ultra.validate(weights, data_yaml, split, imgsz, device, out) -> metrics
EvalSets = Mapping[str, tuple[Path, tuple[str, ...]]]  # source -> (data yaml, classes it labels)


def score_sources(validate: Validate, weights: Path, sets: EvalSets, *, imgsz: int, device: str, out: Path,
                  tag: str) -> dict:
    """{"per_source": {source: {class: AP50}}, "per_class": {class: mean AP50 over the sources labelling it}}."""
    per_source: dict[str, dict[str, float]] = {}
    for source, (yaml_path, labelled) in sets.items():
        m = validate(weights, yaml_path, f"{tag}_{source}_{imgsz}", imgsz, device, out)
        per_source[source] = {c: m["per_class"][c]["mAP50"] for c in labelled
                              if m["per_class"].get(c) is not None}
    classes = sorted({c for row in per_source.values() for c in row})
    per_class = {c: round(float(np.mean([row[c] for row in per_source.values() if c in row])), 4) for c in classes}
    return {"per_source": per_source, "per_class": per_class, "imgsz": imgsz}


def ratio_table(new: Mapping[str, float], old: Mapping[str, float]) -> dict[str, dict]:
    """Per class: this model's and the reference model's AP50 on the same sources, and their ratio."""
    out = {}
    for c in sorted(set(new) | set(old)):
        a, b = new.get(c), old.get(c)
        out[c] = {"new": a, "reference": b,
                  "ratio": (round(a / b, 2) if a is not None and b else None)}
    return out
