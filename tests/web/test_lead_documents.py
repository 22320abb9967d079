"""Enforcement documents from a lead with real signed evidence: PDF and DOCX, zh and en, versioned, hashed, in the
lead manifest, audited; the PDFs are rendered to pages with pdftoppm and their text read back with pdftotext."""
from __future__ import annotations

import io
import json
import re
import subprocess
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import select

from api.ops import review
from api.ops.attachments import NewAttachment, add_attachment, verify_lead_manifests
from api.ops.decisions import OfficerFindings, RuleDecision, decide
from api.ops.documents import draft_document, read_document
from api.ops.workflow import WorkflowError, advance
from tests.web.seed import add_role_users, seed_alert
from vigil.db.models import AuditEntry, LeadDocument
from vigil.legal import Measure

CONTACT = ("  works: {name: 江北工地, address: 重庆市九龙坡区滨江路 18 号, kind: site, operator: 东港建设有限公司, "
           "contact_name: 王经理, contact_phone: '13800000000'}\n")


@pytest.fixture
def services(tmp_path):
    """The web tests' config with a Chinese enterprise, its contact, and the agency's name."""
    from api.context import Services
    from tests.web.conftest import CONFIG
    from vigil.config_loader import load_config
    from vigil.settings import Settings

    cfg = tmp_path / "vigil.yaml"
    body = CONFIG.replace("{db}", str(tmp_path / "vigil.db")).replace("{extra_cameras}", "")
    body = body.replace('  works: {name: Riverside Works, address: "18 Riverside Road, Eastport", kind: site, '
                        'operator: Eastport Build}\n', CONTACT)
    cfg.write_text(f"data_dir: {tmp_path}/data\n" + body + "enforcement: {agency_zh: 重庆市九龙坡区生态环境局}\n")
    env = {"CAM_PW": "x"}
    svc = Services.open(Settings.from_env(env, config_path=cfg), load_config(cfg, env))
    add_role_users(svc)
    yield svc
    svc.close()


def _pdf_text(data: bytes, tmp_path: Path, name: str) -> str:
    pdf = tmp_path / f"{name}.pdf"
    pdf.write_bytes(data)
    subprocess.run(["pdftoppm", "-r", "60", "-png", str(pdf), str(tmp_path / name)], check=True)
    assert list(tmp_path.glob(f"{name}-*.png")), "pdftoppm drew no page"
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout
    embedded = [line.split()[0] for line in fonts.splitlines()[2:] if "TrueType" in line and " yes " in line]
    assert any("DejaVu" not in f for f in embedded), fonts  # a CJK font travels inside the PDF, not the viewer's
    return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout


def _lead_on_site(services) -> int:
    alert = seed_alert(services, camera="gate", rule="dust")
    lead = review.confirm(services, alert, "rita").id
    with pytest.raises(WorkflowError, match="drafted from on-site verification on"):
        draft_document(services, lead, "order_correct", "zh", "pdf", "oscar")
    advance(services, lead, "dispatch", "oscar", "officer")
    photo = (services.loaded.shared_dir / "datasets").glob("*/images/val/*.jpg").__next__().read_bytes()
    add_attachment(services, lead, NewAttachment(photo, "site.jpg", "image/jpeg",
                                                 datetime(2026, 12, 3, 2, 30, tzinfo=timezone.utc), 29.5, 106.5,
                                                 "围挡缺失，土方未覆盖"), "oscar")
    decide(services, lead, "oscar", "officer", OfficerFindings(),
           [RuleDecision("dust", (Measure.ORDER_CORRECT,), 25_000, "首次发现，面积较小")])
    return lead


@pytest.mark.parametrize("kind, title", [("order_correct", "责令改正违法行为决定书"),
                                         ("penalty_notice", "行政处罚事先告知书"),
                                         ("inspection_record", "现场检查笔录")])
def test_chinese_documents_carry_party_facts_law_reasoning_and_measure(services, tmp_path, kind, title):
    lead = _lead_on_site(services)
    doc_id = draft_document(services, lead, kind, "zh", "pdf", "oscar")
    data, media, _ = read_document(services, lead, doc_id, "oscar")
    text = _pdf_text(data, tmp_path, kind)
    flat = "".join(text.split())
    for expected in (title, "东港建设有限公司", "王经理", "重庆市九龙坡区生态环境局", "第六十九条", "第一百一十五条",
                     "10,000元以上100,000元以下", "罚款人民币25,000元", "首次发现", "北京时间", "rita", "围挡缺失"):
        assert expected in flat, f"{expected!r} missing from the {kind} PDF"
    with services.sessions() as s:
        alert_sha = s.scalars(select(LeadDocument)).one().sha256
    assert media == "application/pdf" and len(alert_sha) == 64


