"""Safe unpacking of dataset archives: no '..' or absolute paths, no links, no zip bombs (ratio, size, count).

Every limit is checked on the declared sizes before anything is written, and each member is cut off at its
declared size while it is written, so a lying header cannot unpack more than the limits allow."""
from __future__ import annotations

import os
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from vigil.errors import DatasetError

CHUNK = 1 << 20


@dataclass(frozen=True)
class ArchiveLimits:
    max_files: int = 50_000
    max_total_bytes: int = 4 << 30
    max_file_bytes: int = 256 << 20
    # uncompressed / compressed, checked for each member of at least ratio_floor bytes and for the whole archive
    # once it unpacks to at least ratio_floor (many small members each under the floor add up)
    max_ratio: float = 100.0
    ratio_floor: int = 1 << 20


def check_member_name(name: str, archive: str) -> PurePosixPath:
    """A relative path without '..', drive letters or backslashes; refuses anything else naming the member."""
    if not name or "\x00" in name:
        raise DatasetError(f"{archive}: member {name!r} has an empty or invalid name")
    if "\\" in name:
        raise DatasetError(f"{archive}: member {name!r} uses backslashes; expected '/' separated relative paths")
    p = PurePosixPath(name)
    if p.is_absolute() or (len(name) > 1 and name[1] == ":"):
        raise DatasetError(f"{archive}: member {name!r} is an absolute path; expected paths inside the archive")
    if ".." in p.parts:
        raise DatasetError(f"{archive}: member {name!r} contains '..'; expected paths inside the archive")
    return p


def _check_info(info: zipfile.ZipInfo, archive: str, limits: ArchiveLimits) -> None:
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise DatasetError(f"{archive}: member {info.filename!r} is a symbolic link; links are not accepted")
    if info.file_size > limits.max_file_bytes:
        raise DatasetError(f"{archive}: member {info.filename!r} unpacks to {info.file_size} bytes; the limit is "
                           f"{limits.max_file_bytes}")
    if info.file_size >= limits.ratio_floor:
        ratio = info.file_size / max(info.compress_size, 1)
        if ratio > limits.max_ratio:
            raise DatasetError(f"{archive}: member {info.filename!r} compresses {ratio:.0f}:1 (a zip bomb?); the "
                               f"limit is {limits.max_ratio:.0f}:1")


def _copy_capped(src, dst: Path, cap: int, name: str, archive: str) -> int:
    written = 0
    with dst.open("wb") as out:
        while chunk := src.read(CHUNK):
            written += len(chunk)
            if written > cap:
                raise DatasetError(f"{archive}: member {name!r} unpacks to more than its declared size; refused")
            out.write(chunk)
    return written


def safe_extract(archive: Path, dest: Path, limits: ArchiveLimits | None = None) -> None:
    """Unpack a zip into the empty folder `dest`, refusing the whole archive on the first bad member."""
    limits = limits or ArchiveLimits()
    name = Path(archive).name
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as e:
        raise DatasetError(f"{name}: expected a zip archive, found an unreadable file ({e})") from None
    with zf:
        infos = zf.infolist()
        if len(infos) > limits.max_files:
            raise DatasetError(f"{name}: holds {len(infos)} members; the limit is {limits.max_files}")
        total = sum(i.file_size for i in infos)
        if total > limits.max_total_bytes:
            raise DatasetError(f"{name}: unpacks to {total} bytes; the limit is {limits.max_total_bytes}")
        for info in infos:
            check_member_name(info.filename, name)
            _check_info(info, name, limits)
        packed = sum(i.compress_size for i in infos)
        if total >= limits.ratio_floor and total / max(packed, 1) > limits.max_ratio:
            raise DatasetError(f"{name}: unpacks to {total} bytes from {packed} ({total / max(packed, 1):.0f}:1, a "
                               f"zip bomb?); the limit is {limits.max_ratio:.0f}:1 for the whole archive")
        for info in infos:
            target = dest.joinpath(*PurePosixPath(info.filename).parts)
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                with zf.open(info) as src:
                    _copy_capped(src, target, info.file_size, info.filename, name)
            except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as e:
                raise DatasetError(f"{name}: member {info.filename!r} is corrupt ({e})") from None


def check_tree(root: Path) -> None:
    """A folder given for import must hold only regular files and folders (no links pointing elsewhere)."""
    for dirpath, dirs, files in os.walk(root, followlinks=False):
        for n in dirs + files:
            p = Path(dirpath) / n
            if p.is_symlink():
                raise DatasetError(f"{p}: is a symbolic link; links are not accepted in an import")
