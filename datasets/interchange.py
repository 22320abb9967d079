"""Import and export of dataset versions as YOLO or COCO zips; an import is all-or-nothing."""
from __future__ import annotations

import os
import shutil
import tempfile
import zipfile
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from datasets.archive import ArchiveLimits, check_tree, safe_extract
from datasets.formats import detect_format, iter_read, write_coco, write_yolo
from datasets.layout import iter_samples
from datasets.versions import Progress, VersionInfo, datasets_root, get_version, store_version
from vigil.catalogue import PROFILE_CLASSES
from vigil.errors import DatasetError

FORMATS = ("yolo", "coco")


def _unwrap(root: Path) -> Path:
    """Archives often hold one top folder; look inside it."""
    entries = [p for p in root.iterdir() if not p.name.startswith("__MACOSX")]
    return entries[0] if len(entries) == 1 and entries[0].is_dir() else root


def import_dataset(sessions: sessionmaker[Session], data_dir: Path, source: Path, *, profile: str,
                   name: str | None = None, fmt: str | None = None, created_by: str = "",
                   limits: ArchiveLimits | None = None, progress: Progress | None = None) -> VersionInfo:
    """Check and import a YOLO or COCO zip (or folder) as a new dataset version of `profile`.

    Every image must decode, every box be inside its image and of a class of the profile, and no member may
    escape the archive; the first problem refuses the whole import with the file and the reason, and nothing
    of it stays (it is unpacked and written in staging folders, and moved into place only when complete)."""
    if profile not in PROFILE_CLASSES:
        raise DatasetError(f"profile must be one of {', '.join(PROFILE_CLASSES)}; got {profile!r}")
    source = Path(source)
    if not source.exists():
        raise DatasetError(f"{source}: expected a zip archive or a folder, found nothing")
    root = datasets_root(data_dir)
    root.mkdir(parents=True, exist_ok=True)
    unpack = Path(tempfile.mkdtemp(prefix=".import-", dir=root))
    try:
        if source.is_dir():
            check_tree(source)
            tree = source
        else:
            safe_extract(source, unpack, limits)
            tree = _unwrap(unpack)
        fmt = fmt or detect_format(tree)
        label = f"import:{source.name}"
        pairs = list(iter_read(tree, fmt, PROFILE_CLASSES[profile], label))
        if progress:
            progress("check", len(pairs))
        if not pairs:
            raise DatasetError(f"{source.name}: no images found")
        frozen = {s.group: split for s, split in pairs if split}
        return store_version(sessions, data_dir, profile=profile, name=name, samples=[s for s, _ in pairs],
                             sources=[{"kind": "import", "file": source.name, "format": fmt, "images": len(pairs)}],
                             created_by=created_by, frozen=frozen, progress=progress)
    finally:
        shutil.rmtree(unpack, ignore_errors=True)


def export_dataset(sessions: sessionmaker[Session], ref: str | int, out: Path, fmt: str = "yolo",
                   progress: Progress | None = None) -> Path:
    """Write a version as a zip in `fmt` (yolo: Ultralytics/CVAT/Label Studio layout; coco: instances json)."""
    if fmt not in FORMATS:
        raise DatasetError(f"export format must be one of {', '.join(FORMATS)}; got {fmt!r}")
    version = get_version(sessions, ref)
    classes = tuple(version.stats.get("class_names") or PROFILE_CLASSES[version.profile])
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".export-", dir=out.parent) as tmp:
        folder = Path(tmp) / version.name
        writer = write_yolo if fmt == "yolo" else write_coco
        n = writer(folder, iter_samples(version.path), classes)
        part = Path(tmp) / "out.zip"
        with zipfile.ZipFile(part, "w", zipfile.ZIP_DEFLATED) as zf:
            for dirpath, _dirs, files in os.walk(folder):
                for f in sorted(files):
                    p = Path(dirpath) / f
                    zf.write(p, p.relative_to(folder).as_posix())
        if progress:
            progress("export", n)
        os.replace(part, out)
    return out
