"""Every page in Chinese in a real browser, with screenshots: the lead's history and title written by the server,
names instead of ids, and the server-drawn overlays come in Chinese; English words left on a page are listed."""
from __future__ import annotations

import re
from datetime import timedelta

import cv2
import numpy as np
import pytest

from api.ops import review
from api.ops.attachments import NewAttachment, add_attachment
from api.ops.rectification import escalate_overdue, reply, send_notice
from datasets.versions import store_version
from tests.web.seed import clip_bytes, seed_alert
from tests.web.test_dataset_browser import real_samples
from tests.web.test_web_browser import OUT, shot, sign_in, sign_out
from vigil.types import iso_utc, utcnow

pytestmark = pytest.mark.slow

# words that stay as they are in Chinese: product, formats, units, user-entered seed data (site and camera names)
ALLOWED = {"Vigil", "PDF", "DOCX", "MP4", "JPEG", "ONNX", "API", "sha256", "KiB", "MiB", "GiB", "fps", "English",
           "Riverside", "Works", "gate", "Chemistry", "lab", "Lab", "bench", "Eastport", "Build", "Road", "University",
           "Avenue", "ada", "rita", "oscar", "dana", "vera", "site", "test", "map50", "mAP50", "yolo", "YOLO"}


def english_words(text: str) -> set[str]:
    """Words of three letters or more, not part of a file name, a hash, a URL or a config key."""
    return {w for w in re.findall(r"(?<![\w./:${}-])[A-Za-z]{3,}(?![\w./:${}-])", text) if w not in ALLOWED}


def _seed(services, base: str) -> tuple[str, int, int]:
    alert = seed_alert(services, camera="gate", rule="dust")
    seed_alert(services, camera="bench", rule="lab_no_coat")
    lead_id = review.confirm(services, alert, "rita").id
    _, link, _ = send_notice(services, lead_id, "oscar", base)
    escalate_overdue(services, now=utcnow() + timedelta(days=60))
    photo = next((services.loaded.shared_dir / "datasets").glob("*/images/val/*.jpg")).read_bytes()
    reply(services, link.rsplit("/", 1)[1], "围挡已修复", [NewAttachment(photo, "fixed.jpg", "image/jpeg", utcnow())])
    start = utcnow() - timedelta(minutes=5)  # footage exported with the server's default note (ISO times)
    note = f"Riverside gate: {iso_utc(start)} – {iso_utc(start + timedelta(seconds=8))}"
    add_attachment(services, lead_id, NewAttachment(clip_bytes(services.loaded.shared_dir), "gate.mp4", "video/mp4",
                                                    start, note=note), "oscar", kind="footage")
    version = store_version(services.sessions, services.data_dir, profile="site", name="zh-sweep",
                            samples=real_samples(6), sources=["test"], fractions=(0.25, 0.25))
    return alert, lead_id, version.id


