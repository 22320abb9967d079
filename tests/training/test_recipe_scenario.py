"""The shipped models over an unseen rendered scene reproduce the scenario numbers their model card reports."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from training.recipe_scenario import SCENARIO_SEEDS, Beside, scenario_check

MODELS = Path(__file__).resolve().parents[2] / "models"


@pytest.mark.slow
@pytest.mark.parametrize("profile", ["site", "lab"])
def test_shipped_model_scenario_matches_card(profile, tmp_path):
    card = json.loads((MODELS / f"{profile}.json").read_text())
    reported = card["metrics"]["scenario"]
    assert tuple(reported["seeds"]) == SCENARIO_SEEDS[profile], "the card's scenario check is out of date"
    seed = reported["seeds"][1]
    looks = tuple(MODELS / name for name in reported["second_look"])  # the classifiers the card was made with
    assert looks and all(p.is_file() for p in looks)
    people = MODELS / reported["people"] if reported.get("people") else None  # the people detector beside
    res = scenario_check(profile, MODELS / f"{profile}.onnx", tmp_path, seeds=(seed,),
                         duration_s=reported["camera_hours"] * 3600 / len(reported["seeds"]),
                         beside=Beside(looks, True, people))
    scene = res["scenes"][0]
    assert scene["tp"] + scene["miss"] == scene["expected"] > 0
    assert 0.0 <= res["recall"] <= 1.0
    on_card = next(s for s in reported["per_scene"] if s["seed"] == seed)
    assert (scene["tp"], scene["fp"], scene["miss"]) == (on_card["tp"], on_card["fp"], on_card["miss"])
