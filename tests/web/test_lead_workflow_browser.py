"""A lead walked through the workflow in Chinese in a real browser: an officer sends it to on-site verification,
attaches a photo through the file input, records the decision, drafts the order to correct and submits it; a
reviewer files the case and drafts the advance notice; the PDFs are read back as pages (pdftoppm) and as text."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select

from api.ops import review
from tests.web.seed import seed_alert
from tests.web.test_web_browser import shot, sign_in, sign_out
from vigil.db.models import Alert, AuditEntry, Lead, LeadAttachment, LeadDocument

pytestmark = pytest.mark.slow


def _photo(services, tmp_path: Path) -> Path:
    src = next((services.loaded.shared_dir / "datasets").glob("*/images/val/*.jpg"))
    out = tmp_path / "现场照片.jpg"
    out.write_bytes(src.read_bytes())
    return out


def _pdf_pages_and_text(path: Path) -> str:
    subprocess.run(["pdftoppm", "-r", "50", "-png", str(path), str(path.with_suffix(""))], check=True)
    assert list(path.parent.glob(path.stem + "-*.png"))
    return "".join(subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True,
                                  check=True).stdout.split())


def _download(page, selector: str, tmp_path: Path, name: str) -> Path:
    with page.expect_download() as dl:
        page.click(selector)
    out = tmp_path / name
    out.write_bytes(Path(dl.value.path()).read_bytes())
    return out


def test_lead_to_filed_case_in_chinese(server, browser, tmp_path):
    srv, services = server
    base = srv.url
    lead_id = review.confirm(services, seed_alert(services, camera="gate", rule="dust"), "rita").id
    context = browser.new_context(viewport={"width": 1440, "height": 1000}, accept_downloads=True, locale="zh-CN")
    context.add_cookies([{"name": "vigil_lang", "value": "zh", "url": base}])
    page = context.new_page()

    sign_in(page, base, "oscar", f"/leads/{lead_id}")
    page.wait_for_selector("#lead-status:has-text('电子取证')")
    assert page.locator("#action-approve").count() == 0  # an officer never approves
    page.click("#action-dispatch")
    page.wait_for_selector("#lead-status:has-text('现场核查')")
    page.set_input_files("#attach-file", str(_photo(services, tmp_path)))
    assert page.get_attribute("#attach-file", "capture") == "environment"
    page.fill("#attach-note", "围挡缺失，土方未覆盖")
    page.click("#attach-upload")
    page.wait_for_selector("#attachments li:has-text('围挡缺失')")
    page.wait_for_selector(".discretion li:has-text('首次违法')")
    assert page.is_checked("#measure-dust-order_correct") and not page.is_checked("#measure-dust-stop_work")
    page.check("#measure-dust-stop_work")  # the officer departs from the suggestion, and says why
    page.fill("#fine-dust", "25000")
    page.fill("#decision-reason-dust", "首次发现，已现场督促整改")
    page.click("#decide")
    page.wait_for_selector(".decided:has-text('首次发现')")
    page.click("#send-notice")  # the firm is told, with a one-use link
    page.wait_for_selector("#notices li:has-text('已发送')")
    assert "/rectify/" in page.inner_text("#notice-link")
    page.select_option("#doc-kind", "order_correct")
    page.click("#draft")
    page.wait_for_selector("#documents li:has-text('责令改正违法行为决定书')")
    shot(page, "20-lead-onsite-zh")
    page.click("#action-submit")
    page.wait_for_selector("#lead-status:has-text('审核')")
    assert page.locator("#action-approve").count() == 0
    order = _download(page, "#documents li a", tmp_path, "order.pdf")
    sign_out(page)

    sign_in(page, base, "rita", f"/leads/{lead_id}")
    page.wait_for_selector("#action-approve")
    page.wait_for_selector("#inbox-count:has-text('1')")  # the reviewers' inbox: this lead waits for review
    page.click("#action-approve")
    page.wait_for_selector("#lead-status:has-text('已立案')")
    page.select_option("#doc-kind", "penalty_notice")
    page.click("#draft")
    page.wait_for_selector("#documents li:has-text('行政处罚事先告知书')")
    shot(page, "21-lead-filed-zh")
    notice = _download(page, "#documents li:has-text('行政处罚事先告知书') a", tmp_path, "notice.pdf")
    page.goto(f"{base}/sites/works")  # the filed case raised the grade; the page says why, in Chinese
    page.wait_for_selector("#grade-why:has-text('评为')")
    page.wait_for_selector("#loop tbody tr:has-text('扬尘')")
    assert "已立案 1 起" in page.inner_text(".reasons")
    assert "100.0%" in page.inner_text("#loop tbody tr:first-child")  # disposal: the one lead is closed
    shot(page, "22-site-grade-zh")
    page.goto(f"{base}/sites")
    page.wait_for_selector("#loop-overall:has-text('处置率 100%')")

    order_text, notice_text = _pdf_pages_and_text(order), _pdf_pages_and_text(notice)
    for text, title in ((order_text, "责令改正违法行为决定书"), (notice_text, "行政处罚事先告知书")):
        for expected in (title, "Eastport", "第一百一十五条", "责令改正、责令停工整治；罚款人民币25,000元", "首次发现",
                         "围挡缺失", "rita"):
            assert expected in text, (title, expected)
    with services.sessions() as s:
        lead = s.get(Lead, lead_id)
        assert lead.status == "case_filed" and lead.decision["rules"]["dust"]["fine_yuan"] == 25_000
        assert lead.decision["rules"]["dust"]["measures"] == ["order_correct", "stop_work"]
        assert {a.lead_outcome for a in s.scalars(select(Alert))} == {"case_filed"}
        assert s.scalars(select(LeadAttachment)).one().note == "围挡缺失，土方未覆盖"
        assert [d.kind for d in s.scalars(select(LeadDocument).order_by(LeadDocument.id))] == [
            "order_correct", "penalty_notice"]
        actions = [e.action for e in s.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    for action in ("lead.dispatch", "lead.attachment.onsite", "lead.decision", "lead.document.draft", "lead.submit",
                   "lead.approve", "lead.document.read"):
        assert action in actions


def test_firm_replies_through_its_one_use_link(server, browser, tmp_path):
    """The officer sends a rectification notice; the firm, with no account, opens the link, uploads photos and a
    note; the photos are evidence on the lead; the link then refuses a second use."""
    from api.ops.rectification import send_notice

    srv, services = server
    lead_id = review.confirm(services, seed_alert(services, camera="gate", rule="dust"), "rita").id
    _, link, _ = send_notice(services, lead_id, "oscar", srv.url)
    page = browser.new_page(locale="zh-CN")
    page.goto(link)
    page.wait_for_selector("#notice-text:has-text('整改')")
    assert page.get_attribute("#files", "capture") == "environment"
    photo = _photo(services, tmp_path)
    page.set_input_files("#files", [str(photo), str(photo)])
    page.fill("#note", "已加装围挡并覆盖土方")
    shot(page, "23-rectify-zh")
    page.click("#send")
    page.wait_for_selector("#done")
    with services.sessions() as s:
        replies = list(s.scalars(select(LeadAttachment).where(LeadAttachment.kind == "reply")))
        assert len(replies) == 2 and replies[0].user_id is None
        assert services.store.get(replies[0].key) == photo.read_bytes()
        actions = [e.action for e in s.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    assert "rectification.reply" in actions and actions.count("lead.attachment.reply") == 2
    page.goto(link)  # one use only
    page.wait_for_selector("#error:has-text('already used')")
