"""Reading and writing YOLO (Ultralytics / CVAT / Label Studio) and COCO folders as labelled samples."""
from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any, Iterable, Iterator

import yaml

from datasets.archive import check_member_name
from datasets.layout import parse_yolo, yolo_text
from datasets.samples import LabelledBox, Sample, check_box, decode_size, image_ext
from vigil.errors import DatasetError
from vigil.safe_yaml import load_yaml

IMAGE_EXTS = {".jpg", ".jpeg", ".png"}
SPLIT_ALIASES = {"train": "train", "val": "val", "valid": "val", "validation": "val", "test": "test"}
ImportedSample = tuple[Sample, str | None]  # the sample and the split the file named (None: unknown)


def _rel(root: Path, p: Path) -> str:
    return p.relative_to(root).as_posix()


def _split_of(parts: Iterable[str]) -> str | None:
    for part in parts:
        if part.lower() in SPLIT_ALIASES:
            return SPLIT_ALIASES[part.lower()]
    return None


def _uid(stem: str, taken: set[str]) -> str:
    base = re.sub(r"[^A-Za-z0-9._-]", "_", stem)[:100] or "image"
    uid, n = base, 1
    while uid in taken:
        n += 1
        uid = f"{base}-{n}"
    taken.add(uid)
    return uid


def _sample(root: Path, image: Path, boxes: tuple[LabelledBox, ...], split: str | None, source: str,
            taken: set[str]) -> Sample:
    data = image.read_bytes()
    rel = _rel(root, image)
    try:
        ext = image_ext(data)
    except DatasetError:
        raise DatasetError(f"{rel}: expected a JPEG or PNG image, found something else") from None
    w, h = decode_size(data, rel)
    uid = _uid(image.stem, taken)
    return Sample(uid, data, ext, w, h, boxes, f"{source}:{split or '-'}:{uid}", source)


# ---------- YOLO ----------

def _yaml(root: Path, f: Path) -> Any:
    """A dataset's YAML, loaded with the config's limits (no bombs, no deep nesting, no repeated keys)."""
    try:
        return load_yaml(f.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise DatasetError(f"{_rel(root, f)}: not valid YAML{where}: {getattr(e, 'problem', None) or e}") from None
    except UnicodeDecodeError:
        raise DatasetError(f"{_rel(root, f)}: expected UTF-8 text, found undecodable bytes") from None


def _yolo_names(root: Path) -> tuple[str, ...]:
    for f in sorted(root.rglob("*.yaml")):
        data = _yaml(root, f) or {}
        names = data.get("names") if isinstance(data, dict) else None
        if isinstance(names, dict):
            return tuple(str(names[k]) for k in sorted(names, key=int))
        if isinstance(names, list):
            return tuple(str(n) for n in names)
    for fname in ("classes.txt", "obj.names"):
        for f in sorted(root.rglob(fname)):
            return tuple(line.strip() for line in f.read_text().splitlines() if line.strip())
    raise DatasetError(f"{root.name}: YOLO data needs its class names: data.yaml 'names', classes.txt or obj.names")


def _label_for(root: Path, image: Path) -> Path | None:
    rel = list(image.relative_to(root).parts)
    candidates = [image.with_suffix(".txt")]
    if "images" in rel:
        i = len(rel) - 1 - rel[::-1].index("images")
        candidates.insert(0, root.joinpath(*rel[:i], "labels", *rel[i + 1:]).with_suffix(".txt"))
    return next((c for c in candidates if c.is_file()), None)


def read_yolo(root: Path, classes: tuple[str, ...], source: str) -> list[ImportedSample]:
    """Every image under `root` with its label file (none: a negative); refuses orphan labels and bad rows."""
    names = _yolo_names(root)
    unknown = [n for n in names if n not in classes]
    out, used, taken = [], set(), set()
    images = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_EXTS and p.is_file())
    for image in images:
        label = _label_for(root, image)
        boxes: tuple[LabelledBox, ...] = ()
        if label is not None:
            used.add(label)
            rel = _rel(root, label)
            raw = parse_yolo(label.read_text(), names, rel) if label.stat().st_size else ()
            bad = [b.cls for b in raw if b.cls in unknown]
            if bad:
                raise DatasetError(f"{rel}: unknown class {bad[0]!r}; expected one of {', '.join(classes)}")
            boxes = raw
        split = _split_of(image.relative_to(root).parts[:-1])
        out.append((_sample(root, image, boxes, split, source, taken), split))
    skip = {"classes.txt", "obj.names", "train.txt", "val.txt", "test.txt", "valid.txt", "notes.txt"}
    for orphan in sorted(p for p in root.rglob("*.txt") if p not in used and p.name not in skip):
        raise DatasetError(f"{_rel(root, orphan)}: a label file without a matching image")
    return out


