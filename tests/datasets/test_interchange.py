"""YOLO/COCO export -> import round trips, and bad archives refused whole with the file and the reason."""
from __future__ import annotations

import io
import os
import stat
import zipfile

import cv2
import numpy as np
import pytest
from sqlalchemy import select

from datasets.archive import ArchiveLimits
from datasets.interchange import export_dataset, import_dataset
from datasets.layout import read_index
from datasets.versions import BuildSpec, build_dataset
from vigil.db.models import DatasetVersion
from vigil.errors import DatasetError


@pytest.fixture
def scene_version(data_env):
    return build_dataset(data_env.sessions, data_env.store, data_env.data_dir,
                         BuildSpec("site", reviews=False, scene_seeds=(3, 4, 5), scene_duration_s=5, scene_fps=1))


def _boxes(version) -> dict:
    return {e["uid"]: (e["sha256"], e["split"], [tuple(b) for b in e["boxes"]]) for e in read_index(version.path)}


@pytest.mark.parametrize("fmt", ["yolo", "coco"])
def test_export_import_round_trip_keeps_every_box(data_env, scene_version, fmt, tmp_path):
    from vigil.db.session import init_db

    out = export_dataset(data_env.sessions, scene_version.name, tmp_path / f"x-{fmt}.zip", fmt)
    names = zipfile.ZipFile(out).namelist()
    assert ("data.yaml" in names and "classes.txt" in names) if fmt == "yolo" else \
        any(n.startswith("annotations/instances_") for n in names)
    # identical content in the same database is the same version
    same = import_dataset(data_env.sessions, data_env.data_dir, out, profile="site", name=f"back-{fmt}")
    assert (same.created, same.id) == (False, scene_version.id)
    engine, other = init_db(f"sqlite:///{tmp_path / 'other.db'}")
    back = import_dataset(other, tmp_path / "other", out, profile="site", name=f"back-{fmt}")
    engine.dispose()
    assert back.created and back.content_hash == scene_version.content_hash
    a, b = _boxes(scene_version), _boxes(back)
    assert a.keys() == b.keys()
    for uid in a:
        assert a[uid][0] == b[uid][0]  # the same image bytes
        assert a[uid][1] == b[uid][1]  # the same split
        assert [x[0] for x in a[uid][2]] == [x[0] for x in b[uid][2]]
        assert np.allclose([x[1:] for x in a[uid][2]] or np.zeros((0, 4)),
                           [x[1:] for x in b[uid][2]] or np.zeros((0, 4)), atol=1.5e-6)
    assert sum(len(v[2]) for v in a.values()) > 5
    assert back.sources[0]["format"] == fmt


def _jpeg() -> bytes:
    return cv2.imencode(".jpg", np.full((40, 60, 3), 128, np.uint8))[1].tobytes()


def _zip(tmp_path, members: dict[str, bytes], name="bad.zip", links=()) -> str:
    path = tmp_path / name
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for n, data in members.items():
            zf.writestr(n, data)
        for n, target in links:
            info = zipfile.ZipInfo(n)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, target)
    return path


GOOD = {"data.yaml": b"names: {0: fire, 1: smoke}\n", "images/train/a.jpg": None, "labels/train/a.txt": b"0 0.5 0.5 0.2 0.2\n"}


def _members(**changes) -> dict[str, bytes]:
    m = {k: (v if v is not None else _jpeg()) for k, v in GOOD.items()}
    for k, v in changes.items():
        k = k.replace("__", "/").replace("DOT", ".")
        if v is None:
            m.pop(k, None)
        else:
            m[k] = v
    return m


BAD = [
    ("corrupt image", {"images/train/a.jpg": b"\xff\xd8\xffnot really a jpeg"}, (), "images/train/a.jpg", "corrupt"),
    ("box out of range", {"labels/train/a.txt": b"0 0.95 0.5 0.3 0.2\n"}, (), "labels/train/a.txt", "out of range"),
    ("unknown class", {"data.yaml": b"names: {0: fire, 1: unicorn}\n", "labels/train/a.txt": b"1 0.5 0.5 0.2 0.2\n"},
     (), "labels/train/a.txt", "unknown class 'unicorn'"),
    ("class id past names", {"labels/train/a.txt": b"7 0.5 0.5 0.2 0.2\n"}, (), "labels/train/a.txt", "unknown class id 7"),
    ("dot-dot path", {"../evil.jpg": b"x"}, (), "../evil.jpg", "contains '..'"),
    ("absolute path", {"/etc/evil.txt": b"x"}, (), "/etc/evil.txt", "absolute path"),
    ("symlink", {}, (("images/train/b.jpg", "/etc/passwd"),), "images/train/b.jpg", "symbolic link"),
    ("zip bomb by ratio", {"images/train/zeros.txt": b"\0" * (3 << 20)}, (), "zeros.txt", "zip bomb"),
    ("orphan label", {"labels/train/zz.txt": b"0 0.5 0.5 0.2 0.2\n"}, (), "labels/train/zz.txt", "without a matching image"),
]


@pytest.mark.parametrize("what,changes,links,named,why", BAD, ids=[b[0] for b in BAD])
def test_bad_archives_are_refused_and_nothing_stays(data_env, tmp_path, what, changes, links, named, why):
    members = {k: (v if v is not None else _jpeg()) for k, v in GOOD.items()}
    members.update(changes)
    archive = _zip(tmp_path, members, links=links)
    with pytest.raises(DatasetError) as e:
        import_dataset(data_env.sessions, data_env.data_dir, archive, profile="site", name="incoming")
    assert named in str(e.value) and why in str(e.value)
    root = data_env.data_dir / "datasets"
    assert not root.exists() or os.listdir(root) == []
    with data_env.sessions() as s:
        assert s.scalars(select(DatasetVersion)).first() is None


@pytest.mark.parametrize("limits,why", [(ArchiveLimits(max_files=2), "holds 3 members; the limit is 2"),
                                        (ArchiveLimits(max_total_bytes=100), "the limit is 100"),
                                        (ArchiveLimits(max_file_bytes=50), "the limit is 50")])
def test_archive_limits_by_count_and_size(data_env, tmp_path, limits, why):
    archive = _zip(tmp_path, {k: (v if v is not None else _jpeg()) for k, v in GOOD.items()})
    with pytest.raises(DatasetError, match=why):
        import_dataset(data_env.sessions, data_env.data_dir, archive, profile="site", limits=limits)


def test_the_good_archive_imports(data_env, tmp_path):
    archive = _zip(tmp_path, {k: (v if v is not None else _jpeg()) for k, v in GOOD.items()}, name="good.zip")
    v = import_dataset(data_env.sessions, data_env.data_dir, archive, profile="site")
    assert v.stats["boxes"] == 1 and v.stats["classes"]["fire"] == 1 and v.stats["splits"]["train"]["images"] == 1


def test_not_a_zip_is_refused(data_env, tmp_path):
    p = tmp_path / "x.zip"
    p.write_bytes(b"PK\x03\x04garbage")
    with pytest.raises(DatasetError, match="x.zip: expected a zip archive"):
        import_dataset(data_env.sessions, data_env.data_dir, p, profile="site")
