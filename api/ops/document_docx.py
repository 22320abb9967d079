"""An enforcement document (document_compose.Doc) as DOCX (python-docx): A4 with the PDF's margins and column
widths, East Asian text in a CJK font, hashes on two lines in a monospace font, page numbers in the footer."""
from __future__ import annotations

import io
import re
from typing import cast

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt

from api.ops.document_compose import Doc

CJK_FAMILY = "Noto Sans CJK SC"  # fonts-noto-cjk; Word falls back to its own CJK font where it is absent
LATIN_FAMILY = "DejaVu Sans"
MONO_FAMILY = "DejaVu Sans Mono"
HEX64 = re.compile(r"^[0-9a-f]{64}$")
WIDTH_CM = 17.0  # A4 (21 cm) less 2 cm margins, as the PDF


def _font(run, size: float | None = None, bold: bool = False, family: str = LATIN_FAMILY) -> None:
    run.font.name = family
    run._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), CJK_FAMILY)
    if size:
        run.font.size = Pt(size)
    run.bold = bold


def _para(d, text: str, size: float = 10.5, bold: bool = False, center: bool = False, before: float = 0,
          after: float = 4):
    p = d.add_paragraph()
    _font(p.add_run(text), size, bold)
    p.paragraph_format.space_before, p.paragraph_format.space_after = Pt(before), Pt(after)
    if center:
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    return p


def _widths(rows: list[list[str]], header: bool) -> list[float]:
    """Column widths in cm: the PDF's rule (a hash column 4.8 cm, '#' 0.7 cm, the rest shared; key-value 3.2 cm)."""
    n = len(rows[0])
    if not header:
        return [3.2, WIDTH_CM - 3.2] if n == 2 else [WIDTH_CM / n] * n
    body = rows[1:]
    fixed: dict[int, float] = {}
    for i in range(n):
        column = [r[i] for r in body if i < len(r)]
        if column and all(HEX64.match(c) for c in column):
            fixed[i] = 4.8
        elif rows[0][i] == "#":
            fixed[i] = 0.7
    free = [i for i in range(n) if i not in fixed]
    shares = _share(WIDTH_CM - sum(fixed.values()), [[r[i] for r in rows if i < len(r)] for i in free])
    widths = dict(fixed) | dict(zip(free, shares))
    return [widths[i] for i in range(n)]


def _natural_cm(text: str, pt: float = 8.0) -> float:
    """About how wide `text` sets at `pt` on one line, cell padding included (a CJK character is one em)."""
    ems = sum(1.0 if ord(ch) > 0x2E80 else 0.55 for ch in text)
    return ems * pt * 0.03528 + 0.45


def _share(room: float, columns: list[list[str]]) -> list[float]:
    """Widths for columns of text: each at least what its header and its longest unbreakable word need (so no
    'site.j/pg' or a header over two lines), the rest of the room by how much each holds (a long time range)."""
    def floor(col: list[str]) -> float:
        words = [w for c in col[1:] for w in c.split() if not any(ord(ch) > 0x2E80 for ch in w)]
        return max([_natural_cm(col[0]) * 1.05] + [_natural_cm(w) for w in words])  # the header is bold

    floors = [floor(c) for c in columns]
    wants = [max(f, max(_natural_cm(x) for x in c)) for f, c in zip(floors, columns)]
    if sum(wants) <= room:
        return [w * room / sum(wants) for w in wants]
    if sum(floors) >= room:
        return [f * room / sum(floors) for f in floors]
    extra = [w - f for w, f in zip(wants, floors)]
    return [f + (room - sum(floors)) * e / sum(extra) for f, e in zip(floors, extra)]


def _table(d, rows: list[list[str]], header: bool) -> None:
    widths = _widths(rows, header)
    t = d.add_table(rows=len(rows), cols=len(rows[0]))
    t.style, t.alignment, t.autofit = "Table Grid", WD_TABLE_ALIGNMENT.CENTER, False
    for col, w in zip(t.columns, widths):
        col.width = Cm(w)
    for i, row in enumerate(rows):
        tr_pr = t.rows[i]._tr.get_or_add_trPr()
        tr_pr.append(OxmlElement("w:cantSplit"))  # a row stays on one page
        if header and i == 0:  # the header row repeats on every page the table spans
            tr_pr.append(OxmlElement("w:tblHeader"))
        for j, text in enumerate(row):
            cell = t.cell(i, j)
            cell.width = Cm(widths[j])
            p = cell.paragraphs[0]
            p.paragraph_format.space_after = Pt(0)
            if HEX64.match(text):  # a hash has no place to wrap: two halves, monospace
                _font(p.add_run(text[:32]), 6, family=MONO_FAMILY)
                p.add_run().add_break()
                _font(p.add_run(text[32:]), 6, family=MONO_FAMILY)
            else:
                _font(p.add_run(text), 8, bold=header and i == 0)
    d.add_paragraph().paragraph_format.space_after = Pt(2)


def _sign(d, labels: list[str]) -> None:
    t = d.add_table(rows=1, cols=len(labels))
    t.autofit = False
    for cell, label in zip(t.rows[0].cells, labels):
        cell.width = Cm(WIDTH_CM / len(labels))
        colon = "：" if any("\u4e00" <= ch <= "\u9fff" for ch in label) else ":"
        _font(cell.paragraphs[0].add_run(f"{label}{colon}"), 10.5)
        cell.add_paragraph()  # room to sign
        cell.add_paragraph()


def _page_setup(d, number: str) -> None:
    s = d.sections[0]
    s.orientation, s.page_width, s.page_height = WD_ORIENT.PORTRAIT, Cm(21.0), Cm(29.7)
    s.left_margin = s.right_margin = Cm(2.0)
    s.top_margin = s.bottom_margin = Cm(1.8)
    s.footer_distance = Cm(1.0)
    p = s.footer.paragraphs[0]
    p.style.font.size = Pt(7)
    _font(p.add_run(f"{number}    "), 7)
    begin, instr, end = OxmlElement("w:fldChar"), OxmlElement("w:instrText"), OxmlElement("w:fldChar")
    begin.set(qn("w:fldCharType"), "begin")
    instr.set(qn("xml:space"), "preserve")
    instr.text = " PAGE "
    end.set(qn("w:fldCharType"), "end")
    run = p.add_run()
    _font(run, 7)
    run._r.append(begin)
    run._r.append(instr)
    run._r.append(end)
    p.alignment = WD_ALIGN_PARAGRAPH.RIGHT


def render_document_docx(doc: Doc) -> bytes:
    d = Document()
    normal = d.styles["Normal"]  # what a run without its own font uses (empty cells, the page number field)
    normal.font.name, normal.font.size = LATIN_FAMILY, Pt(10.5)
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), CJK_FAMILY)
    _page_setup(d, doc.number)
    _para(d, doc.title, 18, bold=True, center=True, after=2)
    _para(d, doc.number, 9, center=True, after=10)
    for kind, payload in doc.blocks:
        if kind == "h":
            _para(d, cast(str, payload), 12.5, bold=True, before=8, after=4)
        elif kind == "p":
            _para(d, cast(str, payload))
        elif kind == "kv":
            _table(d, [[k, v] for k, v in cast(list[tuple[str, str]], payload)], header=False)
        elif kind == "table":
            header, rows = cast(tuple[list[str], list[list[str]]], payload)
            _table(d, [header] + rows, header=True)
        elif kind == "sign":
            _sign(d, cast(list[str], payload))
    d.core_properties.title = f"{doc.title} {doc.number}"
    d.core_properties.author = "Vigil"
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()
