"""Dataset versions: build from sources (reviews, scenes, other versions), store immutably, list and show."""
from __future__ import annotations

import re
import shutil
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Callable, Iterable, Iterator

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from datasets.layout import freeze, iter_samples, read_splits, write_layout
from datasets.samples import Sample, review_samples, scene_samples
from datasets.splits import assign_splits
from vigil.catalogue import PROFILE_CLASSES
from vigil.db.models import DatasetVersion
from vigil.errors import DatasetError, NotFoundError
from vigil.store import EvidenceStore

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
Progress = Callable[[str, int], None]  # (stage, items done in this call)


@dataclass(frozen=True)
class VersionInfo:
    """A dataset version as callers see it (detached from the database session)."""

    id: int
    name: str
    profile: str
    content_hash: str
    path: Path
    stats: dict
    sources: list
    parent: str | None
    created_by: str
    created_at: datetime
    created: bool = True  # False when an identical version already existed and was returned instead

    @property
    def data_yaml(self) -> Path:
        return self.path / "data.yaml"


@dataclass(frozen=True)
class BuildSpec:
    """What goes into a new version of a profile's dataset."""

    profile: str
    name: str | None = None  # default: PROFILE-vN
    reviews: bool = True  # reviewed labels (confirmed, corrected, hard negatives)
    scene_seeds: tuple[int, ...] = ()  # rendered demo scenes
    scene_duration_s: float = 20.0
    scene_fps: float = 1.0
    scene_size: tuple[int, int] = (320, 180)
    include: tuple[str, ...] = ()  # other versions (e.g. imported sets) whose images are merged
    val: float = 0.15
    test: float = 0.15
    created_by: str = ""
    extra_sources: tuple[str, ...] = field(default=())


def datasets_root(data_dir: Path) -> Path:
    return Path(data_dir) / "datasets"


def _info(row: DatasetVersion, parent: str | None, created: bool = True) -> VersionInfo:
    return VersionInfo(row.id, row.name, row.profile, row.content_hash, Path(row.path), dict(row.stats),
                       list(row.sources), parent, row.created_by, row.created_at, created)


def _parent_name(s: Session, row: DatasetVersion) -> str | None:
    return s.get(DatasetVersion, row.parent_id).name if row.parent_id else None


def list_versions(sessions: sessionmaker[Session], profile: str | None = None) -> list[VersionInfo]:
    with sessions() as s:
        q = select(DatasetVersion).order_by(DatasetVersion.id)
        if profile:
            q = q.where(DatasetVersion.profile == profile)
        return [_info(r, _parent_name(s, r)) for r in s.scalars(q)]


def get_version(sessions: sessionmaker[Session], ref: str | int) -> VersionInfo:
    """A version by name or id."""
    with sessions() as s:
        q = select(DatasetVersion).where(DatasetVersion.id == int(ref)) if str(ref).isdigit() else \
            select(DatasetVersion).where(DatasetVersion.name == str(ref))
        row = s.scalars(q).first()
        if row is None:
            raise NotFoundError(f"dataset version {ref!r} not found")
        return _info(row, _parent_name(s, row))


def latest_version(sessions: sessionmaker[Session], profile: str) -> VersionInfo | None:
    versions = list_versions(sessions, profile)
    return versions[-1] if versions else None


def _check_profile(profile: str) -> tuple[str, ...]:
    if profile not in PROFILE_CLASSES:
        raise DatasetError(f"profile must be one of {', '.join(PROFILE_CLASSES)}; got {profile!r}")
    return PROFILE_CLASSES[profile]


def _default_name(sessions: sessionmaker[Session], profile: str) -> str:
    with sessions() as s:
        n = s.scalar(select(func.count()).select_from(DatasetVersion).where(DatasetVersion.profile == profile))
        taken = set(s.scalars(select(DatasetVersion.name)))
    n = (n or 0) + 1
    while f"{profile}-v{n}" in taken:
        n += 1
    return f"{profile}-v{n}"


