"""Extra labelled sources beside ../shared/datasets, each described by a small manifest (no code edit per source).

`vigil recipe train --extra-datasets DIR` reads every subfolder of DIR that holds a ``vigil-source.yaml``:

    # vigil-source.yaml
    profiles: [site, lab]           # the profiles that train on this folder
    labelled: [fire, smoke]         # unified classes it labels completely (others: loss masked out)
    absent: []                      # unified classes known NOT to appear: taught as hard negatives
    classes: {0: fire, 1: smoke}    # optional: label-file class id -> unified class name (null drops the id);
                                    # default: the ids already are the unified ids (the shared layout)
    licence: CC BY 4.0              # as stated by the source, for the model card
    attribution: "..."              # the line the model card credits
    repository: https://github.com/owner/name   # optional, with commit:
    commit: 0123abcd

The folder itself is laid out like a shared source: ``images/{train,val}/*.jpg`` and ``labels/{train,val}/*.txt``
(YOLO). Its name is the source name in the recipe, the card and the data counts.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vigil.catalogue import PROFILE_CLASSES, UNIFIED_CLASSES
from vigil.errors import DatasetError
from vigil.safe_yaml import load_yaml

MANIFEST = "vigil-source.yaml"
_KEYS = {"profiles", "labelled", "absent", "classes", "licence", "attribution", "repository", "commit", "notes"}
_REQUIRED = ("profiles", "labelled", "licence", "attribution")


@dataclass(frozen=True)
class ExtraSource:
    """One extra source folder and what its manifest says of it."""

    name: str
    root: Path
    profiles: tuple[str, ...]
    labelled: tuple[str, ...]  # unified class names labelled completely
    absent: tuple[str, ...] = ()  # unified class names known not to appear (hard negatives)
    class_map: dict[int, str] = field(default_factory=dict)  # label id -> unified name (ids not here are dropped)
    licence: str = "?"
    attribution: str = ""
    repository: str = ""
    commit: str = ""

    def card_info(self) -> dict[str, str]:
        """What the model card says of this source."""
        what = f"{', '.join(self.labelled) or 'no class'} labelled" + (
            f"; known free of {', '.join(self.absent)} (hard negatives)" if self.absent else "")
        where = f" ({self.repository}{' @ ' + self.commit[:12] if self.commit else ''})" if self.repository else ""
        return {"what": (what + where)[:160], "licence": self.licence, "attribution": self.attribution}


def _fail(path: Path, expected: str, found: Any) -> DatasetError:
    return DatasetError(f"{path}: expected {expected}; found {found!r}")


def _names(path: Path, key: str, value: Any, *, allowed: tuple[str, ...]) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _fail(path, f"'{key}' as a list of names", value)
    unknown = [v for v in value if v not in allowed]
    if unknown:
        raise _fail(path, f"'{key}' names from {', '.join(allowed)}", unknown)
    if len(set(value)) != len(value):
        raise _fail(path, f"'{key}' without repeats", value)
    return tuple(value)


def _class_map(path: Path, value: Any) -> dict[int, str]:
    if value is None:
        return dict(enumerate(UNIFIED_CLASSES))
    if not isinstance(value, dict) or not value:
        raise _fail(path, "'classes' as a mapping of label id -> unified class name (e.g. {0: fire})", value)
    out: dict[int, str] = {}
    for k, v in value.items():
        if isinstance(k, bool) or not isinstance(k, int) or k < 0:
            raise _fail(path, "'classes' keys as label ids (integers >= 0)", k)
        if v is None:
            continue
        if v not in UNIFIED_CLASSES:
            raise _fail(path, f"'classes' values from {', '.join(UNIFIED_CLASSES)} (or null to drop)", v)
        out[k] = v
    return out


def read_manifest(folder: Path) -> ExtraSource:
    """Parse and check `folder/vigil-source.yaml` and the folder's layout; raises DatasetError saying what is wrong."""
    folder = Path(folder)
    path = folder / MANIFEST
    if not path.is_file():
        raise DatasetError(f"expected a source manifest at {path}; found none")
    try:
        doc = load_yaml(path.read_text())
    except Exception as e:  # the YAML error says where
        raise DatasetError(f"{path}: expected a YAML mapping; it does not parse: {e}") from e
    if not isinstance(doc, dict):
        raise _fail(path, "a YAML mapping with " + ", ".join(_REQUIRED), type(doc).__name__)
    missing = [k for k in _REQUIRED if k not in doc]
    if missing:
        raise _fail(path, "the keys " + ", ".join(_REQUIRED), f"no {', '.join(missing)}")
    unknown = sorted(set(doc) - _KEYS)
    if unknown:
        raise _fail(path, "only the keys " + ", ".join(sorted(_KEYS)), unknown)
    profiles = _names(path, "profiles", doc["profiles"], allowed=tuple(PROFILE_CLASSES))
    if not profiles:
        raise _fail(path, "'profiles' naming at least one of " + ", ".join(PROFILE_CLASSES), doc["profiles"])
    labelled = _names(path, "labelled", doc["labelled"], allowed=UNIFIED_CLASSES)
    absent = _names(path, "absent", doc.get("absent"), allowed=UNIFIED_CLASSES)
    both = set(labelled) & set(absent)
    if both:
        raise _fail(path, "a class either labelled or absent, not both", sorted(both))
    if not labelled and not absent:
        raise _fail(path, "at least one class in 'labelled' or 'absent' (else the source teaches nothing)", doc)
    taught = set(labelled) | set(absent)
    if not any(taught & set(PROFILE_CLASSES[p]) for p in profiles):
        raise _fail(path, f"'labelled'/'absent' classes of the profiles {', '.join(profiles)}", sorted(taught))
    class_map = _class_map(path, doc.get("classes"))
    unmapped = [c for c in labelled if c not in class_map.values()]
    if unmapped:
        raise _fail(path, "every labelled class to have a label id in 'classes'", unmapped)
    for key in ("licence", "attribution"):
        if not isinstance(doc[key], str) or not doc[key].strip():
            raise _fail(path, f"'{key}' as a non-empty text", doc[key])
    for split in ("train", "val"):
        if not any((folder / "images" / split).glob("*.jpg")):
            raise DatasetError(f"{folder}: expected JPEG images in images/{split} (the shared layout: "
                               f"images/{{train,val}}, labels/{{train,val}}); found none")
    return ExtraSource(folder.name, folder, profiles, labelled, absent, class_map, doc["licence"].strip(),
                       doc["attribution"].strip(), str(doc.get("repository") or ""), str(doc.get("commit") or ""))


