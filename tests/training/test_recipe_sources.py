"""Extra sources beside the shared datasets: one manifest per folder, checked, and used by the recipe's data build."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from datasets.scenes.assets import default_datasets_dir
from training.recipe_data import DataPlan, build_dataset, class_mask
from training.recipe_sources import MANIFEST, load_extra_sources, read_manifest, remap_label
from vigil.catalogue import PROFILE_CLASSES
from vigil.errors import DatasetError
from vision.jpeg import encode_jpeg

GOOD = """profiles: [site, lab]
labelled: [person]
absent: [fire, smoke]
classes: {0: person, 1: null}
licence: CC BY 4.0
attribution: '"tiny" by someone, via github.com/someone/tiny'
repository: https://github.com/someone/tiny
commit: 0123456789abcdef
"""


def _source(root: Path, name: str = "someone-tiny", manifest: str | None = GOOD, n: int = 3) -> Path:
    """A tiny source folder: n JPEGs per split, label id 0 (person) and 1 (a class the manifest drops)."""
    folder = root / name
    img = encode_jpeg(np.full((32, 48, 3), 90, np.uint8), 80)
    for split in ("train", "val"):
        (folder / "images" / split).mkdir(parents=True)
        (folder / "labels" / split).mkdir(parents=True)
        for i in range(n):
            (folder / "images" / split / f"{split}{i}.jpg").write_bytes(img)
            rows = "0 0.5 0.5 0.2 0.4\n1 0.3 0.3 0.1 0.1\n" if i else ""  # the first image of a split: a negative
            (folder / "labels" / split / f"{split}{i}.txt").write_text(rows)
    if manifest is not None:
        (folder / MANIFEST).write_text(manifest)
    return folder


def test_a_good_manifest_is_read_with_its_classes_negatives_and_credits(tmp_path):
    src = read_manifest(_source(tmp_path))
    assert (src.name, src.profiles, src.labelled, src.absent) == ("someone-tiny", ("site", "lab"), ("person",),
                                                                   ("fire", "smoke"))
    assert src.class_map == {0: "person"}
    assert src.card_info()["licence"] == "CC BY 4.0" and "someone/tiny" in src.card_info()["what"]
    site = PROFILE_CLASSES["site"]
    assert class_mask("site", src.name, (src,)) == tuple(site.index(c) for c in ("fire", "smoke", "person"))
    # ids map through the manifest; the dropped id and classes not labelled vanish
    assert remap_label("0 .5 .5 .2 .4\n1 .3 .3 .1 .1\n", src.class_map, src.labelled, site) == \
        f"{site.index('person')} .5 .5 .2 .4\n"


def test_without_classes_the_label_ids_are_the_unified_ids(tmp_path):
    src = read_manifest(_source(tmp_path, manifest="\n".join(
        line for line in GOOD.splitlines() if not line.startswith("classes"))))
    assert src.class_map[6] == "person" and src.class_map[0] == "fire"


@pytest.mark.parametrize("change, says", [
    (lambda m: m.replace("profiles: [site, lab]\n", ""), "the keys profiles"),
    (lambda m: m + "colour: red\n", "only the keys"),
    (lambda m: m.replace("[site, lab]", "[warehouse]"), "'profiles' names from site, lab"),
    (lambda m: m.replace("labelled: [person]", "labelled: [flames]"), "'labelled' names from fire"),
    (lambda m: m.replace("absent: [fire, smoke]", "absent: [person]"), "either labelled or absent"),
    (lambda m: m.replace("{0: person, 1: null}", "{0: fire}"), "every labelled class to have a label id"),
    (lambda m: m.replace("{0: person, 1: null}", "{x: person}"), "label ids (integers >= 0)"),
    (lambda m: m.replace("licence: CC BY 4.0", "licence: ''"), "'licence' as a non-empty text"),
    (lambda m: "- just\n- a list\n", "a YAML mapping"),
    (lambda m: "profiles: [site\n", "does not parse"),
    (lambda m: m.replace("labelled: [person]", "labelled: []").replace("absent: [fire, smoke]", "absent: []"),
     "at least one class"),
    (lambda m: m.replace("labelled: [person]", "labelled: [gloves]").replace("absent: [fire, smoke]", "absent: []")
     .replace("[site, lab]", "[site]").replace("0: person", "0: gloves"), "classes of the profiles site"),
])
def test_a_bad_manifest_says_what_was_expected_and_what_was_found(tmp_path, change, says):
    folder = _source(tmp_path, manifest=change(GOOD))
    with pytest.raises(DatasetError) as e:
        read_manifest(folder)
    assert says in str(e.value) and str(folder / MANIFEST) in str(e.value)


def test_folders_without_a_manifest_or_images_and_reused_names_are_refused(tmp_path):
    with pytest.raises(DatasetError, match="expected a source manifest"):
        load_extra_sources([_source(tmp_path / "a", manifest=None).parent])
    empty = _source(tmp_path / "b")
    for f in (empty / "images" / "val").iterdir():
        f.unlink()
    with pytest.raises(DatasetError, match="expected JPEG images in images/val"):
        load_extra_sources([empty.parent])
    with pytest.raises(DatasetError, match="already a built-in source"):
        load_extra_sources([_source(tmp_path / "c", name="abonia1-fire-smoke-cctv").parent],
                           reserved=("abonia1-fire-smoke-cctv",))
    with pytest.raises(DatasetError, match="expected a folder of extra source folders"):
        load_extra_sources([tmp_path / "missing"])


def test_the_recipe_builds_an_extra_source_with_its_mask_and_remapped_labels(tmp_path):
    datasets = default_datasets_dir()
    assert datasets is not None, "the shared datasets (../shared/datasets) are needed for this test"
    extra = load_extra_sources([_source(tmp_path / "extra").parent])
    plan = DataPlan("lab", datasets, real_per_source=2, scenes={"train": 0, "val": 0, "test": 0}, held_out=(),
                    extra=extra)
    built = build_dataset(plan, tmp_path / "built")
    lab = PROFILE_CLASSES["lab"]
    assert built.counts["train"]["someone-tiny"] == 2 and "someone-tiny" in built.own_eval
    assert built.class_masks["someone-tiny"] == tuple(lab.index(c) for c in ("fire", "smoke", "person"))
    assert json.loads((tmp_path / "built" / "masks.json").read_text())["someone-tiny"] == list(
        built.class_masks["someone-tiny"])
    labels = {p.name: p.read_text() for p in (tmp_path / "built" / "labels" / "test_real").glob("someone-tiny__*")}
    person = f"{lab.index('person')} 0.5 0.5 0.2 0.4\n"
    assert labels == {"someone-tiny__val0.txt": "", "someone-tiny__val1.txt": person, "someone-tiny__val2.txt": person}
    assert built.extra == extra
    held = DataPlan("lab", datasets, scenes={"train": 0, "val": 0, "test": 0}, held_out=("someone-tiny",), extra=extra)
    assert "someone-tiny" not in held.training_sources()