def test_every_page_in_chinese(server, browser):
    srv, services = server
    base = srv.url
    alert, lead_id, dataset_id = _seed(services, base)
    context = browser.new_context(viewport={"width": 1440, "height": 1000}, locale="zh-CN")
    context.add_cookies([{"name": "vigil_lang", "value": "zh", "url": base}])
    page = context.new_page()
    sign_in(page, base, "ada", f"/leads/{lead_id}")

    page.wait_for_selector("#history li[data-code='notice_overdue']")
    history = page.inner_text("#history")
    for english in ("rectification notice", "overdue since", "escalated", "lead opened", "system", " on gate",
                    "dust on"):
        assert english not in history, (english, history)
    assert "已发送整改通知" in history and "已上报执法人员" in history and "系统" in history
    assert "企业 回复了整改通知 #1：" in history and "围挡已修复" in history
    attachments = page.inner_text("#attachments")
    assert "企业" in attachments and "enterprise" not in attachments
    footage_note = page.inner_text("#attachments li:has(.footage) .attachment-note")
    assert footage_note.startswith("Riverside gate: ") and "年" in footage_note and "T" not in footage_note
    assert "Riverside gate" in page.inner_text("#history li[data-code='alert']")  # the camera's name, not its id
    assert page.inner_text("#lead-title") == "Riverside Works：违规线索"
    assert "Riverside gate ·" in page.inner_text(".alert-card")

    OUT.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(OUT / "30-zh-lead-full.png"), full_page=True)  # the history, below the fold

    leftovers = {}
    for name, path, ready in (
            ("lead", f"/leads/{lead_id}", "#history li"),
            ("wall", "/wall", ".tile"), ("camera", "/wall/gate", "#live"), ("alerts", "/alerts", "table tbody tr"),
            ("alert", f"/alerts/{alert}", "#alert-title"), ("review", "/review", "#main > *"),
            ("leads", "/leads", "#leads-table tbody tr"), ("sites", "/sites", '[data-site="works"]'),
            ("site", "/sites/works", "#grade"), ("models", "/models", "#main > *"),
            ("dataset", f"/datasets/{dataset_id}", "#ds-grid figure img"), ("users", "/users", "#main > *"),
            ("inbox", "/inbox", "#main > *"), ("cameras", "/cameras", "#main > *"),
            ("zones", "/wall/gate/zones", "#main > *")):
        page.goto(base + path)
        page.wait_for_selector(ready)
        page.wait_for_load_state("networkidle")
        shot(page, f"30-zh-{name}")
        leftovers[name] = sorted(english_words(page.inner_text("#main")))
        if name in ("wall", "camera"):  # the server's own "camera service not running", in Chinese
            page.wait_for_selector("text=摄像头服务未运行")
        if name == "models":
            assert "img" not in page.inner_text("#dataset-links") and "张图像" in page.inner_text("#dataset-links")
        if name == "dataset":
            assert page.inner_text("#ds-profile") == "工地"
        if name == "leads":
            assert page.inner_text("#leads-table tbody tr td:nth-child(2)") == "Riverside Works"  # name, not "works"
    (OUT / "zh-english-left.txt").write_text("".join(f"{k}: {' '.join(v)}\n" for k, v in leftovers.items()))
    for name in ("lead", "wall", "camera", "alert", "leads", "sites", "site", "alerts", "inbox", "zones", "models"):
        assert not leftovers[name], (name, leftovers[name])

    sign_out(page)  # the officer's inbox: the overdue notice and the firm's reply
    sign_in(page, base, "oscar", "/inbox")
    page.wait_for_selector("#main li, #main tr, #main article")
    page.wait_for_load_state("networkidle")
    shot(page, "30-zh-inbox-officer")
    assert not english_words(page.inner_text("#main")), english_words(page.inner_text("#main"))

    context.add_cookies([{"name": "vigil_lang", "value": "en", "url": base}])  # the same history in English
    page.goto(f"{base}/leads/{lead_id}")
    page.wait_for_selector("#history li[data-code='notice_overdue']")
    history = page.inner_text("#history")
    for english in ("rectification notice #1 sent, deadline", "the enterprise replied to notice #1:",
                    "alert added: Dust on Riverside gate", "overdue since"):
        assert english in history, (english, history)
    assert page.inner_text("#lead-title") == "Riverside Works: violations"
    shot(page, "30-en-lead")
    context.add_cookies([{"name": "vigil_lang", "value": "zh", "url": base}])

    en, zh = (page.request.get(f"{base}/api/cameras/bench/snapshot.jpg?lang={lang}") for lang in ("en", "zh"))
    assert en.ok and zh.ok and en.headers["etag"] != zh.headers["etag"]
    picture = cv2.imdecode(np.frombuffer(zh.body(), np.uint8), cv2.IMREAD_COLOR)
    cv2.imwrite(str(OUT / "30-zh-state-card.png"), picture)
    assert page.request.get(f"{base}/api/cameras/bench/snapshot.jpg").headers["etag"] == zh.headers["etag"]  # cookie