def write_yolo(out: Path, samples: Iterable[tuple[Sample, str]], classes: tuple[str, ...]) -> int:
    """Ultralytics layout (CVAT 'Ultralytics YOLO Detection', Label Studio 'YOLO' with classes.txt)."""
    n = 0
    for sample, split in samples:
        (out / "images" / split).mkdir(parents=True, exist_ok=True)
        (out / "labels" / split).mkdir(parents=True, exist_ok=True)
        (out / "images" / split / f"{sample.uid}{sample.ext}").write_bytes(sample.data)
        (out / "labels" / split / f"{sample.uid}.txt").write_text(yolo_text(sample.boxes, classes))
        n += 1
    splits = sorted({p.name for p in (out / "images").iterdir()}) if n else []
    data = {"path": ".", **{s: f"images/{s}" for s in splits}, "names": dict(enumerate(classes))}
    (out / "data.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    (out / "classes.txt").write_text("".join(c + "\n" for c in classes))
    return n


# ---------- COCO ----------

def _json(root: Path, f: Path) -> Any:
    try:
        return json.loads(f.read_text())
    except RecursionError:  # json's parser recurses once per nesting level
        raise DatasetError(f"{_rel(root, f)}: JSON nested too deeply; expected a COCO instances file") from None


def _coco_files(root: Path) -> list[Path]:
    found = []
    for f in sorted(root.rglob("*.json")):
        try:
            doc = _json(root, f)
        except (ValueError, UnicodeDecodeError):
            continue
        if isinstance(doc, dict) and {"images", "annotations", "categories"} <= set(doc):
            found.append(f)
    return found


def _find_image(root: Path, jf: Path, file_name: str) -> Path:
    rel = check_member_name(file_name, _rel(root, jf))
    for base in (jf.parent, jf.parent.parent, jf.parent / "images", jf.parent.parent / "images"):
        for cand in (base.joinpath(*rel.parts), base / rel.name):
            if cand.is_file() and root in cand.resolve().parents:
                return cand
    raise DatasetError(f"{_rel(root, jf)}: image {file_name!r} is listed but not in the archive")


def _bbox(jf: str, ann: dict) -> tuple[float, float, float, float]:
    """[x, y, width, height] in pixels: four finite numbers, else one message naming the annotation."""
    bbox = ann.get("bbox")
    if (not isinstance(bbox, list) or len(bbox) != 4
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in bbox)):
        shown = json.dumps(bbox)[:80] if bbox is not None else "none"
        raise DatasetError(f"{jf}: annotation {ann.get('id')}: expected bbox [x, y, width, height] of four finite "
                           f"numbers, found {shown}")
    x, y, bw, bh = (float(v) for v in bbox)
    return x, y, bw, bh


def _coco_boxes(jf: str, img: dict, anns: list[dict], cats: dict[int, str], classes, size) -> tuple[LabelledBox, ...]:
    w, h = size
    if (img.get("width"), img.get("height")) not in ((w, h), (None, None)):
        raise DatasetError(f"{jf}: image {img['file_name']!r} is {w}x{h}, the json says {img.get('width')}x"
                           f"{img.get('height')}")
    out = []
    for a in anns:
        if a.get("category_id") not in cats:
            raise DatasetError(f"{jf}: annotation {a.get('id')} names unknown category id {a.get('category_id')}")
        x, y, bw, bh = _bbox(jf, a)
        box = LabelledBox(cats[a["category_id"]], x / w, y / h, (x + bw) / w, (y + bh) / h)
        out.append(check_box(box, classes, f"{jf} annotation {a.get('id')} ({img['file_name']})").rounded())
    return tuple(out)


