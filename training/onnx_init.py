"""Rebuild a trainable ultralytics checkpoint from a shipped ONNX detector, so a CPU round continues from it.

Ultralytics' export fuses each Conv+BatchNorm into one convolution with a bias and keeps the parameter names
(`model.0.conv.weight`, `model.0.conv.bias`). The fused weights go back into the conv, and the BatchNorm
becomes an identity holding the bias (weight 1, mean 0, variance 1 - eps): the rebuilt model computes exactly
what the ONNX file computes, and training goes on from there with a working BatchNorm.
"""
from __future__ import annotations

import ast
from pathlib import Path

import torch

from vigil.errors import TrainingError


def checkpoint_from_onnx(onnx_path: Path, out: Path, arch: str = "yolo11n.yaml") -> Path:
    """Write `out` (.pt) with the weights of `onnx_path` (an ultralytics YOLO export); returns `out`."""
    import onnx
    from onnx import numpy_helper
    from ultralytics.nn.tasks import DetectionModel

    proto = onnx.load(str(onnx_path))
    meta = {p.key: p.value for p in proto.metadata_props}
    try:
        names = ast.literal_eval(meta["names"])
    except (KeyError, ValueError, SyntaxError):
        raise TrainingError(f"{onnx_path}: expected an ultralytics export with 'names' metadata") from None
    weights = {i.name: torch.from_numpy(numpy_helper.to_array(i).copy()) for i in proto.graph.initializer
               if i.name.startswith("model.")}
    model = DetectionModel(arch, nc=len(names), verbose=False)
    model.names = names
    modules = dict(model.named_modules())
    loaded = 0
    for name, tensor in weights.items():
        owner, _, kind = name.rpartition(".")
        if owner.endswith(".conv") and owner[:-5] in modules and hasattr(modules[owner[:-5]], "bn"):
            block = modules[owner[:-5]]  # ultralytics Conv: conv (no bias) + bn, fused at export
            if kind == "weight":
                _assign(block.conv.weight, tensor, name)
            else:
                bn = block.bn
                bn.weight.data.fill_(1.0)
                bn.running_mean.zero_()
                bn.running_var.fill_(1.0 - bn.eps)
                _assign(bn.bias, tensor, name)
            loaded += 1
        elif owner in modules and hasattr(modules[owner], kind):
            _assign(getattr(modules[owner], kind), tensor, name)
            loaded += 1
    expected = sum(1 for n in weights if n.endswith((".weight", ".bias")))
    if loaded != expected:
        raise TrainingError(f"{onnx_path}: rebuilt {loaded} of {expected} tensors into {arch}; expected all "
                            "(a different architecture?)")
    model.args = {"imgsz": int(ast.literal_eval(meta.get("imgsz", "[320]"))[0])}
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"model": model.float(), "train_args": {}, "epoch": -1, "optimizer": None, "ema": None,
                "date": meta.get("date"), "version": meta.get("version")}, out)
    return out


def _assign(param: torch.Tensor, value: torch.Tensor, name: str) -> None:
    if tuple(param.shape) != tuple(value.shape):
        raise TrainingError(f"{name}: the ONNX tensor is {tuple(value.shape)}, the model expects "
                            f"{tuple(param.shape)}")
    param.data.copy_(value)
