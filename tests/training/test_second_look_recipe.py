"""`vigil recipe second-look` end to end on a small set: rendered crops -> training -> ONNX with metadata -> card."""
from __future__ import annotations

import json

import typer
from typer.testing import CliRunner

from api.cli_models import register
import pytest

from datasets.scenes.person_acts import ACTS, EYES, head_crops, person_crops
from datasets.scenes.pile_crops import PILE_HW, PILES
from datasets.scenes.truck_states import LOADS, truck_crops
from vision.second_look import CropClassifier


@pytest.mark.parametrize("task,classes,hw,crops", [("load_state", LOADS, (48, 96), truck_crops),
                                                  ("goggles", EYES, (48, 48), head_crops)])
def test_recipe_second_look_trains_exports_and_writes_a_card(tmp_path, task, classes, hw, crops):
    app = typer.Typer()
    register(app)
    out = tmp_path / "m" / f"{task}.onnx"
    res = CliRunner().invoke(app, ["recipe", "second-look", "--task", task, "--out", str(out), "--crops", "180",
                                   "--heldout", "60", "--epochs", "2"])
    assert res.exit_code == 0, (res.output, res.exception)
    assert "held-out accuracy" in res.output and "epoch 2/2" in res.output

    clf = CropClassifier.load(out)
    assert clf.task == task and clf.classes == classes and clf.crop_hw == hw
    x, _ = crops(11, 8)
    p = clf.probabilities(x)
    assert p.shape == (8, len(classes)) and abs(float(p.sum(1).mean()) - 1.0) < 1e-4

    card = json.loads(out.with_suffix(".json").read_text())
    assert card["classes"] == list(classes) and card["data"]["train_crops"] == 180
    assert 0.0 <= card["heldout"]["accuracy"] <= 1.0
    assert abs(card["heldout"]["onnx_accuracy"] - card["heldout"]["accuracy"]) < 0.05  # the export is the net
    assert sum(map(sum, card["heldout"]["confusion"]["counts"])) == 60
    md = out.with_suffix(".md").read_text()
    assert "true \\ predicted" in md and f"vigil recipe second-look --task {task}" in md


def test_recipe_second_look_refuses_an_unknown_task(tmp_path):
    app = typer.Typer()
    register(app)
    res = CliRunner().invoke(app, ["recipe", "second-look", "--task", "hats", "--out", str(tmp_path / "x.onnx")])
    said = " ".join(res.output.replace("│", " ").split())
    assert res.exit_code != 0 and "expected one of load_state, activity, gloves, goggles, pile, found 'hats'" in said
    assert not (tmp_path / "x.onnx").exists()


def test_recipe_second_look_pile_trains_on_real_garbage_too_and_says_so(tmp_path):
    """The pile look adds the shared datasets' real crops (train split) to the rendered ones and scores the val
    split's apart; the card names every real source with its licence."""
    app = typer.Typer()
    register(app)
    out = tmp_path / "piles.onnx"
    res = CliRunner().invoke(app, ["recipe", "second-look", "--task", "pile", "--out", str(out), "--crops", "120",
                                   "--heldout", "40", "--epochs", "1", "--real-pictures", "30"])
    assert res.exit_code == 0, (res.output, res.exception)
    clf = CropClassifier.load(out)
    assert clf.task == "pile" and clf.classes == PILES and clf.crop_hw == PILE_HW
    card = json.loads(out.with_suffix(".json").read_text())
    real = card["data"]["real_train_counts"]
    assert real["debris_pile"] >= 60 and real["none"] >= 12 * 30  # every garbage box twice; the other sources
    assert card["data"]["train_counts"]["debris_pile"] >= real["debris_pile"]
    assert "atanu0023-garbage-piles" in card["data"]["real_sources"]
    assert "CC BY 4.0" in card["data"]["real_sources"]["atanu0023-garbage-piles"]["licence"]
    assert card["data"]["real_crops_detector"]["model"] == "site.onnx"  # the shipped detector's own pile boxes
    held = card["heldout_real"]
    assert held["crops"] == sum(map(sum, held["confusion"]["counts"])) and held["crops"] > 300
    assert set(held["at_runtime"]) == {"labelled none", "labelled debris_pile", "random none", "detector none"}
    assert held["at_runtime"]["detector none"]["crops"] >= 20
    md = out.with_suffix(".md").read_text()
    assert "Held out, real" in md and "atanu0023-garbage-piles (CC BY 4.0" in md and "Hard negatives" in md


def test_recipe_second_look_activity_learns_real_smokers_and_real_people_too(tmp_path):
    """The activity look adds real smokers (the smoking source) and real people doing none of it (the sources that
    label people) to the rendered crops; the lab detector's held-out people source is never trained on and is
    scored apart; the card names the real sources with their licences and the detector that framed the smokers."""
    app = typer.Typer()
    register(app)
    out = tmp_path / "activity.onnx"
    res = CliRunner().invoke(app, ["recipe", "second-look", "--task", "activity", "--out", str(out), "--crops",
                                   "120", "--heldout", "40", "--epochs", "1", "--real-pictures", "25"])
    assert res.exit_code == 0, (res.output, res.exception)
    clf = CropClassifier.load(out)
    assert clf.task == "activity" and clf.classes == ACTS and clf.crop_hw == (64, 64)
    assert clf.probabilities(person_crops(11, 8)[0]).shape == (8, 3)
    card = json.loads(out.with_suffix(".json").read_text())
    real = card["data"]["real_train_counts"]
    assert real["smoking"] >= 50 and real["none"] >= 50 and real["eating_drinking"] == 0
    assert "huyhoclaptrinh-smoking" in card["data"]["real_sources"]
    assert card["data"]["real_crops_detector"] == {**card["data"]["real_crops_detector"], "model": "lab.onnx",
                                                   "class": "person", "min_score": 0.4}
    runtime = card["heldout_real"]["at_runtime"]
    assert {"smoker smoking", "person none", "person, unseen source none"} <= set(runtime)
    assert set(runtime["person none"]) == {"crops", "called eating_drinking", "called smoking"}
    md = out.with_suffix(".md").read_text()
    assert "huyhoclaptrinh-smoking (" in md and "Smokers as the look sees them: the person boxes lab.onnx" in md
    assert "% called smoking" in md


def test_recipe_second_look_pile_refuses_without_the_shared_datasets(tmp_path):
    from training.second_look import SecondLookOptions, train_second_look

    out = tmp_path / "p.onnx"
    with pytest.raises(ValueError, match="expected the shared datasets folder .*found .*nowhere"):
        train_second_look(SecondLookOptions(task="pile", out=out, datasets_dir=tmp_path / "nowhere"))
    assert not out.exists()
    # a detector named for the hard negatives but missing: refused, not trained without them
    from datasets.scenes.assets import default_datasets_dir

    with pytest.raises(ValueError, match="hard negatives at .*gone.onnx, found nothing"):
        train_second_look(SecondLookOptions(task="pile", out=out, datasets_dir=default_datasets_dir(),
                                            detector=tmp_path / "gone.onnx", train_crops=60, heldout_crops=30))
    assert not out.exists()
