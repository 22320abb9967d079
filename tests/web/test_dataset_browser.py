"""The dataset browser (Chromium, en and zh): a version's real images with their boxes, filtered by split, class and
source; the API refuses files the index does not name."""
from __future__ import annotations

import pytest

from datasets.samples import LabelledBox, Sample
from datasets.versions import store_version
from tests.web.conftest import SHARED
from tests.web.test_alerts_browser import served  # noqa: F401 - the app without cameras, served
from tests.web.test_web_browser import shot, sign_in

pytestmark = pytest.mark.slow


def real_samples(n: int = 12) -> list[Sample]:
    """Labelled CCTV fire/smoke frames from the shared set (YOLO labels -> boxes), one group each, and 2 negatives."""
    import cv2

    root = SHARED / "datasets" / "abonia1-fire-smoke-cctv"
    out = []
    for img in sorted((root / "images" / "val").glob("*.jpg")):
        label = root / "labels" / "val" / (img.stem + ".txt")
        rows = [r.split() for r in label.read_text().splitlines() if r.strip()] if label.exists() else []
        h, w = cv2.imread(str(img)).shape[:2]
        boxes = tuple(LabelledBox(("fire", "smoke")[int(c)], max(0.0, float(x) - float(bw) / 2),
                                  max(0.0, float(y) - float(bh) / 2), min(1.0, float(x) + float(bw) / 2),
                                  min(1.0, float(y) + float(bh) / 2)).rounded()
                      for c, x, y, bw, bh in rows if int(c) < 2)
        if not boxes and sum(1 for s in out if not s.boxes) >= 2:
            continue
        out.append(Sample(uid=img.stem[:40], data=img.read_bytes(), ext=".jpg", width=w, height=h, boxes=boxes,
                          group=f"g{len(out)}", source="import:fire-cctv" if len(out) % 3 else "review"))
        if len(out) >= n:
            break
    return out


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_browse_a_dataset_version(served, browser, lang):  # noqa: F811
    server, services = served
    samples = real_samples()
    version = store_version(services.sessions, services.data_dir, profile="site", name=f"browse-{lang}",
                            samples=samples, sources=["test"], fractions=(0.25, 0.25))
    page = browser.new_page(viewport={"width": 1600, "height": 1000})
    page.context.add_cookies([{"name": "vigil_lang", "value": lang, "url": server.url}])
    sign_in(page, server.url, "dana", "/models")
    page.click(f"#dataset-links a[data-dataset='{version.id}']")
    page.wait_for_url(f"{server.url}/datasets/{version.id}")
    page.wait_for_selector("#ds-grid figure img")
    assert page.locator("#ds-grid figure").count() == len(samples)
    page.wait_for_function("() => [...document.querySelectorAll('#ds-grid img')].every(i => i.naturalWidth > 0)")
    labels = page.locator("#ds-grid g.det text").all_text_contents()
    assert labels and set(labels) <= ({"火", "烟"} if lang == "zh" else {"fire", "smoke"})
    shot(page, f"51-dataset-{lang}")
    page.select_option("#f-cls", "smoke")
    page.wait_for_function("() => new URLSearchParams(document.body.dataset.query).get('cls') === 'smoke'")
    want = sum(1 for s in samples if any(b.cls == "smoke" for b in s.boxes))
    assert page.locator("#ds-grid figure").count() == want
    page.select_option("#f-cls", "")                              # negatives
    page.wait_for_function("() => new URLSearchParams(document.body.dataset.query).get('cls') === ''")
    assert page.locator("#ds-grid figure").count() == sum(1 for s in samples if not s.boxes)
    page.select_option("#f-cls", "*")
    page.select_option("#f-source", "review")
    page.wait_for_function("() => new URLSearchParams(document.body.dataset.query).get('source') === 'review'")
    assert page.locator("#ds-grid figure").count() == sum(1 for s in samples if s.source == "review")
    page.select_option("#f-split", "train")
    page.wait_for_function("() => new URLSearchParams(document.body.dataset.query).get('split') === 'train'")
    assert all(s == "train" for s in page.eval_on_selector_all("#ds-grid figure", "fs => fs.map(f => f.dataset.split)"))
    shot(page, f"52-dataset-filtered-{lang}")
    bad = page.request.get(f"{server.url}/api/datasets/{version.id}/images/..%2F..%2Fvigil.db")
    assert bad.status == 404
    page.close()
