"""A lead's own evidence: on-site photos and video, the firm's replies and drafted documents, stored content-addressed
under leads/<id>/ and listed in a chain of signed lead manifests (each names the hash of the one before).

Layout under the store, per lead:
    leads/<id>/<sha256[:16]>/<name>          every file (write-once)
    leads/<id>/manifest.r<N>.json (+ .sig)    revision N lists every file so far and the previous manifest's hash
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from api.ops.leads import user_id_of
from api.ops.workflow import ATTACH_ELIGIBLE_STATES, LeadState, WorkflowError
from vigil import audit
from vigil.db.models import Lead, LeadAttachment, LeadDocument, User
from vigil.db.session import session_scope
from vigil.errors import InputError, NotFoundError
from vigil.evidence import check_signature, signature_document
from vigil.store.base import content_key, safe_key, sha256_hex
from vigil.types import iso_utc, utcnow

MEDIA_TYPES = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp", "video/mp4": ".mp4",
               "video/quicktime": ".mov", "video/webm": ".webm"}
MAX_ATTACHMENT_BYTES = 64 << 20
_MANIFEST = re.compile(r"^manifest\.r(\d+)\.json$")


@dataclass(frozen=True)
class NewAttachment:
    """One uploaded file and what the officer (or the firm) says about it."""

    data: bytes
    name: str
    content_type: str
    taken_at: datetime
    latitude: float | None = None
    longitude: float | None = None
    note: str = ""


def lead_prefix(lead_id: int) -> str:
    return safe_key(f"leads/{int(lead_id)}")


def _clean_name(name: str, content_type: str) -> str:
    """A store-safe file name (ASCII letters, digits, . _ -) with the extension of its media type."""
    ext = MEDIA_TYPES[content_type]
    base = name.rsplit("/", 1)[-1]
    if base.lower().endswith(ext):
        base = base[: -len(ext)]
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", base).strip("_")[:80] or "attachment"
    return stem + ext


def check_attachment(a: NewAttachment) -> None:
    if a.content_type not in MEDIA_TYPES:
        raise InputError(f"attachment content type: expected one of {', '.join(MEDIA_TYPES)}, found "
                         f"{a.content_type!r}")
    if not a.data:
        raise InputError("attachment: expected a photo or video, found an empty file")
    if len(a.data) > MAX_ATTACHMENT_BYTES:
        raise InputError(f"attachment: expected at most {MAX_ATTACHMENT_BYTES} bytes, found {len(a.data)}")
    if (a.latitude is None) != (a.longitude is None):
        raise InputError("attachment location: give latitude and longitude together, or neither")
    if a.latitude is not None and a.longitude is not None and not (-90 <= a.latitude <= 90
                                                                   and -180 <= a.longitude <= 180):
        raise InputError(f"attachment location: expected latitude -90..90 and longitude -180..180, found "
                         f"{a.latitude}, {a.longitude}")
    if a.taken_at.tzinfo is None:
        raise InputError("attachment time: expected a time with a zone (UTC), found a naive time")


def add_attachment(services, lead_id: int, a: NewAttachment, actor: str | None, kind: str = "onsite") -> int:
    """Store the file, list it in a new signed lead manifest, audit it; returns the attachment id.

    On-site files need the lead in on-site verification and a signed-in officer; a firm's reply (kind reply,
    actor None) comes through its rectification token instead.
    """
    with services.sessions() as s:  # the lead and its state first: a file for no lead is a 404, not a 422
        lead = s.get(Lead, lead_id)
        if lead is None:
            raise NotFoundError(f"lead {lead_id} does not exist")
        if kind == "onsite" and LeadState(lead.status) not in ATTACH_ELIGIBLE_STATES:
            raise WorkflowError(f"on-site attachments are taken in onsite_verification; lead {lead_id} is in "
                                f"{lead.status}")
    check_attachment(a)
    sha = sha256_hex(a.data)
    name = _clean_name(a.name, a.content_type)
    obj = services.store.put(content_key(lead_prefix(lead_id), name, sha), a.data, a.content_type)
    with session_scope(services.sessions) as s:
        row = LeadAttachment(lead_id=lead_id, kind=kind, name=name, key=obj.key, sha256=obj.sha256, size=obj.size,
                             content_type=a.content_type, taken_at=a.taken_at, latitude=a.latitude,
                             longitude=a.longitude, user_id=user_id_of(s, actor), note=a.note)
        s.add(row)
        s.flush()
        att_id = row.id
    revision = write_lead_manifest(services, lead_id)
    with session_scope(services.sessions) as s:
        saved = s.get(LeadAttachment, att_id)
        if saved is not None:
            saved.manifest_revision = revision
    audit.record(services.sessions, actor or "enterprise", f"lead.attachment.{kind}", "lead", str(lead_id),
                 {"attachment_id": att_id, "name": name, "sha256": sha, "bytes": len(a.data),
                  "taken_at": iso_utc(a.taken_at), "manifest_revision": revision})
    return att_id


def manifest_revisions(store, lead_id: int) -> list[int]:
    prefix = lead_prefix(lead_id)
    return sorted(int(m.group(1)) for k in store.list(prefix) if (m := _MANIFEST.match(k[len(prefix) + 1:])))


def lead_manifest_key(lead_id: int, revision: int) -> str:
    return f"{lead_prefix(lead_id)}/manifest.r{revision}.json"


def _file_entries(s, lead_id: int) -> list[dict]:
    names = {u.id: u.username for u in s.scalars(select(User))}
    out = [{"type": "attachment", "kind": r.kind, "name": r.name, "key": r.key, "sha256": r.sha256, "size": r.size,
            "content_type": r.content_type, "taken_at": iso_utc(r.taken_at), "latitude": r.latitude,
            "longitude": r.longitude, "by": names.get(r.user_id, "enterprise"), "note": r.note}
           for r in s.scalars(select(LeadAttachment).where(LeadAttachment.lead_id == lead_id)
                              .order_by(LeadAttachment.id))]
    out += [{"type": "document", "kind": d.kind, "name": d.key.rsplit("/", 1)[1], "key": d.key, "sha256": d.sha256,
             "size": d.size, "lang": d.lang, "format": d.fmt, "version": d.version, "by": names.get(d.created_by)}
            for d in s.scalars(select(LeadDocument).where(LeadDocument.lead_id == lead_id).order_by(LeadDocument.id))]
    return out


def write_lead_manifest(services, lead_id: int) -> int:
    """A new manifest revision listing every file of the lead, chained to the previous one; returns the revision."""
    store = services.store
    revs = manifest_revisions(store, lead_id)
    previous = None
    if revs:
        key = lead_manifest_key(lead_id, revs[-1])
        previous = {"revision": revs[-1], "key": key, "sha256": sha256_hex(store.get(key))}
    revision = (revs[-1] if revs else 0) + 1
    with services.sessions() as s:
        files = _file_entries(s, lead_id)
    body = json.dumps({"lead_id": lead_id, "revision": revision, "previous": previous, "files": files,
                       "created_at": iso_utc(utcnow())}, sort_keys=True, indent=1, ensure_ascii=False).encode()
    key = lead_manifest_key(lead_id, revision)
    store.put(key, body, "application/json")
    store.put(key + ".sig", signature_document(body, services.signer), "application/json")
    return revision


def verify_lead_manifests(store, lead_id: int, public_pem: bytes) -> list[str]:
    """Every manifest's signature, the chain of previous hashes, and every listed file's hash; [] when all hold."""
    problems, previous_sha = [], None
    for rev in manifest_revisions(store, lead_id):
        key = lead_manifest_key(lead_id, rev)
        body = store.get(key)
        sig = store.get(key + ".sig") if store.exists(key + ".sig") else None
        if (bad := check_signature(body, sig, public_pem)) is not None:
            problems.append(f"{key}: {bad}")
        doc = json.loads(body)
        if (doc["previous"] or {}).get("sha256") != previous_sha:
            problems.append(f"{key}: the previous manifest's hash does not match (chain broken)")
        previous_sha = sha256_hex(body)
        for f in doc["files"]:
            if not store.exists(f["key"]) or sha256_hex(store.get(f["key"])) != f["sha256"]:
                problems.append(f"{f['key']}: missing or its SHA-256 differs from manifest r{rev}")
    return problems


def attachments_of(services, lead_id: int) -> list[dict]:
    with services.sessions() as s:
        return [f for f in _file_entries(s, lead_id) if f["type"] == "attachment"]


def next_document_version(s, lead_id: int, kind: str, lang: str, fmt: str) -> int:
    return (s.scalar(select(func.max(LeadDocument.version)).where(
        LeadDocument.lead_id == lead_id, LeadDocument.kind == kind, LeadDocument.lang == lang,
        LeadDocument.fmt == fmt)) or 0) + 1
