"""The detectors shipped in the repository's `models/` folder: what runs when no config names one."""
from __future__ import annotations

from pathlib import Path
from typing import NotRequired, TypedDict


class ShippedEntry(TypedDict):
    model: str
    imgsz: int
    classifiers: list[str]
    people: NotRequired[str]


# One entry per profile: the detector and its second-look classifiers (file names in models/), the image size its
# card was measured at, and the people detector whose person boxes join the detector's (lab: every lab rule hangs
# on a person; no site rule does, so the site profile does not pay for it). `vigil analyze CLIP` without --config
# runs these.
SHIPPED: dict[str, ShippedEntry] = {
    "site": {"model": "site.onnx", "imgsz": 320, "classifiers": ["site_states.onnx", "site_piles.onnx"]},
    "lab": {"model": "lab.onnx", "imgsz": 320, "classifiers": ["lab_activity.onnx", "lab_gloves.onnx",
                                                                    "lab_goggles.onnx"],
            "people": "people.onnx"},
}


def models_dir() -> Path:
    """`models/` beside the installed packages (the repository checkout; `pip install -e .`)."""
    return Path(__file__).resolve().parents[1] / "models"


def shipped_detector(profile: str) -> dict | None:
    """The `detectors.<profile>` config entry for the shipped model (absolute paths), or None when the profile has
    none or its file is missing (a wheel without models/)."""
    entry = SHIPPED.get(profile)
    if entry is None:
        return None
    root = models_dir()
    model = root / entry["model"]
    if not model.is_file():
        return None
    classifiers = [str(root / c) for c in entry["classifiers"] if (root / c).is_file()]
    found = {"model": str(model), "imgsz": entry["imgsz"], "classifiers": classifiers}
    if "people" in entry and (root / entry["people"]).is_file():
        found["people"] = str(root / entry["people"])
    return found
