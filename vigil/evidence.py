"""Writing, reading and verifying an alert's evidence: content-addressed files, a signed manifest per revision.

Layout under the store, per alert:
    alerts/<alert_id>/<sha256[:16]>/<name>       every evidence file (write-once)
    alerts/<alert_id>/manifest.json (+ .sig)     revision 1
    alerts/<alert_id>/manifest.r<N>.json (+ .sig) later revisions (an ongoing event that grew)
"""
from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Mapping

from vigil.errors import IntegrityError, NotFoundError, StoreError
from vigil.signing import Signer, verify_signature
from vigil.store.base import EvidenceStore, content_key, safe_key, sha256_hex
from vigil.types import Box, EvidenceFile, EvidenceManifest, utcnow

_MANIFEST = re.compile(r"^manifest(?:\.r(\d+))?\.json$")


@dataclass(frozen=True)
class EvidenceMeta:
    """What the manifest says about the event, besides its files."""

    camera_id: str
    site_id: str
    rule: str
    model_name: str
    model_version: str
    started_at: datetime
    ended_at: datetime
    best_at: datetime
    detections: tuple[Box, ...] = ()
    thresholds: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class VerifyReport:
    alert_id: str
    revision: int
    ok: bool
    problems: tuple[str, ...]
    checked: tuple[str, ...]  # names of files whose hash and size matched


def alert_prefix(alert_id: str) -> str:
    return safe_key(f"alerts/{alert_id}")


def manifest_key(alert_id: str, revision: int) -> str:
    name = "manifest.json" if revision == 1 else f"manifest.r{revision}.json"
    return f"{alert_prefix(alert_id)}/{name}"


def manifest_revisions(store: EvidenceStore, alert_id: str) -> list[int]:
    prefix = alert_prefix(alert_id)
    revs = []
    for key in store.list(prefix):
        m = _MANIFEST.match(key[len(prefix) + 1:])
        if m:
            revs.append(int(m.group(1) or 1))
    return sorted(revs)


def signature_document(manifest_bytes: bytes, signer: Signer) -> bytes:
    doc = {"algorithm": "Ed25519", "key_id": signer.key_id, "manifest_sha256": sha256_hex(manifest_bytes),
           "signature": base64.b64encode(signer.sign(manifest_bytes)).decode()}
    return json.dumps(doc, sort_keys=True, indent=1).encode()


@dataclass(frozen=True)
class EvidenceRevision:
    """One revision built in memory: its manifest, the manifest's key and bytes, and every object to store.

    `objects` lists the files first and the manifest and its signature last: storing them in order means a
    manifest never names an object that is not already stored.
    """

    manifest: EvidenceManifest
    key: str
    body: bytes
    objects: tuple[tuple[str, bytes, str], ...]  # (key, data, content type)

    @property
    def sha256(self) -> str:
        return sha256_hex(self.body)


def build_revision(signer: Signer, *, alert_id: str, revision: int, meta: EvidenceMeta,
                   files: Mapping[str, tuple[bytes, str]]) -> EvidenceRevision:
    """Hash every file, build and sign the manifest; nothing is stored yet (see `store_revision`)."""
    if revision < 1:
        raise StoreError(f"expected an evidence revision >= 1, found {revision}")
    prefix = alert_prefix(alert_id)
    stored, objects = [], []
    for name, (data, content_type) in sorted(files.items()):
        digest = sha256_hex(data)
        key = content_key(prefix, name, digest)
        stored.append(EvidenceFile(name=name, key=key, sha256=digest, size=len(data), content_type=content_type))
        objects.append((key, data, content_type))
    manifest = EvidenceManifest(
        alert_id=alert_id, revision=revision, camera_id=meta.camera_id, site_id=meta.site_id, rule=meta.rule,
        model_name=meta.model_name, model_version=meta.model_version, thresholds=dict(meta.thresholds),
        started_at=meta.started_at, ended_at=meta.ended_at, best_at=meta.best_at,
        detections=tuple(meta.detections), files=tuple(stored), created_at=utcnow())
    body = manifest.canonical_json()
    key = manifest_key(alert_id, revision)
    objects.append((key, body, "application/json"))
    objects.append((key + ".sig", signature_document(body, signer), "application/json"))
    return EvidenceRevision(manifest, key, body, tuple(objects))


def store_revision(store: EvidenceStore, objects) -> None:
    """Put a revision's objects in order (idempotent: write-once keys holding the same bytes are accepted)."""
    for key, data, content_type in objects:
        store.put(key, data, content_type)


def write_evidence(store: EvidenceStore, signer: Signer, *, alert_id: str, revision: int, meta: EvidenceMeta,
                   files: Mapping[str, tuple[bytes, str]]) -> tuple[EvidenceManifest, str]:
    """Store every file, then the manifest and its signature; returns the manifest and its key.

    Files go first: a manifest never names an object that is not already stored.
    """
    rev = build_revision(signer, alert_id=alert_id, revision=revision, meta=meta, files=files)
    store_revision(store, rev.objects)
    return rev.manifest, rev.key


