"""Model cards lead with held-out-source AP50, beside the own split and the model it replaces."""
from __future__ import annotations

import json

from training.model_card import rerender, source_info, write_card


def _metrics() -> dict:
    block = {"mAP50": 0.5, "mAP50_95": 0.2, "per_class": {"fire": {"precision": 0.5, "recall": 0.5, "mAP50": 0.6,
                                                                   "mAP50_95": 0.3}, "person": None}}
    return {"real_heldout": block, "scenes_heldout": block, "cpu_ms_onnx": 11.0,
            "by_source": {"own": {"per_source": {"a-fire": {"fire": 0.7}}, "per_class": {"fire": 0.7}},
                          "heldout": {"per_source": {"b-fire": {"fire": 0.3}, "c-person": {"person": 0.4}},
                                      "per_class": {"fire": 0.3, "person": 0.4}},
                          "heldout_by_size": {"320": {"fire": 0.3}, "640": {"fire": 0.35}}},
            "cpu_ms_by_size": {"320": 11.0, "640": 50.0},
            "reference": {"model": "models/site.onnx", "heldout": {"per_class": {"fire": 0.1, "person": 0.0}}}}


def test_card_headline_shows_heldout_own_reference_and_sizes(tmp_path):
    md, js = write_card(tmp_path, "site", classes=("fire", "smoke", "person"), options={
        "device": "cpu", "imgsz": 320, "batch": 16, "epochs": 3}, data_counts={"train": {"a-fire": 10}},
        metrics=_metrics(), progress={"epochs_completed": 3}, scene_seeds={"train": 1, "val": 2, "test": 3},
        train_seconds=60, onnx_bytes=1_000_000)
    text = md.read_text()
    assert text.index("Headline: AP50 on whole sources never trained on") < text.index("own-split real images")
    assert "| fire | 0.300 | 0.700 | 0.100 | 3.0x |" in text  # held-out, own split, the model it replaces
    assert "| person | 0.400 | n/a | 0.000 | n/a |" in text  # no ratio against zero
    assert "| 640 | 0.350 | 50.000 |" in text  # what a larger input buys, and costs
    assert "smoke" not in text.split("Headline")[1].split("Per source")[0]  # no source labels smoke: no row
    card = json.loads(js.read_text())
    card["metrics"]["loso"] = {"fire": {"mean_heldout_ap50": 0.2, "mean_own_ap50": 0.6, "folds": {"a": {}, "b": {}},
                                        "epochs": 5}}
    js.write_text(json.dumps(card))
    assert "fire: held-out-source AP50 0.2 vs own-split 0.6 over 2 folds" in rerender(tmp_path, "site").read_text()


def test_source_attribution_comes_from_the_shared_readme(tmp_path):
    d = tmp_path / "x-fire"
    d.mkdir()
    (d / "README.md").write_text("# x-fire\n\nFire photos.\n\n  >   license: CC BY 4.0\n"
                                 "- Attribution line: \"fire\" by someone, CC BY 4.0\n")
    info = source_info("x-fire", tmp_path)
    assert info["licence"] == "CC BY 4.0" and info["attribution"] == "\"fire\" by someone, CC BY 4.0"
    assert source_info("nowhere", tmp_path)["licence"] == "?"
