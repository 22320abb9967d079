"""The tiling table scores every held-out source of the recipe's data, extra sources included."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from training.tiling_eval import tiling_table
from vigil.shipped import models_dir


def test_an_extra_held_out_source_needs_its_manifest(tmp_path):
    """A held-out source from --extra-datasets is not in the built-in list: without its manifest the table says
    which source and what to pass, instead of a KeyError; with it, its labelled classes are scored."""
    data = tmp_path / "work" / "site" / "data"
    for kind in ("images", "labels"):
        (data / kind / "eval_heldout_x-piles").mkdir(parents=True)
    with pytest.raises(SystemExit, match="'x-piles' is not a site source.*--extra-datasets"):
        tiling_table("site", tmp_path / "work", models_dir() / "site.onnx", grids=(1,))
    extra = tmp_path / "extra" / "x-piles"
    for split in ("train", "val"):
        (extra / "images" / split).mkdir(parents=True)
        (extra / "labels" / split).mkdir(parents=True)
        cv2.imwrite(str(extra / "images" / split / "a.jpg"), np.zeros((32, 32, 3), np.uint8))
        (extra / "labels" / split / "a.txt").write_text("")
    (extra / "vigil-source.yaml").write_text("profiles: [site]\nlabelled: [debris_pile]\nlicence: CC BY 4.0\n"
                                             "attribution: x\n")
    res = tiling_table("site", tmp_path / "work", models_dir() / "site.onnx", grids=(1,),
                       extra_datasets=(tmp_path / "extra",))
    assert res["grids"]["1"]["per_source"] == {"x-piles": {}}  # known now; no pictures, so nothing scored
