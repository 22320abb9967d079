"""A lead's evidence package: one zip with every alert's signed evidence, the lead's own files (on-site evidence,
replies, documents) and its signed manifest chain, the audit-log extract of everything that touched the lead and its
alerts (chain of custody), the public key, HTML+PDF report (zh or en), VERIFY.txt."""
from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass, field

from sqlalchemy import or_, select

from api.ops.grading import site_grade
from api.ops.leads import get_lead
from api.ops.report import ReportData, ReportFile, ReportViolation, render_html, render_pdf
from api.ops.verify_text import VERIFY_TEXT
from vigil import audit
from vigil.catalogue import RULES
from vigil.db.models import Alert, AuditEntry, Site
from vigil.errors import IntegrityError, NotFoundError
from vigil.evidence import manifest_key, manifest_revisions, read_checked, read_manifest, verify_evidence
from vigil.types import iso_utc, utcnow

ANNOTATED = "best_annotated.jpg"


@dataclass
class _Zip:
    """Files going into the package, in order, with their hashes (what the report lists)."""

    entries: dict[str, bytes] = field(default_factory=dict)

    def add(self, path: str, data: bytes, name: str) -> ReportFile:
        self.entries[path] = data
        return ReportFile(path, name, hashlib.sha256(data).hexdigest(), len(data))


def _alert_files(services, z: _Zip, alert_id: str) -> tuple[list[ReportFile], bytes | None]:
    """The latest revision's files at alerts/<id>/<name>; older revisions' differing files under r<N>/; manifests."""
    store = services.store
    folder = f"alerts/{alert_id}"
    revs = manifest_revisions(store, alert_id)
    files: list[ReportFile] = []
    seen: set[str] = set()
    best = None
    for rev in reversed(revs):
        manifest, _, _ = read_manifest(store, alert_id, rev)
        for f in manifest.files:
            if f.key in seen:
                continue
            seen.add(f.key)
            try:
                data = read_checked(store, f)
            except (IntegrityError, NotFoundError):
                continue  # never packed as if it were good: the report lists it under the alert's problems
            path = f"{folder}/{f.name}" if rev == revs[-1] else f"{folder}/r{rev}/{f.name}"
            files.append(z.add(path, data, f.name))
            if rev == revs[-1] and f.name == ANNOTATED:
                best = data
    for rev in revs:
        key = manifest_key(alert_id, rev)
        base = key.rsplit("/", 1)[1]
        files.append(z.add(f"{folder}/{base}", store.get(key), base))
        if store.exists(key + ".sig"):
            files.append(z.add(f"{folder}/{base}.sig", store.get(key + ".sig"), base + ".sig"))
    return files, best


def _violation(services, z: _Zip, alert: Alert, lang: str = "en", names: dict | None = None) -> ReportViolation:
    from api.i18n import translate
    from api.ops.document_compose import legal_lines

    cfg = services.loaded.config
    spec = cfg.rule_spec(alert.camera_id, alert.rule) if alert.camera_id in cfg.cameras else RULES.get(alert.rule)
    cam = cfg.cameras.get(alert.camera_id)
    files, best = _alert_files(services, z, alert.id)
    report = verify_evidence(services.store, alert.id, services.signer.public_key_pem())
    legal = " ".join(legal_lines(alert.rule, cfg.enforcement.rule(alert.rule), lang))
    if lang == "en" and spec and spec.legal_basis:
        legal = f"{spec.legal_basis} {legal}"
    title = translate(lang, f"rule.{alert.rule}") if lang != "en" else (spec.title if spec else alert.rule)
    return ReportViolation(
        alert_id=alert.id, rule=alert.rule, rule_title=title,
        legal_basis=legal, camera_id=alert.camera_id,
        camera_name=(cam.name if cam and cam.name else alert.camera_id), started_at=alert.started_at,
        ended_at=alert.ended_at, best_at=alert.best_at, best_score=alert.best_score,
        model=f"{alert.model_name or '?'} {alert.model_version}".strip(), revision=report.revision,
        verified=report.ok, problems=report.problems, best_image=best, files=tuple(files),
        confirmed_by=(names or {}).get(alert.reviewer_id, "—"), confirmed_at=alert.reviewed_at)


