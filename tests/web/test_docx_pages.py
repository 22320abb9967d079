"""The DOCX documents read as pages: LibreOffice (headless) converts each to PDF, pdftoppm draws its pages, and the
Chinese text is there in the installed CJK font (pdftotext, pdffonts), not in a fallback with missing glyphs."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from api.ops.documents import draft_document, read_document
from tests.web.test_lead_documents import _lead_on_site, services  # noqa: F401  (the fixture)

pytestmark = pytest.mark.slow
OUT = Path(__file__).resolve().parents[1] / "output" / "docx"
CJK_FONT = "NotoSansCJK"  # fonts-noto-cjk, as pdffonts names it (subset prefix aside)
BOLD_TTC = "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc"
TITLES = {"order_correct": "责令改正违法行为决定书", "penalty_notice": "行政处罚事先告知书",
          "inspection_record": "现场检查笔录"}


def soffice() -> str:
    path = shutil.which("soffice")
    if path is None:
        raise AssertionError("expected LibreOffice's soffice on PATH (Debian: libreoffice-writer-nogui, in the "
                             "Makefile's apt list), found none")
    return path


def docx_to_pdf(docs: list[Path], out_dir: Path) -> list[Path]:
    """One headless LibreOffice run for all of them, with a throwaway profile (never the user's)."""
    profile = out_dir / "lo-profile"
    subprocess.run([soffice(), f"-env:UserInstallation=file://{profile}", "--headless", "--norestore",
                    "--convert-to", "pdf", "--outdir", str(out_dir), *map(str, docs)],
                   check=True, capture_output=True, timeout=300)
    pdfs = [out_dir / (d.stem + ".pdf") for d in docs]
    missing = [p.name for p in pdfs if not p.exists()]
    assert not missing, f"LibreOffice wrote no PDF for {missing}"
    return pdfs


def _ink(img) -> np.ndarray:
    """The dark pixels of one glyph, cropped to their box and scaled to 100x100 (to compare shapes)."""
    from PIL import Image

    a = np.array(img.convert("L")) < 128
    ys, xs = np.where(a)
    box = Image.fromarray((~a[ys.min():ys.max() + 1, xs.min():xs.max() + 1] * 255).astype("uint8"))
    return np.array(box.resize((100, 100))) < 128


def _drawn(ch: str, index: int) -> np.ndarray:
    from PIL import Image, ImageDraw, ImageFont

    im = Image.new("L", (400, 400), 255)
    ImageDraw.Draw(im).text((50, 50), ch, font=ImageFont.truetype(BOLD_TTC, 200, index=index), fill=0)
    return _ink(im)


def title_glyphs(png: Path, title: str) -> dict[str, dict[str, int]]:
    """For each title character the Japanese and Chinese faces draw differently: how far the page's glyph is from
    each face of the installed bold Noto Sans CJK collection (a TTC is named after its first face, JP, in the PDF,
    whatever face was drawn with: the shapes say which)."""
    from PIL import Image, ImageFont

    faces = {ImageFont.truetype(BOLD_TTC, 20, index=i).getname()[0]: i for i in range(5)}
    page = Image.open(png).convert("L")
    dark = np.array(page) < 128
    rows = np.where(dark.any(axis=1))[0]
    gaps = np.where(np.diff(rows) > 1)[0]
    top, bottom = rows[0], rows[gaps[0]] if len(gaps) else rows[-1]
    cols = np.where(dark[top:bottom + 1].any(axis=0))[0]
    width = (cols[-1] - cols[0] + 1) / len(title)  # full-width characters: equal cells
    out = {}
    for k, ch in enumerate(title):
        sc, jp = _drawn(ch, faces["Noto Sans CJK SC"]), _drawn(ch, faces["Noto Sans CJK JP"])
        if (sc ^ jp).sum() < 1000:
            continue  # drawn alike in both: says nothing
        cell = _ink(page.crop((int(cols[0] + k * width), top, int(cols[0] + (k + 1) * width), bottom + 1)))
        out[ch] = {name: int((cell ^ _drawn(ch, i)).sum()) for name, i in faces.items()}
    return out


def fonts_of(pdf: Path) -> list[tuple[str, str, bool]]:
    """(name without the subset prefix, type, embedded) for each font pdffonts lists."""
    lines = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout.splitlines()[2:]
    out = []
    for line in lines:
        parts = line.split()
        name = parts[0].split("+", 1)[-1]
        emb = parts[-5] == "yes"
        out.append((name, " ".join(parts[1:-5]), emb))
    return out


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_docx_documents_render_as_pages_in_the_cjk_font(services, tmp_path, lang):  # noqa: F811
    lead = _lead_on_site(services)
    docs = []
    for kind in TITLES:
        data, _, _ = read_document(services, lead, draft_document(services, lead, kind, lang, "docx", "oscar"), "oscar")
        path = tmp_path / f"{kind}-{lang}.docx"
        path.write_bytes(data)
        docs.append(path)
    OUT.mkdir(parents=True, exist_ok=True)
    telling = 0

    def high_res(pdf: Path) -> Path:
        subprocess.run(["pdftoppm", "-r", "200", "-f", "1", "-l", "1", "-png", str(pdf), str(tmp_path / "hi")],
                       check=True)
        return next(tmp_path.glob("hi-*1.png"))
    for pdf in docx_to_pdf(docs, tmp_path):
        kind = pdf.stem.rsplit("-", 1)[0]
        subprocess.run(["pdftoppm", "-r", "110", "-png", str(pdf), str(OUT / pdf.stem)], check=True)
        pages = sorted(OUT.glob(f"{pdf.stem}-*.png"))
        assert pages, "pdftoppm drew no page"
        text = "".join(subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                                      check=True).stdout.split())
        fonts = fonts_of(pdf)
        cjk = [f for f in fonts if f[0].startswith(CJK_FONT)]
        assert cjk and all(emb for _, _, emb in cjk), fonts
        assert not [f for f in fonts if "Droid" in f[0] or "Fallback" in f[0]], fonts  # no fallback font
        for expected in ("东港建设有限公司", "王经理", "围挡缺失"):
            assert expected in text, (expected, pdf.name)
        if lang == "zh":
            glyphs = title_glyphs(high_res(pdf), TITLES[kind])
            telling += len(glyphs)
            for ch, d in glyphs.items():  # simplified Chinese glyphs, not the Japanese face's
                assert d["Noto Sans CJK SC"] < 0.5 * d["Noto Sans CJK JP"], (ch, d)
            assert TITLES[kind] in text and "重庆市九龙坡区生态环境局" in text and "北京时间" in text, pdf.name
        assert "\ufffd" not in text and "□" not in text  # no replacement or tofu characters
    if lang == "zh":
        assert telling, "no title character tells the Chinese face from the Japanese one"
