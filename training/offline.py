"""Ultralytics without a network: no weights, fonts, packages or telemetry (kept free of the data stack, so a
GPU machine with only torch and ultralytics can import it)."""
from __future__ import annotations

import os
import shutil
from pathlib import Path


def offline_env(config_dir: Path, threads: int) -> None:
    """Make ultralytics fully offline (no weights, fonts, packages or telemetry); set before importing it."""
    config_dir.mkdir(parents=True, exist_ok=True)
    import matplotlib

    font = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
    for name in ("Arial.ttf", "Arial.Unicode.ttf"):
        if not (config_dir / name).exists():
            shutil.copyfile(font, config_dir / name)
    os.environ["YOLO_OFFLINE"] = "1"
    os.environ["YOLO_AUTOINSTALL"] = "false"
    os.environ["YOLO_CONFIG_DIR"] = str(config_dir.resolve())
    if threads > 0:
        os.environ["OMP_NUM_THREADS"] = str(threads)
        import torch

        torch.set_num_threads(threads)
