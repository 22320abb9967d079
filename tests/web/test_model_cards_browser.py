"""Shipped models show their card's held-out metrics on the models page (Chromium), and the training form starts
from settings that can make a useful model."""
from __future__ import annotations

import json

import pytest

from tests.web.conftest import ROOT
from tests.web.test_alerts_browser import served  # noqa: F401 - the app without cameras, served
from tests.web.test_web_browser import shot, sign_in
from vigil.db.models import ModelVersion

pytestmark = pytest.mark.slow


def test_shipped_model_shows_its_card_metrics(served, browser):  # noqa: F811
    server, services = served
    card = json.loads((ROOT / "models" / "site.json").read_text())
    real = card["metrics"]["real_heldout"]
    with services.sessions() as s:
        s.add(ModelVersion(name="site", version="shipped-1", profile="site", path="models/site.onnx", sha256="c" * 64,
                           classes=card["classes"], metrics={"imgsz": 320, "card": card, "source": "models/site.onnx"},
                           status="promoted", trained_by="shipped"))
        s.commit()
    page = browser.new_page(viewport={"width": 1600, "height": 1000})
    sign_in(page, server.url, "dana", "/models")
    row = page.wait_for_selector("#models tr:has-text('shipped-1'), table tr:has-text('shipped-1')")
    text = row.inner_text()
    assert f"map50 {real['mAP50']:.3f}" in text and f"map50_95 {real['mAP50_95']:.3f}" in text, text
    held = list(card["metrics"]["by_source"]["heldout"]["per_class"].values())
    headline = f"heldout_source_map50 {sum(held) / len(held):.3f}"  # the card's headline comes first
    assert headline in text and text.index(headline) < text.index("map50 "), text
    assert page.eval_on_selector("#train-base", "s => s.value") == "scratch"  # an .onnx has no checkpoint to tune
    assert page.eval_on_selector("#train-form input[name=epochs]", "i => i.value") == "30"
    shot(page, "50-models-shipped-card")
    page.close()