def store_version(sessions: sessionmaker[Session], data_dir: Path, *, profile: str, name: str | None,
                  samples: Iterable[Sample], sources: list, created_by: str = "", frozen: dict[str, str] | None = None,
                  parent: VersionInfo | None = None, fractions: tuple[float, float] = (0.15, 0.15),
                  progress: Progress | None = None) -> VersionInfo:
    """Split `samples` by group (respecting `frozen`), write them in a staging folder, then move the finished
    version into place atomically and record it. Identical content returns the existing version."""
    classes = _check_profile(profile)
    name = name or _default_name(sessions, profile)
    if not NAME_RE.match(name):
        raise DatasetError(f"dataset name must match {NAME_RE.pattern}; got {name!r}")
    items = list(samples)
    splits = assign_splits((s.group for s in items), frozen=frozen, val=fractions[0], test=fractions[1],
                           labelled={s.group for s in items if s.boxes})
    root = datasets_root(data_dir)
    root.mkdir(parents=True, exist_ok=True)
    staging = root / f".staging-{uuid.uuid4().hex}"
    try:
        tick = (lambda n: progress("write", n)) if progress else None
        written = write_layout(staging, ((s, splits[s.group]) for s in items), classes, tick)
        with sessions() as s:
            same = s.scalars(select(DatasetVersion).where(DatasetVersion.content_hash == written.content_hash)).first()
            if same is not None:
                return _info(same, _parent_name(s, same), created=False)
            if s.scalars(select(DatasetVersion).where(DatasetVersion.name == name)).first():
                raise DatasetError(f"dataset version {name!r} already exists with other content; choose another name")
        final = root / name
        if final.exists():
            raise DatasetError(f"{final} already exists but is not a recorded version; move it away first")
        freeze(staging)
        staging.rename(final)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    try:
        with sessions() as s:
            row = DatasetVersion(name=name, profile=profile, content_hash=written.content_hash, path=str(final),
                                 stats={**written.stats, "class_names": list(classes)}, sources=sources,
                                 parent_id=parent.id if parent else None, created_by=created_by)
            s.add(row)
            s.commit()
            return _info(row, parent.name if parent else None)
    except BaseException:  # a build stopped here (its worker's SIGTERM) leaves no unrecorded version folder either
        shutil.rmtree(final, ignore_errors=True)
        raise


def _carried_test(parent: VersionInfo, regathered: set[str]) -> Iterator[Sample]:
    """The parent's test images not gathered again: later versions extend the test split, never shrink it."""
    for sample, _split in iter_samples(parent.path, "test"):
        if sample.uid not in regathered:
            yield sample


def _gather(sessions, store, spec: BuildSpec, sources: list, progress: Progress | None) -> list[Sample]:
    items: list[Sample] = []
    dropped: dict[str, int] = {}
    if spec.reviews:
        n0 = len(items)
        for sample in review_samples(sessions, store, spec.profile, dropped):
            items.append(sample)
            if progress:
                progress("reviews", 1)
        sources.append({"kind": "reviews", "images": len(items) - n0, "dropped_boxes": dropped})
    for seed in spec.scene_seeds:
        n0 = len(items)
        for sample in scene_samples(spec.profile, seed, duration_s=spec.scene_duration_s, fps=spec.scene_fps,
                                    size=spec.scene_size):
            items.append(sample)
            if progress:
                progress("scenes", 1)
        sources.append({"kind": "scene", "profile": spec.profile, "seed": seed, "images": len(items) - n0})
    for ref in spec.include:
        other = get_version(sessions, ref)
        if other.profile != spec.profile:
            raise DatasetError(f"cannot include {other.name!r} (profile {other.profile}) in a {spec.profile} dataset")
        n0 = len(items)
        items.extend(s for s, _ in iter_samples(other.path))
        sources.append({"kind": "version", "name": other.name, "content_hash": other.content_hash,
                        "images": len(items) - n0})
    return items


def build_dataset(sessions: sessionmaker[Session], store: EvidenceStore, data_dir: Path, spec: BuildSpec,
                  progress: Progress | None = None) -> VersionInfo:
    """Gather the spec's sources, carry the newest version's frozen test split forward, and store a version."""
    _check_profile(spec.profile)
    sources: list = list(spec.extra_sources)
    items = _gather(sessions, store, spec, sources, progress)
    parent = latest_version(sessions, spec.profile)
    frozen: dict[str, str] = {}
    if parent is not None:
        frozen = read_splits(parent.path)
        uids = {s.uid for s in items}
        carried = list(_carried_test(parent, uids))
        items.extend(carried)
        sources.append({"kind": "frozen_test", "from": parent.name, "images": len(carried)})
    seen: dict[str, Sample] = {}
    for s in items:  # the same image from two sources: the later one wins
        seen[s.uid] = s
    return store_version(sessions, data_dir, profile=spec.profile, name=spec.name, samples=seen.values(),
                         sources=sources, created_by=spec.created_by, frozen=frozen, parent=parent,
                         fractions=(spec.val, spec.test), progress=progress)
