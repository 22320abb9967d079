"""Vision fixtures: a tiny real YOLO trained once per recipe (cached), and synthetic images for it."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import pytest

from tests.vision.toy_model import ToyModel, ToyRecipe, build_toy_model, render_toy_image


def _cache_root() -> Path:
    return Path(os.environ.get("VIGIL_TEST_CACHE") or Path(tempfile.gettempdir()) / "vigil-test-cache")


@pytest.fixture(scope="session")
def toy_model() -> ToyModel:
    """yolo11n trained offline for a few epochs on coloured shapes, exported to ONNX (dynamic and static batch)."""
    return build_toy_model(ToyRecipe(), _cache_root())


@pytest.fixture(scope="session")
def toy_images(toy_model) -> list[np.ndarray]:
    """Eight images the model did not train on, in three sizes (square and not)."""
    rng = np.random.default_rng(1234)
    size = toy_model.recipe.size
    images = [render_toy_image(rng, size)[0] for _ in range(6)]
    wide = np.concatenate([images[0], images[1][:, : size // 2]], axis=1)  # 1.5:1
    tall = np.concatenate([images[2], images[3][: size // 3]], axis=0)
    return images + [wide, tall]
