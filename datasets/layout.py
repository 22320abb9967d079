"""The on-disk dataset version: YOLO layout (images/, labels/, data.yaml), index.json, splits.json, stats."""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

import yaml

from datasets.samples import LabelledBox, Sample, check_box
from datasets.splits import SPLITS
from vigil.errors import DatasetError

INDEX = "index.json"
SPLITS_FILE = "splits.json"
META = "version.json"


@dataclass(frozen=True)
class Written:
    """What writing a layout produced: the content hash, class statistics and the group -> split map."""

    content_hash: str
    stats: dict
    splits: dict[str, str]


def yolo_text(boxes: Iterable[LabelledBox], classes: tuple[str, ...]) -> str:
    """YOLO label lines (class cx cy w h, 7 decimals: boxes kept to 6 decimals as xyxy survive a round trip)."""
    rows = []
    for b in boxes:
        rows.append(f"{classes.index(b.cls)} {(b.x1 + b.x2) / 2:.7f} {(b.y1 + b.y2) / 2:.7f} "
                    f"{b.x2 - b.x1:.7f} {b.y2 - b.y1:.7f}")
    return "".join(r + "\n" for r in rows)


def parse_yolo(text: str, classes: tuple[str, ...], what: str) -> tuple[LabelledBox, ...]:
    """Boxes from YOLO label text; refuses bad rows, unknown class ids and boxes outside the image."""
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 5:
            raise DatasetError(f"{what} line {n}: expected 'class cx cy w h', found {line.strip()[:80]!r}")
        try:
            cid = int(parts[0])
            cx, cy, w, h = (float(p) for p in parts[1:])
        except ValueError:
            raise DatasetError(f"{what} line {n}: expected numbers, found {line.strip()[:80]!r}") from None
        if not 0 <= cid < len(classes):
            raise DatasetError(f"{what} line {n}: unknown class id {cid}; the dataset names {len(classes)} classes")
        box = LabelledBox(classes[cid], cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
        out.append(check_box(box, classes, f"{what} line {n}").rounded())
    return tuple(out)


def _stats(entries: list[dict], classes: tuple[str, ...]) -> dict:
    stats: dict = {"images": len(entries), "boxes": 0, "negatives": 0, "classes": {c: 0 for c in classes},
                   "splits": {s: {"images": 0, "boxes": 0, "groups": 0} for s in SPLITS}}
    groups: dict[str, set] = {s: set() for s in SPLITS}
    for e in entries:
        n = len(e["boxes"])
        stats["boxes"] += n
        stats["negatives"] += n == 0
        sp = stats["splits"][e["split"]]
        sp["images"] += 1
        sp["boxes"] += n
        groups[e["split"]].add(e["group"])
        for b in e["boxes"]:
            stats["classes"][b[0]] += 1
    for s in SPLITS:
        stats["splits"][s]["groups"] = len(groups[s])
    return stats


def write_layout(root: Path, samples: Iterable[tuple[Sample, str]], classes: tuple[str, ...],
                 progress=None) -> Written:
    """Write samples (with their split) as a YOLO dataset under `root`; returns hash, stats and splits."""
    for s in SPLITS:
        (root / "images" / s).mkdir(parents=True, exist_ok=True)
        (root / "labels" / s).mkdir(parents=True, exist_ok=True)
    entries: list[dict] = []
    seen: set[str] = set()
    for sample, split in samples:
        if sample.uid in seen:
            raise DatasetError(f"sample {sample.uid!r} appears twice; expected unique sample ids")
        seen.add(sample.uid)
        image = f"images/{split}/{sample.uid}{sample.ext}"
        (root / image).write_bytes(sample.data)
        label = yolo_text(sample.boxes, classes)
        (root / "labels" / split / f"{sample.uid}.txt").write_text(label)
        entries.append({"uid": sample.uid, "split": split, "group": sample.group, "source": sample.source,
                        "image": image, "sha256": sample.sha256, "width": sample.width, "height": sample.height,
                        "label_sha256": hashlib.sha256(label.encode()).hexdigest(),
                        "boxes": [[b.cls, b.x1, b.y1, b.x2, b.y2] for b in sample.boxes]})
        if progress:
            progress(1)
    if not entries:
        raise DatasetError("no labelled images found in the chosen sources; nothing to build")
    entries.sort(key=lambda e: e["uid"])
    digest = hashlib.sha256()
    for e in entries:
        digest.update(f"{e['split']}/{e['uid']}:{e['sha256']}:{e['label_sha256']}\n".encode())
    digest.update(("classes:" + ",".join(classes)).encode())
    splits = {e["group"]: e["split"] for e in entries}
    data_yaml = {"path": ".", "train": "images/train", "val": "images/val", "test": "images/test",
                 "nc": len(classes), "names": {i: c for i, c in enumerate(classes)}}
    (root / "data.yaml").write_text(yaml.safe_dump(data_yaml, sort_keys=False))
    (root / INDEX).write_text(json.dumps(entries, indent=0))
    (root / SPLITS_FILE).write_text(json.dumps(splits, indent=1, sort_keys=True))
    return Written(digest.hexdigest(), _stats(entries, classes), splits)


def freeze(root: Path) -> None:
    """Make every file of a finished version read-only (versions are immutable)."""
    for dirpath, _dirs, files in os.walk(root):
        for f in files:
            os.chmod(Path(dirpath) / f, 0o444)


def read_index(root: Path) -> list[dict]:
    p = Path(root) / INDEX
    if not p.is_file():
        raise DatasetError(f"{root}: expected a dataset version folder with {INDEX}, found none")
    return json.loads(p.read_text())


def read_splits(root: Path) -> dict[str, str]:
    return json.loads((Path(root) / SPLITS_FILE).read_text())


def iter_samples(root: Path, split: str | None = None) -> Iterator[tuple[Sample, str]]:
    """(Sample, split) for every image of a written version (optionally one split)."""
    root = Path(root)
    for e in read_index(root):
        if split is not None and e["split"] != split:
            continue
        data = (root / e["image"]).read_bytes()
        boxes = tuple(LabelledBox(*b) for b in e["boxes"])
        yield Sample(e["uid"], data, Path(e["image"]).suffix, e["width"], e["height"], boxes, e["group"],
                     e["source"]), e["split"]