def _history(services, lead_id: int, lang: str) -> tuple:
    from api.i18n import translate
    from api.ops.case_facts import gather

    out = []
    for h in gather(services, lead_id).history:
        if h.kind == "status":
            what = (f"{translate(lang, 'lead.' + h.old) if h.old else ''} → {translate(lang, 'lead.' + h.new)}"
                    if h.new else "")
        else:
            what = f"{translate(lang, 'history.' + h.kind)} {h.new or ''}".strip()
        out.append((h.at, h.user, f"{what} {h.text}".strip()))
    return tuple(out)


def build_report(services, lead_id: int, user: str, z: _Zip | None = None, lang: str = "en") -> ReportData:
    """Gather the lead, its site and every alert on it (oldest first), adding their files to `z`."""
    from api.ops.attachments import attachments_of
    from vigil.db.models import User

    z = z if z is not None else _Zip()
    lead = get_lead(services, lead_id)
    with services.sessions() as s:
        site = s.get(Site, lead.site_id)
        alerts = [s.get(Alert, aid) for aid in lead.alert_ids]
        names = {u.id: u.display_name or u.username for u in s.scalars(select(User))}
        contact = " ".join(x for x in (site.contact_name, site.contact_phone, site.contact_email) if x) if site else ""
    violations = tuple(_violation(services, z, a, lang, names) for a in alerts)
    return ReportData(
        lead_id=lead.id, title=lead.title, status=lead.status, assignee=lead.assignee, site_id=lead.site_id,
        site_name=site.name if site else lead.site_id, address=site.address if site else "",
        operator=site.operator if site else "", grade=site_grade(services, lead.site_id).grade,
        generated_at=utcnow(), generated_by=user, key_id=services.signer.key_id, violations=violations, lang=lang,
        contact=contact, attachments=tuple(attachments_of(services, lead_id)),
        history=_history(services, lead_id, lang))


def _lead_files(services, z: _Zip, lead_id: int) -> None:
    """Every object under leads/<id>/: attachments, replies, documents, and the signed manifest chain."""
    from api.ops.attachments import lead_prefix

    prefix = lead_prefix(lead_id)
    for key in sorted(services.store.list(prefix)):
        z.add(f"lead/{key[len(prefix) + 1:]}", services.store.get(key), key.rsplit("/", 1)[1])


def audit_extract(services, lead_id: int, alert_ids: list[str]) -> list[dict]:
    """Every audit entry about the lead or its alerts, with the chain fields to recheck each entry's hash."""
    with services.sessions() as s:
        q = select(AuditEntry).where(or_((AuditEntry.target_type == "lead") & (AuditEntry.target_id == str(lead_id)),
                                         (AuditEntry.target_type == "alert") & AuditEntry.target_id.in_(alert_ids)))
        return [{"id": e.id, "at": iso_utc(e.at), "actor": e.actor, "action": e.action, "target_type": e.target_type,
                 "target_id": e.target_id, "detail": e.detail, "prev_hash": e.prev_hash, "hash": e.hash}
                for e in s.scalars(q.order_by(AuditEntry.id))]


def build_lead_package(services, lead_id: int, user: str, lang: str = "zh") -> bytes:
    """The zip an officer downloads; the download itself is audited with the package's SHA-256."""
    z = _Zip()
    data = build_report(services, lead_id, user, z, lang)
    _lead_files(services, z, lead_id)
    extract = audit_extract(services, lead_id, [v.alert_id for v in data.violations])
    z.add("audit.json", json.dumps(extract, indent=1, ensure_ascii=False).encode(), "audit.json")
    z.add("public_key.pem", services.signer.public_key_pem(), "public_key.pem")
    z.add("report.html", render_html(data).encode(), "report.html")
    z.add("report.pdf", render_pdf(data), "report.pdf")
    z.add("VERIFY.txt", VERIFY_TEXT.encode(), "VERIFY.txt")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for path, blob in z.entries.items():
            zf.writestr(path, blob)
    out = buf.getvalue()
    audit.record(services.sessions, user, "lead.package", "lead", str(lead_id),
                 {"alerts": [v.alert_id for v in data.violations], "sha256": hashlib.sha256(out).hexdigest(),
                  "bytes": len(out), "audit_entries": len(extract), "lang": lang})
    return out
