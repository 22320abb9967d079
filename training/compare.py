"""Candidate against promoted model on the candidate's frozen test split and the same held-out scenes."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from datasets.versions import VersionInfo, get_version
from training.evaluate import EvalOptions, check_heldout, evaluate_model
from training.gate import GatePolicy
from training.registry import Evaluator, ModelRecord
from vigil.errors import TrainingError


def model_imgsz(record: ModelRecord | None, default: int) -> int:
    """The image size a registered model was trained at (recorded in its metrics)."""
    if record is None:
        return default
    return int(record.metrics.get("imgsz") or default)


def compare(data_dir: Path, dataset: VersionInfo, candidate_path: Path, candidate_imgsz: int,
            baseline: ModelRecord | None, options: EvalOptions | None = None) -> tuple[dict, dict | None]:
    """(candidate metrics, baseline metrics or None), both on `dataset`'s test split and the held-out scenes."""
    options = options or EvalOptions()
    check_heldout(options, dataset.sources)
    work = Path(data_dir) / "eval"
    cand = evaluate_model(candidate_path, dataset.profile, dataset.path, work,
                          replace(options, imgsz=candidate_imgsz))
    base = None
    if baseline is not None:
        if tuple(baseline.classes) != tuple(cand_classes(dataset)):
            raise TrainingError(f"promoted model {baseline.version} has classes {baseline.classes}; the dataset "
                                f"{dataset.name} has {cand_classes(dataset)}: not comparable")
        base = evaluate_model(baseline.path, dataset.profile, dataset.path, work,
                              replace(options, imgsz=model_imgsz(baseline, options.imgsz)), version=baseline.version)
    for m in (cand, base):
        if m is not None:
            m["dataset_version"] = dataset.name
    return cand, base


def cand_classes(dataset: VersionInfo) -> tuple[str, ...]:
    return tuple(dataset.stats.get("class_names") or ())


def make_evaluator(sessions: sessionmaker[Session], data_dir: Path, options: EvalOptions | None = None) -> Evaluator:
    """An evaluator for `registry.promote`: re-measures both models when the promoted one changed since training."""
    def evaluator(candidate: ModelRecord, baseline: ModelRecord | None) -> tuple[dict, dict | None]:
        if candidate.dataset_version is None:
            raise TrainingError(f"model {candidate.version} has no dataset version; cannot find its test split")
        dataset = get_version(sessions, candidate.dataset_version)
        return compare(data_dir, dataset, candidate.path, model_imgsz(candidate, 320), baseline, options)
    return evaluator


def policy_and_options(loaded) -> tuple[GatePolicy, EvalOptions]:
    """The gate policy and evaluation options from the config's `training` section, and the shared datasets
    (`shared_dir`) whose held-out sources the gate's headline metric is measured on."""
    training_config = loaded.config.training
    datasets = loaded.shared_dir / "datasets"
    return (GatePolicy(training_config.gate_metric, training_config.gate_tolerance),
            EvalOptions(scene_seeds=tuple(training_config.eval_scene_seeds),
                        scene_duration_s=training_config.eval_scene_s,
                        heldout_datasets_dir=datasets if datasets.is_dir() else None))