def load_extra_sources(dirs: tuple[Path, ...] | list[Path], reserved: tuple[str, ...] = ()) -> tuple[ExtraSource, ...]:
    """Every source folder (one holding a manifest) under each of `dirs`, sorted by name. A folder without a
    manifest is an error, so a half-prepared source is not silently skipped; `reserved` names (the built-in
    sources) may not be reused."""
    found: dict[str, ExtraSource] = {}
    for d in dirs:
        d = Path(d)
        if not d.is_dir():
            raise DatasetError(f"expected a folder of extra source folders at {d}; found none")
        subs = sorted(p for p in d.iterdir() if p.is_dir() and not p.name.startswith("."))
        if not subs:
            raise DatasetError(f"expected source folders (each with a {MANIFEST}) in {d}; found none")
        for sub in subs:
            src = read_manifest(sub)
            if src.name in reserved or src.name in found:
                where = "a built-in source" if src.name in reserved else f"in {found[src.name].root}"
                raise DatasetError(f"{sub}: expected a source name not used yet; found {src.name!r} already {where}")
            found[src.name] = src
    return tuple(found[k] for k in sorted(found))


def remap_label(text: str, class_map: dict[int, str], keep: tuple[str, ...], classes: tuple[str, ...]) -> str:
    """YOLO label text with ids mapped through `class_map` to `classes` ids; rows of classes not in `keep` dropped."""
    rows = []
    for row in text.splitlines():
        parts = row.split()
        if len(parts) < 5:
            continue
        name = class_map.get(int(parts[0]))
        if name is not None and name in keep and name in classes:
            rows.append(" ".join([str(classes.index(name)), *parts[1:5]]))
    return "\n".join(rows) + ("\n" if rows else "")