def read_coco(root: Path, classes: tuple[str, ...], source: str) -> list[ImportedSample]:
    """COCO instances files (CVAT 'COCO 1.0', Label Studio 'COCO'); the split comes from instances_<split>.json."""
    out, taken = [], set()
    for jf in _coco_files(root):
        rel = _rel(root, jf)
        try:
            out += _read_coco_file(root, jf, rel, classes, source, taken)
        except (KeyError, TypeError, AttributeError, ValueError) as e:  # a field missing or of the wrong type
            what = f"missing key {e}" if isinstance(e, KeyError) else f"{type(e).__name__}: {str(e)[:120]}"
            raise DatasetError(f"{rel}: expected a COCO instances file (images, annotations, categories with "
                               f"their ids), found {what}") from None
    return out


def _read_coco_file(root: Path, jf: Path, rel: str, classes: tuple[str, ...], source: str,
                    taken: set[str]) -> list[ImportedSample]:
    out = []
    doc = _json(root, jf)
    cats = {c["id"]: c["name"] for c in doc["categories"]}
    for name in cats.values():
        if name not in classes:
            raise DatasetError(f"{rel}: unknown class {name!r}; expected one of {', '.join(classes)}")
    by_image: dict = {}
    for a in doc["annotations"]:
        by_image.setdefault(a.get("image_id"), []).append(a)
    split = _split_of(re.split(r"[_.]", jf.stem))
    for img in doc["images"]:
        path = _find_image(root, jf, str(img["file_name"]))
        sample = _sample(root, path, (), split, source, taken)
        boxes = _coco_boxes(rel, img, by_image.get(img["id"], []), cats, classes, (sample.width, sample.height))
        out.append((Sample(sample.uid, sample.data, sample.ext, sample.width, sample.height, boxes,
                           sample.group, source), split))
    return out


def write_coco(out: Path, samples: Iterable[tuple[Sample, str]], classes: tuple[str, ...]) -> int:
    """annotations/instances_<split>.json and images/<file> (file_name is the bare file name)."""
    docs: dict[str, dict] = {}
    (out / "images").mkdir(parents=True, exist_ok=True)
    n = 0
    for sample, split in samples:
        doc = docs.setdefault(split, {"images": [], "annotations": [],
                                      "categories": [{"id": i + 1, "name": c, "supercategory": ""}
                                                     for i, c in enumerate(classes)]})
        fn = f"{sample.uid}{sample.ext}"
        (out / "images" / fn).write_bytes(sample.data)
        image_id = len(doc["images"]) + 1
        doc["images"].append({"id": image_id, "file_name": fn, "width": sample.width, "height": sample.height})
        for b in sample.boxes:
            x, y = b.x1 * sample.width, b.y1 * sample.height
            bw, bh = (b.x2 - b.x1) * sample.width, (b.y2 - b.y1) * sample.height
            doc["annotations"].append({"id": len(doc["annotations"]) + 1, "image_id": image_id,
                                       "category_id": classes.index(b.cls) + 1, "bbox": [x, y, bw, bh],
                                       "area": bw * bh, "iscrowd": 0, "segmentation": []})
        n += 1
    (out / "annotations").mkdir(exist_ok=True)
    for split, doc in docs.items():
        (out / "annotations" / f"instances_{split}.json").write_text(json.dumps(doc))
    return n


def detect_format(root: Path) -> str:
    if _coco_files(root):
        return "coco"
    if any(root.rglob("data.yaml")) or any(root.rglob("classes.txt")) or any(root.rglob("obj.names")):
        return "yolo"
    raise DatasetError(f"{root.name}: expected a YOLO (data.yaml, classes.txt or obj.names) or COCO "
                       f"(instances json) dataset, found neither")


def iter_read(root: Path, fmt: str, classes: tuple[str, ...], source: str) -> Iterator[ImportedSample]:
    reader = {"yolo": read_yolo, "coco": read_coco}.get(fmt)
    if reader is None:
        raise DatasetError(f"format must be yolo or coco; got {fmt!r}")
    yield from reader(root, classes, source)
