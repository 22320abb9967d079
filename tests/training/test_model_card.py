"""Model cards lead with held-out-source AP50, beside the own split and the model it replaces."""
from __future__ import annotations

import json

from training.model_card import rerender, source_info, write_card

SEEDS = {"train": 1, "val": 2, "test": 3}


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


def test_a_continued_run_keeps_the_rounds_that_trained_its_start(tmp_path):
    """A run continued from a shipped model (--init-from models/site.onnx) still shows how those weights were
    trained: the earlier card's GPU rounds and architecture table, then this run's epochs."""
    from training.recipe import _lineage

    rounds = [{"round": 1, "epochs": 24, "seconds": 441,
               "archs": {"yolo11n": {"heldout_ap50": {"fire": 0.14}, "imgsz": 320},
                         "yolo11s": {"heldout_ap50": {"fire": 0.17}, "imgsz": 320}}}]
    shipped = tmp_path / "shipped"
    write_card(shipped, "site", classes=("fire", "person"), options={"device": "cpu", "imgsz": 320, "batch": 16,
                                                                     "epochs": 40},
               data_counts={"train": {"a-fire": 10}}, metrics={**_metrics(), "cpu_ms_by_arch": {
                   "yolo11n": 12.0, "yolo11s": 33.0}}, progress={"epochs_completed": 24, "rounds": rounds},
               scene_seeds=SEEDS, train_seconds=441, onnx_bytes=1)
    assert _lineage(None, "site") == {} and _lineage(shipped / "site.onnx", "lab") == {}  # no start, other profile
    assert _lineage(tmp_path / "nowhere.onnx", "site") == {}  # no card beside it: nothing to carry
    lineage = _lineage(shipped / "site.onnx", "site")
    md, _ = write_card(tmp_path / "new", "site", classes=("fire", "person"), options={
        "device": "cpu", "imgsz": 320, "batch": 16, "epochs": 40, "max_hours": 1.0,
        "init_from": str(shipped / "site.onnx")}, data_counts={"train": {"a-fire": 10}}, metrics=_metrics(),
        progress={"epochs_completed": 6, **lineage}, scene_seeds=SEEDS, train_seconds=3600, onnx_bytes=1)
    text = md.read_text()
    assert f"before this run, `{shipped / 'site.onnx'}`" in text
    # what the start reached on held-out sources, and the model it had replaced (the baseline), stay visible
    assert "held-out-source AP50 fire 0.300, person 0.400 (the model it replaced, `site.onnx`, on the same " \
           "sources: fire 0.100, person 0.000)" in text
    assert "| 1 | yolo11s | 0.170 | 33.000 |" in text  # the architecture comparison survives the continuation
    assert "then this run: device `cpu`" in text and "**6** of 40 planned" in text
    stage = lineage["before"][0]
    assert stage["epochs_completed"] == 24 and stage["rounds"] == rounds
    again = json.loads((tmp_path / "new" / "site.json").read_text())  # a second continuation keeps both stages
    (tmp_path / "new" / "site.onnx").write_bytes(b"")
    assert len(_lineage(tmp_path / "new" / "site.onnx", "site")["before"]) == 2 and again["progress"]["before"]


def test_card_reports_person_on_its_own_alone_and_joined_with_the_people_detector(tmp_path):
    from training.model_card import add_people

    write_card(tmp_path, "lab", classes=("fire", "person"), options={"device": "cpu", "imgsz": 320, "batch": 16,
               "epochs": 3}, data_counts={"train": {"a-fire": 10}}, metrics=_metrics(),
               progress={"epochs_completed": 3}, scene_seeds=SEEDS, train_seconds=60, onnx_bytes=1_000_000)
    res = {"sources": {"c-person": {"held_out_for": ["lab"], "site": 0.5, "site+people": 0.6, "lab": 0.13,
                                    "lab+people": 0.59, "people": 0.59},
                       "d-person": {"held_out_for": ["site"], "site": 0.2, "site+people": 0.6, "lab": 0.35,
                                    "lab+people": 0.58, "people": 0.59}}}
    md, js = add_people(tmp_path, "lab", res, "people.onnx")
    text = md.read_text()
    assert "| c-person | yes | 0.130 | **0.590** |" in text  # held out for lab: the lab columns
    assert "| d-person | no | 0.350 | **0.580** |" in text
    assert json.loads(js.read_text())["metrics"]["people"]["model"] == "people.onnx"
