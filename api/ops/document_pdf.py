"""An enforcement document (document_compose.Doc) laid out as an A4 PDF, Chinese glyphs embedded."""
from __future__ import annotations

import io
import re
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import cm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from api.ops.cjk_font import latin_font, mixed
from api.ops.document_compose import Doc

HEX64 = re.compile(r"^[0-9a-f]{64}$")
WIDTH = 17 * cm
GRID = TableStyle([("GRID", (0, 0), (-1, -1), 0.4, colors.grey), ("VALIGN", (0, 0), (-1, -1), "TOP"),
                   ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke)])
KV_GRID = TableStyle([("GRID", (0, 0), (-1, -1), 0.4, colors.grey), ("VALIGN", (0, 0), (-1, -1), "TOP"),
                      ("BACKGROUND", (0, 0), (0, -1), colors.whitesmoke)])


class _Styles:
    def __init__(self):
        base = latin_font()
        self.title = ParagraphStyle("t", fontName=base, fontSize=17, leading=24, alignment=TA_CENTER, spaceAfter=4)
        self.number = ParagraphStyle("n", fontName=base, fontSize=8.5, leading=11, alignment=TA_CENTER,
                                     spaceAfter=10)
        self.h = ParagraphStyle("h", fontName=base, fontSize=12, leading=17, spaceBefore=8, spaceAfter=4)
        self.p = ParagraphStyle("p", fontName=base, fontSize=10, leading=15, wordWrap="CJK", spaceAfter=4)
        self.cell = ParagraphStyle("c", fontName=base, fontSize=8, leading=10.5, wordWrap="CJK")
        self.mono = ParagraphStyle("m", fontName="Courier", fontSize=6.2, leading=7.6)

    def para(self, text: str, style: ParagraphStyle) -> Paragraph:
        return Paragraph(mixed(text), style)

    def cell_of(self, text: str) -> Paragraph:
        if HEX64.match(text):  # a hash has no place to wrap: break it in two halves
            return Paragraph(escape(text[:32]) + "<br/>" + escape(text[32:]), self.mono)
        return self.para(text, self.cell)


def _widths(header: list[str], rows: list[list[str]]) -> list[float]:
    n = len(header)
    fixed: dict[int, float] = {}
    for i in range(n):
        column = [r[i] for r in rows if i < len(r)]
        if column and all(HEX64.match(c) for c in column):
            fixed[i] = 4.8 * cm
        elif header[i] == "#":
            fixed[i] = 0.7 * cm
    rest = (WIDTH - sum(fixed.values())) / max(1, n - len(fixed))
    return [fixed.get(i, rest) for i in range(n)]


def _flow(st: _Styles, kind: str, payload) -> list:
    if kind == "h":
        return [st.para(payload, st.h)]
    if kind == "p":
        return [st.para(payload, st.p)]
    if kind == "kv":
        t = Table([[st.cell_of(k), st.cell_of(v)] for k, v in payload], colWidths=[3.2 * cm, WIDTH - 3.2 * cm])
        t.setStyle(KV_GRID)
        return [t, Spacer(1, 4)]
    if kind == "table":
        header, rows = payload
        t = Table([[st.cell_of(h) for h in header]] + [[st.cell_of(c) for c in r] for r in rows],
                  colWidths=_widths(header, rows), repeatRows=1)
        t.setStyle(GRID)
        return [t, Spacer(1, 6)]
    if kind == "sign":
        cells = [[st.para(f"{label}：" if any("\u4e00" <= ch <= "\u9fff" for ch in label) else f"{label}:", st.p)
                  for label in payload]]
        t = Table(cells, colWidths=[WIDTH / len(payload)] * len(payload), rowHeights=[1.6 * cm])
        t.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
        return [Spacer(1, 10), t]
    raise ValueError(f"unknown block kind {kind!r}")


def render_document_pdf(doc: Doc) -> bytes:
    st = _Styles()
    buf = io.BytesIO()
    pdf = SimpleDocTemplate(buf, pagesize=A4, leftMargin=2 * cm, rightMargin=2 * cm, topMargin=1.8 * cm,
                            bottomMargin=1.8 * cm, title=f"{doc.title} {doc.number}", author="Vigil")
    story = [st.para(doc.title, st.title), st.para(doc.number, st.number)]
    for kind, payload in doc.blocks:
        story += _flow(st, kind, payload)

    def footer(canvas, d) -> None:
        canvas.saveState()
        canvas.setFont(latin_font(), 7)
        canvas.drawString(2 * cm, 1.1 * cm, doc.number)
        canvas.drawRightString(A4[0] - 2 * cm, 1.1 * cm, f"{d.page}")
        canvas.restoreState()

    pdf.build(story, onFirstPage=footer, onLaterPages=footer)
    return buf.getvalue()