def test_english_docx_and_versions_are_hashed_in_the_manifest_and_audited(services, tmp_path):
    lead = _lead_on_site(services)
    first = draft_document(services, lead, "order_correct", "en", "docx", "oscar")
    second = draft_document(services, lead, "order_correct", "en", "docx", "oscar")
    data, media, name = read_document(services, lead, second, "rita")
    assert media.endswith("wordprocessingml.document") and name.endswith("order_correct-en-v2.docx")
    xml = zipfile.ZipFile(io.BytesIO(data)).read("word/document.xml").decode()
    for expected in ("Order to Correct the Violation", "Art. 69 and Art. 115", "25,000 yuan", "东港建设有限公司"):
        assert expected in xml
    with services.sessions() as s:
        versions = [(d.id, d.version) for d in s.scalars(select(LeadDocument).order_by(LeadDocument.id))]
        actions = [e.action for e in s.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    assert versions == [(first, 1), (second, 2)]
    assert actions[-3:] == ["lead.document.draft", "lead.document.draft", "lead.document.read"]
    assert verify_lead_manifests(services.store, lead, services.signer.public_key_pem()) == []


def _second_revision(services, alert_id: str) -> None:
    """The event grew: revision 2 of its evidence with a longer clip and new frames (more rows in the files table)."""
    from vigil.evidence import EvidenceMeta, read_manifest, write_evidence

    m, _, _ = read_manifest(services.store, alert_id)
    meta = EvidenceMeta(camera_id=m.camera_id, site_id=m.site_id, rule=m.rule, model_name=m.model_name,
                        model_version=m.model_version, started_at=m.started_at, ended_at=m.ended_at,
                        best_at=m.best_at, detections=m.detections)
    files = {f.name: (services.store.get(f.key) + b"\x00r2", f.content_type) for f in m.files}
    files["extra_frame.jpg"] = (services.store.get(m.file("best_raw.jpg").key), "image/jpeg")
    write_evidence(services.store, services.signer, alert_id=alert_id, revision=2, meta=meta, files=files)


def test_package_in_chinese_with_custody_extract_lead_files_and_no_overflow_pages(services, tmp_path):
    from api.ops.package import build_lead_package
    from vigil.audit import entry_hash

    lead = _lead_on_site(services)
    alerts = [seed_alert(services, camera="gate", rule=r) for r in ("dust", "uncovered_truck")]
    for a in alerts:
        review.confirm(services, a, "rita")
    _second_revision(services, alerts[0])
    draft_document(services, lead, "inspection_record", "zh", "pdf", "oscar")
    zf = zipfile.ZipFile(io.BytesIO(build_lead_package(services, lead, "oscar")))
    names = set(zf.namelist())
    assert {"audit.json", "lead/manifest.r1.json", "lead/manifest.r2.json.sig", "report.pdf"} <= names
    assert any(n.startswith("lead/") and n.endswith("/site.jpg") for n in names)
    assert any(n.startswith("lead/documents/") and n.endswith("inspection_record-zh-v1.pdf") for n in names)
    extract = json.loads(zf.read("audit.json"))
    actions = [e["action"] for e in extract]
    assert {"alert.confirm", "lead.create", "lead.dispatch", "lead.attachment.onsite", "lead.decision",
            "lead.document.draft"} <= set(actions)
    for e in extract:  # each entry can be rechecked against its own hash
        at = datetime.fromisoformat(e["at"].replace("Z", "+00:00"))
        assert entry_hash(e["prev_hash"], at, e["actor"], e["action"], e["target_type"], e["target_id"],
                          e["detail"]) == e["hash"]
    (tmp_path / "report.pdf").write_bytes(zf.read("report.pdf"))
    text = _pdf_text(zf.read("report.pdf"), tmp_path, "report")
    flat = "".join(text.split())
    for expected in ("Vigil证据报告", "确认人及时间", "线索处理记录", "现场核查证据", "第一百一十六条",
                     "2,000元以上20,000元以下",
                     "rita", "围挡缺失"):
        assert expected in flat, expected
    pages = int(re.search(r"Pages:\s+(\d+)", subprocess.run(["pdfinfo", str(tmp_path / "report.pdf")],
                                                           capture_output=True, text=True).stdout).group(1))
    assert pages == 1 + 3 + 1  # the summary, one page per violation (none spills a row over), on-site evidence


def test_a_dismissed_lead_teaches_hard_negatives_and_a_reopen_takes_them_back(services):
    from vigil.db.models import Alert, LabelImage

    lead = _lead_on_site(services)
    with services.sessions() as s:
        alert = s.scalars(select(Alert)).one().id
    advance(services, lead, "submit", "oscar", "officer")
    advance(services, lead, "dismiss", "rita", "reviewer", "water spray, not dust")
    with services.sessions() as s:
        labels = [(x.kind, x.revision) for x in s.scalars(select(LabelImage).where(LabelImage.alert_id == alert)
                                                          .order_by(LabelImage.id))]
    assert labels[-1] == ("hard_negative", len(labels))  # the newest revision wins: learnt as background
    advance(services, lead, "reopen", "rita", "reviewer", "the firm admitted the dust")
    with services.sessions() as s:
        newest = s.scalars(select(LabelImage).where(LabelImage.alert_id == alert)
                           .order_by(LabelImage.revision.desc())).first()
        assert newest.kind == "confirmed" and newest.boxes
