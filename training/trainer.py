"""Ultralytics training for one dataset version (offline, per-epoch progress) and ONNX export."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import yaml

from vigil.errors import TrainingError

EpochCallback = Callable[[int, int, dict], None]  # (epoch done, epochs, metrics)
StopRequested = Callable[[], bool]  # asked between batches: True stops the run with `TrainingCancelled`
# where ultralytics lets us look: after setup, at each epoch's start, after each training and validation batch
STOP_EVENTS = ("on_pretrain_routine_end", "on_train_epoch_start", "on_train_batch_end", "on_val_batch_end")


class TrainingCancelled(TrainingError):
    """A run was stopped because someone cancelled its job; nothing after the stop (export, registration) ran."""


@dataclass(frozen=True)
class TrainParams:
    """One training run; small values (imgsz 64, 1-3 epochs) make a CPU smoke run."""

    epochs: int = 30
    imgsz: int = 320
    batch: int = 16
    device: str = "cpu"  # "cpu" or a CUDA index such as "0"
    threads: int = 0  # torch CPU threads (0: library default)
    patience: int = 100
    seed: int = 0
    base_weights: str = ""  # "" trains from scratch (yolo11n.yaml); a .pt path fine-tunes it; jobs accept "promoted"
    lr0: float | None = None  # initial learning rate (default: ultralytics' choice; 0.0005 when fine-tuning)

    def __post_init__(self):
        if self.epochs < 1 or self.batch < 1:
            raise TrainingError(f"expected epochs >= 1 and batch >= 1, found {self.epochs} and {self.batch}")
        if self.imgsz < 32 or self.imgsz % 32:
            raise TrainingError(f"expected imgsz a positive multiple of 32, found {self.imgsz}")

    @classmethod
    def from_dict(cls, d: dict) -> "TrainParams":
        known = set(cls.__dataclass_fields__)
        unknown = set(d) - known
        if unknown:
            raise TrainingError(f"unknown training parameters {sorted(unknown)}; expected some of {sorted(known)}")
        return cls(**d)


@dataclass(frozen=True)
class TrainOutput:
    weights: Path
    onnx: Path
    history: list = field(default_factory=list)


def training_yaml(dataset_dir: Path, out: Path) -> Path:
    """A copy of the version's data.yaml with an absolute `path` (ultralytics resolves relative ones elsewhere)."""
    data = yaml.safe_load((Path(dataset_dir) / "data.yaml").read_text())
    data["path"] = str(Path(dataset_dir).resolve())
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(yaml.safe_dump(data, sort_keys=False))
    return out


def _epoch_metrics(trainer) -> dict:
    m = getattr(trainer, "metrics", None) or {}
    pick = {"precision": "metrics/precision(B)", "recall": "metrics/recall(B)", "map50": "metrics/mAP50(B)",
            "map50_95": "metrics/mAP50-95(B)"}
    out = {k: round(float(m[v]), 4) for k, v in pick.items() if v in m}
    loss = getattr(trainer, "tloss", None)
    if loss is not None:
        try:
            out["loss"] = round(float(loss.sum()), 4)
        except (TypeError, AttributeError):
            pass
    return out


def setup_offline(work_dir: Path, threads: int = 0) -> None:
    """The models engineer's offline setup (fonts, no downloads, settings) before ultralytics is imported."""
    from training.offline import offline_env

    offline_env(Path(work_dir) / "ultralytics_config", threads)
    from training import recipe_ultra

    recipe_ultra.offline_settings(Path(work_dir).resolve())


def _close_loaders(trainer) -> None:
    """What ultralytics does at the end of a run it finished itself: no dataloader worker outlives the run."""
    for loader in (getattr(trainer, "train_loader", None), getattr(trainer, "test_loader", None)):
        if hasattr(loader, "close"):
            loader.close()


class StopCheck:
    """Raises `TrainingCancelled` once `should_stop()` says so; called by ultralytics at its `STOP_EVENTS`."""

    def __init__(self, should_stop: StopRequested | None, what: str):
        self.should_stop, self.what = should_stop or (lambda: False), what

    def __call__(self, _trainer_or_validator=None) -> None:
        if self.should_stop():
            raise TrainingCancelled(f"training on {self.what} was cancelled")


def _tuning(params: TrainParams) -> dict:
    """Optimiser overrides: fine-tuning gets no warm-up (its bias lr of 0.1 wipes the class biases), no mosaic and
    a small AdamW step; an explicit lr0 wins."""
    tune = dict(warmup_epochs=0.0, mosaic=0.0, optimizer="AdamW", lr0=0.0005) if params.base_weights else {}
    if params.lr0 is not None:
        tune.update(lr0=params.lr0, optimizer=tune.get("optimizer", "SGD"))
    return tune


def train_and_export(dataset_dir: Path, work_dir: Path, params: TrainParams,
                     on_epoch: EpochCallback | None = None,
                     should_stop: StopRequested | None = None) -> TrainOutput:
    """Train yolo11n from scratch on a dataset version, report every epoch, export ONNX (dynamic batch).
    `should_stop` is asked between batches (and before the export); once it says True the run raises
    `TrainingCancelled` at once, rather than setting `trainer.stop`, which would still validate and save
    the run nobody wants. A multi-GPU run trains in ultralytics' DDP subprocess, where no callback of ours
    runs: it stops only once its training ended, before the export."""
    work_dir = Path(work_dir)
    stop_if_asked = StopCheck(should_stop, str(dataset_dir))
    stop_if_asked()
    setup_offline(work_dir, params.threads)
    from ultralytics import YOLO

    from training import recipe_ultra

    data = training_yaml(dataset_dir, work_dir / "data.yaml")
    history: list[dict] = []

    def on_fit_epoch_end(trainer) -> None:
        epoch = min(trainer.epoch + 1, params.epochs)
        if history and history[-1]["epoch"] >= epoch:
            return  # ultralytics reports the final validation again
        row = {"epoch": epoch, **_epoch_metrics(trainer)}
        history.append(row)
        if on_epoch:
            on_epoch(epoch, params.epochs, row)

    base = params.base_weights
    if base and (not base.endswith(".pt") or not Path(base).is_file()):
        raise TrainingError(f"base weights: expected a .pt checkpoint to fine-tune, found {base!r}")
    model = YOLO(base or "yolo11n.yaml", task="detect")
    model.add_callback("on_fit_epoch_end", on_fit_epoch_end)
    for event in STOP_EVENTS:
        model.add_callback(event, stop_if_asked)
    try:
        model.train(data=str(data), epochs=params.epochs, imgsz=params.imgsz, device=params.device,
                    batch=params.batch, amp=False, workers=0 if params.device == "cpu" else 4,
                    project=str(work_dir.resolve()), name="train", exist_ok=True, pretrained=bool(base), plots=False,
                    patience=params.patience, verbose=False, cache=False, seed=params.seed, val=True,
                    **_tuning(params))
    except TrainingCancelled:
        _close_loaders(model.trainer)
        raise
    except (RuntimeError, ValueError, FileNotFoundError, AssertionError) as e:
        raise TrainingError(f"training on {dataset_dir} failed: {e}") from e
    stop_if_asked()
    best = Path(model.trainer.best)
    weights = best if best.exists() else Path(model.trainer.last)
    onnx = recipe_ultra.export_onnx(weights, params.imgsz)
    return TrainOutput(weights, onnx, history)
