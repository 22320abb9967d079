"""Drafting a lead's enforcement documents: versioned per (kind, language, format), stored write-once in the
evidence store, listed in the lead's signed manifest chain, and audited when drafted and when read."""
from __future__ import annotations

from api.ops.attachments import lead_prefix, next_document_version, write_lead_manifest
from api.ops.case_facts import gather
from api.ops.document_compose import KINDS, compose
from api.ops.leads import user_id_of
from api.ops.workflow import DRAFT_ELIGIBLE_STATES, LeadState, WorkflowError
from vigil import audit
from vigil.db.models import Lead, LeadDocument
from vigil.db.session import session_scope
from vigil.errors import InputError, NotFoundError
from vigil.store.base import content_key, sha256_hex

MEDIA = {"pdf": "application/pdf",
         "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}


def render(kind: str, lead_id: int, services, lang: str, fmt: str, version: int) -> bytes:
    doc = compose(kind, gather(services, lead_id), lang, version)
    if fmt == "pdf":
        from api.ops.document_pdf import render_document_pdf

        return render_document_pdf(doc)
    from api.ops.document_docx import render_document_docx

    return render_document_docx(doc)


def draft_document(services, lead_id: int, kind: str, lang: str, fmt: str, actor: str) -> int:
    """Draft a new version of one document; returns its id."""
    if kind not in KINDS:
        raise InputError(f"document kind: expected one of {', '.join(KINDS)}, found {kind!r}")
    if lang not in ("zh", "en") or fmt not in MEDIA:
        raise InputError(f"expected lang zh|en and fmt pdf|docx, found {lang!r}, {fmt!r}")
    with services.sessions() as s:
        lead = s.get(Lead, lead_id)
        if lead is None:
            raise NotFoundError(f"lead {lead_id} does not exist")
        if LeadState(lead.status) not in DRAFT_ELIGIBLE_STATES:
            raise WorkflowError(f"documents are drafted from on-site verification on; lead {lead_id} is in "
                                f"{lead.status}")
        version = next_document_version(s, lead_id, kind, lang, fmt)
    data = render(kind, lead_id, services, lang, fmt, version)
    sha = sha256_hex(data)
    name = f"{kind}-{lang}-v{version}.{fmt}"
    obj = services.store.put(content_key(f"{lead_prefix(lead_id)}/documents", name, sha), data, MEDIA[fmt])
    with session_scope(services.sessions) as s:
        row = LeadDocument(lead_id=lead_id, kind=kind, lang=lang, fmt=fmt, version=version, key=obj.key,
                           sha256=sha, size=len(data), created_by=user_id_of(s, actor))
        s.add(row)
        s.flush()
        doc_id = row.id
    revision = write_lead_manifest(services, lead_id)
    audit.record(services.sessions, actor, "lead.document.draft", "lead", str(lead_id),
                 {"document_id": doc_id, "kind": kind, "lang": lang, "fmt": fmt, "version": version, "sha256": sha,
                  "manifest_revision": revision})
    return doc_id


def read_document(services, lead_id: int, doc_id: int, actor: str) -> tuple[bytes, str, str]:
    """A drafted document's bytes, media type and file name; the hash is checked and the read audited."""
    with services.sessions() as s:
        row = s.get(LeadDocument, doc_id)
        if row is None or row.lead_id != lead_id:
            raise NotFoundError(f"lead {lead_id} has no document {doc_id}")
        key, sha, fmt, name = row.key, row.sha256, row.fmt, row.key.rsplit("/", 1)[1]
    data = services.store.get(key)
    if sha256_hex(data) != sha:
        from vigil.errors import IntegrityError

        raise IntegrityError(f"document {doc_id}: stored bytes do not match SHA-256 {sha}")
    audit.record(services.sessions, actor, "lead.document.read", "lead", str(lead_id),
                 {"document_id": doc_id, "sha256": sha})
    return data, MEDIA[fmt], f"lead-{lead_id}-{name}"