def read_manifest(store: EvidenceStore, alert_id: str, revision: int | None = None
                  ) -> tuple[EvidenceManifest, bytes, bytes | None]:
    """The manifest (latest revision unless given), its exact bytes, and its signature document if any."""
    if revision is None:
        revs = manifest_revisions(store, alert_id)
        if not revs:
            raise NotFoundError(f"alert {alert_id}: no evidence manifest in {store.describe()}")
        revision = revs[-1]
    key = manifest_key(alert_id, revision)
    body = store.get(key)
    try:
        manifest = EvidenceManifest.from_dict(json.loads(body))
    except (ValueError, KeyError, TypeError) as e:
        raise IntegrityError(f"{key}: expected a Vigil evidence manifest, found unreadable JSON "
                             f"({type(e).__name__}: {e})") from None
    sig = store.get(key + ".sig") if store.exists(key + ".sig") else None
    return manifest, body, sig


def check_signature(body: bytes, sig_doc: bytes | None, public_pem: bytes) -> str | None:
    """None when the signature document signs `body` with `public_pem`'s key; else what is wrong."""
    if sig_doc is None:
        return "manifest signature is missing"
    try:
        doc = json.loads(sig_doc)
        signature = base64.b64decode(doc["signature"], validate=True)
    except (ValueError, KeyError, TypeError):
        return "manifest signature file is unreadable"
    if doc.get("manifest_sha256") != sha256_hex(body):
        return "manifest bytes do not match the hash in the signature file (manifest edited)"
    if not verify_signature(public_pem, body, signature):
        return "manifest signature does not verify with the public key"
    return None


def verify_evidence(store: EvidenceStore, alert_id: str, public_pem: bytes | None,
                    revision: int | None = None) -> VerifyReport:
    """Recompute every file's hash and size, check keys stay under the alert, check the signature."""
    try:
        manifest, body, sig = read_manifest(store, alert_id, revision)
    except (NotFoundError, IntegrityError) as e:
        return VerifyReport(alert_id, revision or 0, False, (str(e),), ())
    problems: list[str] = []
    checked: list[str] = []
    if manifest.alert_id != alert_id:
        problems.append(f"manifest names alert {manifest.alert_id}, expected {alert_id}")
    if public_pem is not None:
        bad = check_signature(body, sig, public_pem)
        if bad:
            problems.append(bad)
    prefix = alert_prefix(alert_id) + "/"
    for f in manifest.files:
        if not f.key.startswith(prefix):
            problems.append(f"{f.name}: key {f.key!r} lies outside the alert's prefix")
            continue
        try:
            data = store.get(f.key)
        except NotFoundError:
            problems.append(f"{f.name}: missing from the store ({f.key})")
            continue
        digest = sha256_hex(data)
        if digest != f.sha256:
            problems.append(f"{f.name}: sha256 {digest[:16]}... differs from the manifest's {f.sha256[:16]}...")
        elif len(data) != f.size:
            problems.append(f"{f.name}: size {len(data)} differs from the manifest's {f.size}")
        else:
            checked.append(f.name)
    return VerifyReport(alert_id, manifest.revision, not problems, tuple(problems), tuple(checked))


def read_checked(store: EvidenceStore, f: EvidenceFile) -> bytes:
    """An evidence file's bytes, only if they still match the manifest's hash and size; else IntegrityError.

    What is served or packed as evidence goes through here: a damaged file is named, never passed on as good.
    """
    data = store.get(f.key)
    digest = sha256_hex(data)
    if digest != f.sha256 or len(data) != f.size:
        raise IntegrityError(f"evidence file {f.name} ({f.key}) is damaged: sha256 {digest[:16]}... and "
                             f"{len(data)} bytes, expected {f.sha256[:16]}... and {f.size} bytes from the manifest")
    return data


def verify_against_record(store: EvidenceStore, alert_id: str, public_pem: bytes | None, *, revision: int,
                          manifest_sha256: str, row: Mapping[str, Any] | None = None) -> VerifyReport:
    """Verify the newest stored revision and compare it with what the database recorded for the alert: a
    manifest revision deleted from the store (rolled back), or a manifest swapped, is caught here."""
    report = verify_evidence(store, alert_id, public_pem)
    problems = list(report.problems)
    if revision and report.revision != revision:
        problems.append(f"the store's newest manifest is revision {report.revision}, the database recorded "
                        f"revision {revision} (a revision was removed or added outside Vigil)")
    elif revision and report.revision:
        _, body, _ = read_manifest(store, alert_id, report.revision)
        if sha256_hex(body) != manifest_sha256:
            problems.append(f"manifest revision {revision}: sha256 {sha256_hex(body)[:16]}... differs from the "
                            f"database's {manifest_sha256[:16]}...")
    if row and report.revision:
        manifest, _, _ = read_manifest(store, alert_id, report.revision)
        for name in ("rule", "camera_id", "site_id", "started_at"):
            if name in row and row[name] != getattr(manifest, name):
                problems.append(f"the alert row's {name} ({row[name]}) differs from the signed manifest's "
                                f"({getattr(manifest, name)}): the row was edited")
    return VerifyReport(alert_id, report.revision, not problems, tuple(problems), report.checked)
