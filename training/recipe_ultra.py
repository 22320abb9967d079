"""Ultralytics adapter for the recipe: offline setup, training with per-source class masks, validation, export.

Import this module only after `offline_env()` has run: ultralytics reads its settings when first imported.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Mapping

import torch
from ultralytics import YOLO
from ultralytics.models.yolo.detect import DetectionTrainer
from ultralytics.utils import SETTINGS
from ultralytics.utils.loss import v8DetectionLoss

from vigil.errors import TrainingError


class MaskedDetectionLoss(v8DetectionLoss):
    """v8 detection loss where an image's classification loss only counts the classes its source labels.

    A source that boxes only smoking (not the people in it) would otherwise teach the model that people are
    background. The source is the file-name prefix before '__' (see recipe_data); mosaics take the mask of
    their first image.
    """

    def __init__(self, model, masks: Mapping[str, tuple[int, ...]]):
        super().__init__(model)
        self._masks = dict(masks)
        self._batch_mask: torch.Tensor | None = None
        self.bce = self._masked_bce

    def _masked_bce(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        loss = torch.nn.functional.binary_cross_entropy_with_logits(pred, target, reduction="none")
        if self._batch_mask is not None and self._batch_mask.shape[0] == loss.shape[0]:
            loss = loss * self._batch_mask[:, None, :].to(loss.dtype)
        return loss

    def get_assigned_targets_and_loss(self, preds, batch, **kw):
        files = batch.get("im_file")
        if files:
            rows = []
            for f in files:
                source = Path(f).name.split("__", 1)[0]
                keep = self._masks.get(source)
                row = torch.ones(self.nc, device=self.device)
                if keep is not None:
                    row = torch.zeros(self.nc, device=self.device)
                    row[list(keep)] = 1.0
                rows.append(row)
            self._batch_mask = torch.stack(rows)
        else:
            self._batch_mask = None
        return super().get_assigned_targets_and_loss(preds, batch, **kw)


# Strong photometric and geometric augmentation: footage from unseen cameras differs in exposure, white balance,
# scale and viewpoint. Hue stays nearly fixed (a flame's colour is what tells it apart from smoke and lamps).
AUGMENT = dict(hsv_h=0.01, hsv_s=0.7, hsv_v=0.6, degrees=5.0, translate=0.15, scale=0.6, shear=2.0,
               perspective=0.0005, fliplr=0.5, mosaic=1.0, mixup=0.1)


def offline_settings(runs_dir: Path) -> None:
    SETTINGS.update({"sync": False, "runs_dir": str(runs_dir), "datasets_dir": str(runs_dir)})


def _masks_callback(masks: Mapping[str, tuple[int, ...]]):
    def on_train_start(trainer) -> None:
        model = trainer.model.module if hasattr(trainer.model, "module") else trainer.model
        model.criterion = MaskedDetectionLoss(model, masks)
        (Path(trainer.save_dir) / "loss_masks.json").write_text(json.dumps(dict(masks), indent=1))
    return on_train_start


def train(data_yaml: Path, project: Path, name: str, *, epochs: int, imgsz: int, device: str, batch: int,
          resume_from: Path | None, masks: Mapping[str, tuple[int, ...]], patience: int = 100,
          time: float | None = None, init_from: Path | None = None, arch: str = "yolo11n",
          workers: int | None = None, overrides: Mapping[str, object] | None = None) -> Path:
    """Train from scratch (`arch`.yaml), from an earlier checkpoint of this recipe (`init_from`: its weights,
    a fresh schedule) or resume; returns the best checkpoint."""
    if workers is None:
        workers = 0 if device == "cpu" else 4
    if resume_from is not None:
        model = YOLO(str(resume_from))
        model.add_callback("on_train_start", _masks_callback(masks))
        model.train(resume=True, workers=workers)
        return Path(model.trainer.best if Path(model.trainer.best).exists() else model.trainer.last)
    if init_from is not None:
        model = YOLO(str(init_from), task="detect")
        if list(model.names.values()) != _names(data_yaml):
            raise TrainingError(f"{init_from} detects {list(model.names.values())}; this data has {_names(data_yaml)}")
    else:  # from scratch: no pretrained weights exist here
        model = YOLO(f"{arch}.yaml", task="detect")
    model.add_callback("on_train_start", _masks_callback(masks))
    extra: dict[str, object] = {"time": time} if time else {}
    extra.update(overrides or {})
    model.train(**extra, data=str(data_yaml), epochs=epochs, imgsz=imgsz, device=device, batch=batch, amp=False,
                workers=workers, project=str(Path(project).resolve()), name=name, exist_ok=True,
                pretrained=init_from is not None, plots=False, patience=patience, verbose=False, cache="ram", seed=0,
                deterministic=False, save_period=-1, val=True, **AUGMENT, close_mosaic=max(1, epochs // 10))
    best = Path(model.trainer.best)
    return best if best.exists() else Path(model.trainer.last)


def _names(data_yaml: Path) -> list[str]:
    import yaml

    names = yaml.safe_load(Path(data_yaml).read_text())["names"]
    return [names[i] for i in sorted(names)]


def validate(weights: Path, data_yaml: Path, split: str, imgsz: int, device: str, out: Path) -> dict:
    """Per-class precision, recall, mAP50 (and all-class mAP50, mAP50-95) on one split of data.yaml."""
    model = YOLO(str(weights))
    m = model.val(data=str(data_yaml), split="val", imgsz=imgsz, device=device, batch=8, workers=0, plots=False,
                  project=str(Path(out).resolve()), name=split, exist_ok=True, verbose=False, conf=0.001)
    names = m.names  # the validator's names: also right for an .onnx reference model
    per_class = {}
    present = set(int(i) for i in getattr(m.box, "ap_class_index", []))
    for i, name in names.items():
        if i not in present:
            per_class[name] = None  # no instance of this class in the split
            continue
        p, r, ap50, ap = m.class_result(list(m.box.ap_class_index).index(i))
        per_class[name] = {"precision": round(float(p), 4), "recall": round(float(r), 4),
                           "mAP50": round(float(ap50), 4), "mAP50_95": round(float(ap), 4)}
    return {"split": split, "mAP50": round(float(m.box.map50), 4), "mAP50_95": round(float(m.box.map), 4),
            "per_class": per_class}


def export_onnx(weights: Path, imgsz: int) -> Path:
    """ONNX with a dynamic batch axis (opset 17), simplified; returns the file ultralytics wrote."""
    model = YOLO(str(weights))
    out = model.export(format="onnx", imgsz=imgsz, dynamic=True, simplify=True, opset=17, device="cpu",
                       half=False, nms=False)
    return Path(out)


def untrained_onnx(arch: str, imgsz: int, out_dir: Path) -> Path:
    """An untrained `arch` exported like the shipped model: its CPU latency is the architecture's, whatever the
    weights (the card's yolo11n/yolo11s trade-off)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    ckpt = out_dir / f"{arch}_untrained.pt"
    YOLO(f"{arch}.yaml", task="detect").save(str(ckpt))
    return export_onnx(ckpt, imgsz)
