"""The evidence store on a local folder and on a real S3 server: write-once, key safety, verify, signatures."""
from __future__ import annotations

import json
import pickle
from datetime import datetime, timezone

import pytest

from vigil.errors import KeyEscapeError, NotFoundError, ObjectExistsError
from vigil.evidence import EvidenceMeta, manifest_revisions, read_manifest, verify_evidence, write_evidence
from vigil.signing import Signer
from vigil.store.base import content_key, sha256_hex
from vigil.types import Box

T0 = datetime(2026, 11, 2, 9, 30, tzinfo=timezone.utc)
META = EvidenceMeta(camera_id="gate", site_id="works", rule="open_burning", model_name="site", model_version="v3",
                    started_at=T0, ended_at=T0, best_at=T0, thresholds={"min_s": 3.0},
                    detections=(Box((1.0, 2.0, 30.0, 40.0), "fire", 0.91, 7),))
FILES = {"clip.mp4": (b"\x00\x00\x00\x18ftypmp42" + b"x" * 500, "video/mp4"),
         "best_raw.jpg": (b"\xff\xd8raw", "image/jpeg"), "best_annotated.jpg": (b"\xff\xd8ann", "image/jpeg")}


def test_put_get_write_once(store):
    obj = store.put("alerts/a1/f.bin", b"hello", "application/octet-stream")
    assert obj.sha256 == sha256_hex(b"hello") and obj.size == 5
    assert store.get("alerts/a1/f.bin") == b"hello"
    assert store.put("alerts/a1/f.bin", b"hello").sha256 == obj.sha256  # same bytes: idempotent
    with pytest.raises(ObjectExistsError):
        store.put("alerts/a1/f.bin", b"changed")
    assert store.get("alerts/a1/f.bin") == b"hello"  # nothing overwritten
    assert store.exists("alerts/a1/f.bin") and not store.exists("alerts/a1/g.bin")
    with pytest.raises(NotFoundError):
        store.get("alerts/a1/missing.bin")
    assert store.list("alerts/a1") == ["alerts/a1/f.bin"]


def test_a_store_pickles_as_what_reopens_it(store):
    """A dataset build's worker process gets the server's store pickled: the copy opens its own client and reads
    what the original wrote (the minio client itself holds sockets and cannot travel)."""
    store.put("pickled/a.bin", b"same bytes")
    copy = pickle.loads(pickle.dumps(store))
    assert copy is not store and copy.describe() == store.describe()
    assert copy.get("pickled/a.bin") == b"same bytes" and copy.retention_days == store.retention_days


@pytest.mark.parametrize("key", ["../etc/passwd", "alerts/../../x", "/abs/path", "alerts/a\x00b", "alerts//x",
                                 "alerts/./x", "", "alerts\\..\\x", "C:/windows", "alerts/sp ace"])
def test_keys_cannot_escape(store, key):
    with pytest.raises(KeyEscapeError):
        store.put(key, b"x")


def test_content_key_refuses_bad_hash():
    with pytest.raises(KeyEscapeError):
        content_key("alerts/a", "clip.mp4", "../../" + "a" * 58)


def test_evidence_roundtrip_verify_and_tamper(store, tmp_path):
    signer = Signer.load_or_create(tmp_path / "keys" / "k.pem")
    manifest, key = write_evidence(store, signer, alert_id="a-1", revision=1, meta=META, files=FILES)
    assert key == "alerts/a-1/manifest.json"
    assert {f.name for f in manifest.files} == set(FILES)
    for f in manifest.files:
        assert f.key.startswith("alerts/a-1/") and f.sha256 == sha256_hex(FILES[f.name][0])
    report = verify_evidence(store, "a-1", signer.public_key_pem())
    assert report.ok, report.problems
    assert set(report.checked) == set(FILES)

    # a second revision (the event grew) does not touch the first
    later = EvidenceMeta(**{**META.__dict__, "ended_at": T0.replace(minute=31)})
    write_evidence(store, signer, alert_id="a-1", revision=2, meta=later,
                   files={**FILES, "clip.mp4": (FILES["clip.mp4"][0] + b"more", "video/mp4")})
    assert manifest_revisions(store, "a-1") == [1, 2]
    latest, _, _ = read_manifest(store, "a-1")
    assert latest.revision == 2 and latest.ended_at.minute == 31
    assert verify_evidence(store, "a-1", signer.public_key_pem(), revision=1).ok

    # a different key does not verify
    other = Signer.generate()
    bad = verify_evidence(store, "a-1", other.public_key_pem())
    assert not bad.ok and any("does not verify" in p for p in bad.problems)


def test_tampered_file_and_manifest_are_named(tmp_path):
    from vigil.store.local import LocalStore

    store = LocalStore(tmp_path / "ev")
    signer = Signer.generate()
    manifest, key = write_evidence(store, signer, alert_id="a-2", revision=1, meta=META, files=FILES)
    clip = manifest.file("clip.mp4")
    (tmp_path / "ev" / clip.key).write_bytes(b"edited footage")
    report = verify_evidence(store, "a-2", signer.public_key_pem())
    assert not report.ok and any(p.startswith("clip.mp4: sha256") for p in report.problems)
    assert "best_raw.jpg" in report.checked

    doc = json.loads((tmp_path / "ev" / key).read_text())
    doc["rule"] = "dust"
    (tmp_path / "ev" / key).write_text(json.dumps(doc, sort_keys=True, separators=(",", ":")))
    report = verify_evidence(store, "a-2", signer.public_key_pem())
    assert any("manifest edited" in p for p in report.problems)

    (tmp_path / "ev" / manifest.file("best_raw.jpg").key).unlink()
    report = verify_evidence(store, "a-2", signer.public_key_pem())
    assert any(p.startswith("best_raw.jpg: missing") for p in report.problems)


def test_signing_key_persists(tmp_path):
    path = tmp_path / "k.pem"
    a = Signer.load_or_create(path)
    b = Signer.load_or_create(path)
    assert a.public_key_pem() == b.public_key_pem() and a.key_id == b.key_id
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    path.write_text("garbage")
    from vigil.errors import ConfigError

    with pytest.raises(ConfigError, match="expected an unencrypted Ed25519 private key"):
        Signer.load_or_create(path)


def test_s3_errors_never_show_the_secret(s3_server):
    from vigil.errors import StoreError
    from vigil.store.s3 import S3Store

    with pytest.raises(StoreError) as info:
        S3Store(s3_server.url, "evidence-x", s3_server.extra["access_key"], "wrong-secret-value-123", secure=False)
    assert "wrong-secret-value-123" not in str(info.value)


def test_s3_object_lock_when_offered(s3_server):
    from vigil.store.s3 import S3Store

    store = S3Store(s3_server.url, "evidence-locked", s3_server.extra["access_key"], s3_server.extra["secret_key"],
                    secure=False, object_lock_days=1)
    assert store.retention_note  # said at start-up either way
    obj = store.put("alerts/l1/f.bin", b"locked")
    assert store.get(obj.key) == b"locked"
    if store.retention_days:
        ret = store.client.get_object_retention(store.bucket, obj.key)
        assert ret is not None and ret.mode == "COMPLIANCE"
