"""Dataset versions from real review rows and evidence frames: layout, hashes, groups, frozen test split."""
from __future__ import annotations

import json
import os

import pytest
import yaml
from sqlalchemy import select

from datasets.layout import parse_yolo, read_index
from datasets.versions import BuildSpec, build_dataset, get_version, list_versions
from tests.datasets.conftest import DataEnv
from tests.datasets.reviewed import seed_reviews
from vigil.catalogue import PROFILE_CLASSES
from vigil.db.models import DatasetVersion, LabelBox, LabelImage
from vigil.errors import DatasetError


def _build(env: DataEnv, **kw):
    return build_dataset(env.sessions, env.store, env.data_dir, BuildSpec("site", **kw))


def test_build_from_reviews_writes_a_yolo_version(data_env):
    events = seed_reviews(data_env.sessions, data_env.store, data_env.signer, seeds=(21, 22, 23, 24, 25), frames=3)
    v = _build(data_env, created_by="dana")
    assert v.created and v.name == "site-v1" and v.path == data_env.data_dir / "datasets" / "site-v1"
    assert v.stats["images"] == 15 and v.stats["negatives"] >= 3
    assert v.sources[0] == {"kind": "reviews", "images": 15, "dropped_boxes": {}}
    data = yaml.safe_load((v.path / "data.yaml").read_text())
    assert data["names"] == dict(enumerate(PROFILE_CLASSES["site"]))
    index = {e["uid"]: e for e in read_index(v.path)}
    # every labelled box is in its label file, and hard negatives have empty label files
    for ev in events:
        for key, boxes in zip(ev.image_keys, ev.boxes):
            image = data_env.store.get(key)
            entry = next(e for e in index.values() if (v.path / e["image"]).read_bytes() == image)
            assert entry["group"] == f"cam:{ev.camera_id}/event:{ev.event_id}"
            label = (v.path / "labels" / entry["split"] / f"{entry['uid']}.txt").read_text()
            got = parse_yolo(label, PROFILE_CLASSES["site"], "x")
            want = () if ev.kind == "hard_negative" else boxes
            assert [b.cls for b in got] == [b[0] for b in want]
            flat_got = [c for b in got for c in (b.x1, b.y1, b.x2, b.y2)]
            assert flat_got == pytest.approx([c for b in want for c in b[1:]], abs=2e-6)
    # one event never lands on two sides
    by_group: dict[str, set] = {}
    for e in index.values():
        by_group.setdefault(e["group"], set()).add(e["split"])
    assert all(len(s) == 1 for s in by_group.values())
    assert v.stats["splits"]["test"]["images"] > 0 and v.stats["splits"]["train"]["images"] > 0
    # immutable on disk
    some = next(iter(index.values()))
    assert not os.access(v.path / some["image"], os.W_OK) or os.geteuid() == 0
    assert oct((v.path / some["image"]).stat().st_mode & 0o777) == "0o444"


def test_same_content_returns_the_existing_version(data_env):
    seed_reviews(data_env.sessions, data_env.store, data_env.signer, seeds=(31, 32, 33), frames=2)
    a = _build(data_env)
    b = _build(data_env)
    assert (b.created, b.id, b.content_hash) == (False, a.id, a.content_hash)
    assert len(list_versions(data_env.sessions)) == 1


def test_newest_revision_wins_and_changes_the_hash(data_env):
    events = seed_reviews(data_env.sessions, data_env.store, data_env.signer, seeds=(41, 42, 43), frames=2,
                          negatives=0)
    a = _build(data_env)
    key = events[0].image_keys[0]
    with data_env.sessions() as s:
        old = s.scalars(select(LabelImage).where(LabelImage.image_key == key)).first()
        new = LabelImage(alert_id=old.alert_id, image_key=key, image_sha256=old.image_sha256, camera_id=old.camera_id,
                         event_id=old.event_id, profile="site", width=old.width, height=old.height,
                         kind="correction", revision=2,
                         boxes=[LabelBox(class_name="dust", x1=0.1, y1=0.2, x2=0.3, y2=0.4)])
        s.add(new)
        s.commit()
    b = _build(data_env)
    assert b.created and b.content_hash != a.content_hash and b.parent == a.name
    entry = next(e for e in read_index(b.path) if (b.path / e["image"]).read_bytes() == data_env.store.get(key))
    assert entry["boxes"] == [["dust", 0.1, 0.2, 0.3, 0.4]]


def test_later_versions_extend_the_frozen_test_split(data_env):
    seed_reviews(data_env.sessions, data_env.store, data_env.signer, seeds=(51, 52, 53, 54), frames=2)
    a = _build(data_env)
    seed_reviews(data_env.sessions, data_env.store, data_env.signer, seeds=(55, 56, 57, 58, 59, 60), frames=2)
    b = _build(data_env, scene_seeds=(61,), scene_duration_s=4)
    ia = {e["uid"]: e["split"] for e in read_index(a.path)}
    ib = {e["uid"]: e["split"] for e in read_index(b.path)}
    assert all(ib[u] == s for u, s in ia.items())  # nothing reshuffled, nothing lost
    assert {u for u, s in ib.items() if s == "test"} >= {u for u, s in ia.items() if s == "test"}
    assert len(ib) == len(ia) + 12 + 4
    assert {"kind": "frozen_test", "from": a.name, "images": 0} in b.sources
    assert get_version(data_env.sessions, b.name).parent == a.name


def test_tampered_evidence_image_is_refused(data_env):
    events = seed_reviews(data_env.sessions, data_env.store, data_env.signer, seeds=(71, 72), frames=1)
    path = data_env.store.root / events[0].image_keys[0]
    os.chmod(path, 0o644)
    path.write_bytes(path.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(DatasetError, match="does not match its recorded sha256"):
        _build(data_env)
    with data_env.sessions() as s:
        assert s.scalars(select(DatasetVersion)).first() is None
    assert [p.name for p in (data_env.data_dir / "datasets").iterdir()] == [] \
        if (data_env.data_dir / "datasets").exists() else True


def test_build_on_postgresql(pg_url, tmp_path):
    from vigil.db.session import init_db
    from vigil.signing import Signer
    from vigil.store.local import LocalStore

    engine, sessions = init_db(pg_url)
    env = DataEnv(tmp_path, sessions, LocalStore(tmp_path / "ev"), Signer.load_or_create(tmp_path / "k.pem"))
    seed_reviews(sessions, env.store, env.signer, seeds=(81, 82, 83), frames=2)
    v = _build(env)
    assert v.stats["images"] == 6 and json.loads((v.path / "splits.json").read_text())
    engine.dispose()
