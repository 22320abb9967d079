"""Leave-one-source-out: for each source that labels a class, train without it and score the class on it.

The shipped models hold out fixed sources (recipe_data.HELD_OUT); this is the fuller check, one training per
source, for a GPU or a long CPU budget. A model that is better only on its own split is not better.
"""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np

from training.recipe import RecipeOptions, run_recipe
from training.recipe_data import SOURCES
from vigil.errors import TrainingError


def loso_sources(profile: str, cls: str) -> tuple[str, ...]:
    """The profile's sources that label `cls`: one fold each."""
    return tuple(s for s, labelled in SOURCES[profile].items() if cls in labelled)


def leave_one_source_out(base: RecipeOptions, cls: str, sources: tuple[str, ...] | None = None) -> dict:
    """One recipe run per fold (`base` with that source held out, written under work_dir/loso/<source>); returns
    per fold the class's AP50 on the held-out source and on the model's own validation splits."""
    every = loso_sources(base.profile, cls)
    folds = tuple(sources) if sources else every
    unknown = [s for s in folds if s not in every]
    if not folds or unknown:
        raise TrainingError(f"expected sources of profile {base.profile!r} that label {cls!r} "
                            f"({', '.join(every) or 'none'}); found {', '.join(unknown) or 'none'}")
    out: dict[str, dict] = {}
    for source in folds:
        work = Path(base.work_dir) / "loso" / source
        opts = replace(base, held_out=(source,), work_dir=work, models_dir=work / "models", reference=None,
                       eval_sizes=())
        res = run_recipe(opts)
        by_source = res.metrics["by_source"]
        out[source] = {"heldout_ap50": by_source["heldout"]["per_source"].get(source, {}).get(cls),
                       "own_ap50": by_source["own"]["per_class"].get(cls), "onnx": str(res.onnx)}
    held = [f["heldout_ap50"] for f in out.values() if f["heldout_ap50"] is not None]
    own = [f["own_ap50"] for f in out.values() if f["own_ap50"] is not None]
    return {"profile": base.profile, "class": cls, "folds": out,
            "mean_heldout_ap50": round(float(np.mean(held)), 4) if held else None,
            "mean_own_ap50": round(float(np.mean(own)), 4) if own else None,
            "epochs": base.epochs, "imgsz": base.imgsz, "subset": base.subset}


def write_loso(result: dict, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=1) + "\n")
    return path
