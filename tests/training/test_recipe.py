"""The training recipe: class remapping, per-source loss masks, and the whole recipe end to end on a tiny CPU run."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from datasets.scenes.assets import default_datasets_dir
from vigil.catalogue import PROFILE_CLASSES, DetClass, class_id
from training.recipe_data import SOURCES, _keep_frames, _remap


def _row(name: str, x=0.5) -> str:
    return f"{class_id(name)} {x} 0.5 0.2 0.2"


@pytest.mark.parametrize("profile, keep, rows, expected_ids", [
    ("site", (DetClass.FIRE.value, DetClass.SMOKE.value), [_row(DetClass.FIRE.value), _row(DetClass.SMOKE.value)],
     [0, 1]),
    ("site", (DetClass.PERSON.value,), [_row(DetClass.PERSON.value)], [PROFILE_CLASSES["site"].index("person")]),
    ("lab", (DetClass.SMOKING.value,), [_row(DetClass.SMOKING.value)], [PROFILE_CLASSES["lab"].index("smoking")]),
    ("site", (DetClass.SMOKING.value,), [_row(DetClass.SMOKING.value)], []),  # not a site class: dropped
    ("lab", (DetClass.FIRE.value,), [_row(DetClass.FIRE.value), _row(DetClass.SMOKE.value)], [0]),  # not kept
    ("site", (DetClass.FIRE.value,), ["garbage line", ""], []),
])
def test_remap_to_profile_order(profile, keep, rows, expected_ids):
    out = _remap("\n".join(rows), PROFILE_CLASSES[profile], keep)
    assert [int(r.split()[0]) for r in out.splitlines()] == expected_ids
    for r in out.splitlines():
        assert r.split()[1:] == ["0.5", "0.5", "0.2", "0.2"]


def test_sources_only_name_profile_classes():
    for profile, sources in SOURCES.items():
        for keep in sources.values():
            assert set(keep) <= set(PROFILE_CLASSES[profile])


def test_rare_class_frames_are_always_kept_and_common_ones_thinned():
    # class 0 (a person) is in every frame; class 3 (an uncovered load) in 1 of 10; frame 7 is empty
    labels = [("0 0.5 0.5 0.1 0.1\n" + ("3 0.2 0.2 0.1 0.1\n" if i % 10 == 0 else "")) if i != 7 else ""
              for i in range(200)]
    keep = _keep_frames(labels, 0.25, 4)
    assert all(keep[i] for i in range(0, 200, 10))  # every frame with the rare class
    common = [k for i, k in enumerate(keep) if i % 10]
    assert 0.1 < sum(common) / len(common) < 0.4  # about a quarter of the rest
    assert keep == _keep_frames(labels, 0.25, 4)  # reproducible
    assert _keep_frames(labels, 1.0, 4) == [True] * 200


@pytest.fixture(scope="module")
def tiny_recipe(tmp_path_factory):
    datasets_dir = default_datasets_dir()
    assert datasets_dir is not None, "the shared datasets (../shared/datasets) are needed to train"
    from training.recipe import RecipeOptions, run_recipe

    work = tmp_path_factory.mktemp("recipe")
    opts = RecipeOptions(profile="lab", epochs=2, imgsz=64, subset=6, work_dir=work / "runs",
                         models_dir=work / "models", datasets_dir=datasets_dir, threads=2, batch=8,
                         scenes={"train": 1, "val": 1, "test": 1}, scene_s=8.0, scene_fps=1.0, common_keep=1.0)
    return run_recipe(opts), opts


def test_masked_loss_ignores_classes_a_source_does_not_label(tiny_recipe):
    import torch
    from ultralytics.nn.tasks import DetectionModel

    from training.recipe_ultra import MaskedDetectionLoss

    result, _ = tiny_recipe
    model = torch.load(result.weights, weights_only=False)["model"].float()
    model.args = type("A", (), {"box": 7.5, "cls": 0.5, "dfl": 1.5})()
    assert isinstance(model, DetectionModel)
    loss = MaskedDetectionLoss(model, {"smokingsrc": (2,)})
    loss._batch_mask = torch.tensor([[0.0, 0.0, 1.0] + [0.0] * (loss.nc - 3), [1.0] * loss.nc])
    pred = torch.zeros(2, 5, loss.nc)
    target = torch.zeros(2, 5, loss.nc)
    target[:, :, 0] = 1.0  # a class-0 target the first image's source does not label
    out = loss.bce(pred, target)
    assert float(out[0, :, 0].sum()) == 0.0 and float(out[1, :, 0].sum()) > 0
    assert float(out[0, :, 2].sum()) > 0  # the labelled class still counts


@pytest.mark.slow
def test_recipe_end_to_end_on_cpu(tiny_recipe):
    import onnxruntime as ort

    result, opts = tiny_recipe
    nc = len(PROFILE_CLASSES["lab"])
    assert result.onnx.exists() and result.onnx.stat().st_size <= 15 * 1024 * 1024
    sess = ort.InferenceSession(str(result.onnx), providers=["CPUExecutionProvider"])
    x = np.zeros((2, 3, opts.imgsz, opts.imgsz), np.float32)  # dynamic batch
    out = sess.run(None, {sess.get_inputs()[0].name: x})[0]
    assert out.shape[0] == 2 and out.shape[1] == 4 + nc
    card = json.loads(result.card_json.read_text())
    assert card["classes"] == list(PROFILE_CLASSES["lab"])
    assert card["progress"]["epochs_completed"] == 2
    for block in ("real_heldout", "scenes_heldout"):
        per = card["metrics"][block]["per_class"]
        assert set(per) == set(PROFILE_CLASSES["lab"])
        assert any(v is not None for v in per.values())
    assert card["data"]["train"]["huyhoclaptrinh-smoking"] == 6 and card["data"]["train"]["scenes"] == 8
    assert card["metrics"]["cpu_ms_onnx"] > 0
    masks = json.loads((Path(opts.work_dir) / "lab" / "train" / "loss_masks.json").read_text())
    assert masks["huyhoclaptrinh-smoking"] == [PROFILE_CLASSES["lab"].index(DetClass.SMOKING.value)]
    lab = PROFILE_CLASSES["lab"]  # scenes teach only what no real training source labels
    assert masks["scenes"] == [lab.index(c) for c in ("lab_coat", "goggles", "eating_drinking")]
    md = result.card_md.read_text()
    assert "custom-thxhn" in md and "tcc-pivr8" in md and "mAP50" in md


@pytest.mark.slow
def test_init_from_starts_at_the_checkpoint_not_from_scratch(tiny_recipe, tmp_path):
    import torch

    from training.recipe import RecipeOptions, run_recipe
    from vigil.errors import TrainingError

    result, opts = tiny_recipe
    # a checkpoint far from the seeded random initialisation, so "loaded" and "ignored" cannot look alike
    ckpt = torch.load(result.weights, weights_only=False)
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for k, v in ckpt["model"].state_dict().items():
            if k.endswith("conv.weight"):
                v.add_(torch.randn(v.shape, generator=gen).to(v.dtype) * 0.1)
    init = tmp_path / "init.pt"
    torch.save(ckpt, init)
    start = {k: v.float() for k, v in ckpt["model"].state_dict().items()}
    again = RecipeOptions(**{**opts.__dict__, "epochs": 1, "work_dir": tmp_path / "runs",
                             "models_dir": tmp_path / "models", "init_from": init})
    res = run_recipe(again)
    after = torch.load(res.weights, weights_only=False)["model"].state_dict()
    assert f"continued from `{init}`" in res.card_md.read_text()
    conv = [k for k in start if k.endswith("conv.weight")]
    moved = sum(float((after[k].float() - start[k]).norm()) for k in conv)
    offset = sum(float((start[k] - v.float()).norm()) for k, v in
                 torch.load(result.weights, weights_only=False)["model"].state_dict().items() if k in conv)
    assert moved < 0.2 * offset, f"weights moved {moved:.2f} from the init checkpoint (offset {offset:.2f})"
    with pytest.raises(TrainingError, match="expects a checkpoint"):
        run_recipe(RecipeOptions(**{**again.__dict__, "init_from": tmp_path / "missing.pt"}))


@pytest.mark.slow
def test_leave_one_source_out_trains_without_the_source_and_scores_it(tmp_path):
    from training.recipe import RecipeOptions
    from training.recipe_loso import leave_one_source_out, loso_sources
    from vigil.errors import TrainingError

    datasets_dir = default_datasets_dir()
    assert datasets_dir is not None, "the shared datasets (../shared/datasets) are needed to train"
    assert "luizfrra-person-overhead-cctv" in loso_sources("lab", "person")
    base = RecipeOptions(profile="lab", epochs=1, imgsz=64, subset=4, work_dir=tmp_path / "runs",
                         datasets_dir=datasets_dir, threads=2, batch=8, scenes={"train": 1, "val": 1, "test": 1},
                         scene_s=6.0, scene_fps=1.0, common_keep=1.0)
    with pytest.raises(TrainingError, match="label 'person'"):
        leave_one_source_out(base, "person", ("hinahanan-gloved-hands",))  # it labels gloves, not people
    res = leave_one_source_out(base, "person", ("luizfrra-person-overhead-cctv",))
    fold = res["folds"]["luizfrra-person-overhead-cctv"]
    assert fold["heldout_ap50"] is not None and 0.0 <= fold["heldout_ap50"] <= 1.0
    counts = json.loads((tmp_path / "runs" / "loso" / "luizfrra-person-overhead-cctv" / "lab" / "data" /
                         "counts.json").read_text())
    assert "luizfrra-person-overhead-cctv" not in counts["train"]  # never trained on
    assert counts["test_heldout_source"]["luizfrra-person-overhead-cctv"] > 0


def test_no_train_takes_the_checkpoint_asked_for_and_the_card_options_are_json(tmp_path):
    """`--no-train --checkpoint last` evaluates the last epoch, not ultralytics' pick by the rendered-scene split;
    the options a card records keep paths inside lists as text (a run with --extra-datasets wrote no card)."""
    import json

    from training.recipe import RecipeOptions, _train, card_options
    from vigil.errors import TrainingError

    weights = tmp_path / "site" / "train" / "weights"
    weights.mkdir(parents=True)
    opts = RecipeOptions(profile="site", train=False, extra_datasets=(tmp_path / "extra",),
                         init_from=tmp_path / "site.onnx")
    with pytest.raises(TrainingError, match="needs a checkpoint"):
        _train(opts, None, None, tmp_path / "site")
    (weights / "last.pt").write_bytes(b"last")
    assert _train(opts, None, None, tmp_path / "site").name == "last.pt"  # best asked for, only last there
    (weights / "best.pt").write_bytes(b"best")
    assert _train(opts, None, None, tmp_path / "site").name == "best.pt"
    assert _train(RecipeOptions(**{**opts.__dict__, "checkpoint": "last"}), None, None,
                  tmp_path / "site").name == "last.pt"
    with pytest.raises(TrainingError, match="'best' or 'last'"):
        _train(RecipeOptions(**{**opts.__dict__, "checkpoint": "newest"}), None, None, tmp_path / "site")
    from training.recipe import _progress

    (weights.parent / "results.csv").write_text("epoch,time,metrics/mAP50(B)\n1,426.2,0.7\n2,880.6,0.8\n")
    assert _progress(weights.parent)["trained_seconds"] == 881  # the card's training time, not the evaluation's
    card = json.loads(json.dumps(card_options(opts)))
    assert card["extra_datasets"] == [str(tmp_path / "extra")] and card["init_from"] == str(tmp_path / "site.onnx")


def test_a_people_detector_labels_person_where_a_source_does_not_in_training_images_only(tmp_path):
    """Smokers' photos label only the cigarette: without a teacher their people are masked out of the loss; with
    the people detector their people become person labels in the training split, never in an evaluation split."""
    from training.recipe_data import DataPlan, _real_split, _source_images
    from vigil.shipped import models_dir

    datasets_dir = default_datasets_dir()
    assert datasets_dir is not None, "the shared datasets (../shared/datasets) hold the smokers' photos"
    person = PROFILE_CLASSES["lab"].index("person")
    plain = DataPlan("lab", datasets_dir)
    taught = DataPlan("lab", datasets_dir, teacher_people=models_dir() / "people.onnx", teacher_conf=0.5)
    smokers, people = "huyhoclaptrinh-smoking", "luizfrra-person-overhead-cctv"
    assert person not in plain.taught(smokers) and person in taught.taught(smokers)
    assert not taught.teacher_labels_person(people)  # labels its people itself
    images = _source_images(taught, smokers, "train", None)[:12]
    for split in ("train", "eval_own_x"):
        _real_split(taught, tmp_path, smokers, images, split)
    rows = {split: [r.split() for f in sorted((tmp_path / "labels" / split).glob("*.txt"))
                    for r in f.read_text().splitlines()] for split in ("train", "eval_own_x")}
    added = [r for r in rows["train"] if int(r[0]) == person]
    assert len(added) >= 6, "the people detector found hardly anyone in 12 photos of smokers"
    assert all(0 <= float(v) <= 1 for r in added for v in r[1:]) and all(float(r[3]) > 0.05 for r in added)
    assert not any(int(r[0]) == person for r in rows["eval_own_x"])  # the source's own truth only
    assert len(rows["train"]) == len(rows["eval_own_x"]) + len(added)
