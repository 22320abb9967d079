"""The CJK font PDFs embed: a TrueType font from the system packages (`make install`), never downloaded.

reportlab embeds TrueType outlines only; Noto CJK (fonts-noto-cjk) is CFF-based, so a TrueType CJK font is used:
WenQuanYi Zen Hei (fonts-wqy-zenhei) or Droid Sans Fallback (fonts-droid-fallback). Without either, reportlab's
built-in STSong-Light CID font is used (not embedded: the PDF viewer must supply the glyphs).
"""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from xml.sax.saxutils import escape

EMBEDDED = "VigilCJK"
LATIN = "VigilSans"
LATIN_CANDIDATES = ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",)
CJK_RUN = re.compile(r"([\u2e80-\u9fff\u3000-\u303f\uf900-\ufaff\uff00-\uffef]+)")
FALLBACK_CID = "STSong-Light"
CANDIDATES = ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
              "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
              "/usr/share/fonts/truetype/arphic/uming.ttc")


@lru_cache(maxsize=1)
def cjk_font() -> str:
    """Register and name the font for Chinese text: an embedded TrueType font when one is installed."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfbase.ttfonts import TTFError, TTFont

    for path in CANDIDATES:
        if not Path(path).exists():
            continue
        try:
            font = TTFont(EMBEDDED, path, subfontIndex=0) if path.endswith(".ttc") else TTFont(EMBEDDED, path)
        except TTFError:
            continue
        pdfmetrics.registerFont(font)
        return EMBEDDED
    pdfmetrics.registerFont(UnicodeCIDFont(FALLBACK_CID))
    return FALLBACK_CID


@lru_cache(maxsize=1)
def latin_font() -> str:
    """A TrueType font for everything but CJK (Droid Sans Fallback has no Latin letters): DejaVu Sans from the
    system, else matplotlib's copy, else Helvetica."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    paths = list(LATIN_CANDIDATES)
    try:
        import matplotlib

        paths.append(str(Path(matplotlib.__file__).parent / "mpl-data" / "fonts" / "ttf" / "DejaVuSans.ttf"))
    except ImportError:
        pass
    for path in paths:
        if Path(path).exists():
            pdfmetrics.registerFont(TTFont(LATIN, path))
            return LATIN
    return "Helvetica"


def mixed(text: str) -> str:
    """Paragraph markup for text mixing Chinese and Latin: each run in a font that has its glyphs."""
    cjk, latin = cjk_font(), latin_font()
    out = []
    for i, run in enumerate(CJK_RUN.split(text)):
        if run:
            out.append(f'<font name="{cjk if i % 2 else latin}">{escape(run)}</font>')
    return "".join(out)
