"""An enforcement document (document_compose.Doc) as DOCX (python-docx), East Asian text in a CJK font."""
from __future__ import annotations

import io
from typing import cast

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Pt

from api.ops.document_compose import Doc

CJK_FAMILY = "Noto Sans CJK SC"  # fonts-noto-cjk; Word falls back to its own CJK font where it is absent


def _cjk(run, size: float | None = None, bold: bool = False) -> None:
    run.font.name = "DejaVu Sans"
    run._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), CJK_FAMILY)
    if size:
        run.font.size = Pt(size)
    run.bold = bold


def _para(d, text: str, size: float = 10.5, bold: bool = False, center: bool = False):
    p = d.add_paragraph()
    _cjk(p.add_run(text), size, bold)
    if center:
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    return p


def _table(d, rows: list[list[str]], header: bool) -> None:
    t = d.add_table(rows=len(rows), cols=len(rows[0]))
    t.style = "Table Grid"
    for i, row in enumerate(rows):
        for j, text in enumerate(row):
            cell = t.cell(i, j)
            cell.text = ""
            _cjk(cell.paragraphs[0].add_run(text), 8, bold=header and i == 0)


def render_document_docx(doc: Doc) -> bytes:
    d = Document()
    _para(d, doc.title, 18, bold=True, center=True)
    _para(d, doc.number, 9, center=True)
    for kind, payload in doc.blocks:
        if kind == "h":
            _para(d, cast(str, payload), 12.5, bold=True)
        elif kind == "p":
            _para(d, cast(str, payload))
        elif kind == "kv":
            _table(d, [[k, v] for k, v in cast(list[tuple[str, str]], payload)], header=False)
        elif kind == "table":
            header, rows = cast(tuple[list[str], list[list[str]]], payload)
            _table(d, [header] + rows, header=True)
        elif kind == "sign":
            _para(d, "        ".join(f"{label}：________" for label in cast(list[str], payload)))
    d.core_properties.title = f"{doc.title} {doc.number}"
    d.core_properties.author = "Vigil"
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()
