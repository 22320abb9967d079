"""The lead report as PDF (reportlab), Chinese and Latin glyphs embedded (api.ops.cjk_font).

Each violation starts a page. Its best frame shrinks (down to MIN_IMAGE_H) so that the files table fits on the
same page: a table that spilled one or two rows onto a page of their own made pages with a single row on them.
"""
from __future__ import annotations

import io

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import cm
from reportlab.lib.utils import ImageReader
from reportlab.platypus import Image, PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from api.ops.cjk_font import latin_font, mixed
from api.ops.report import ReportData, ReportViolation, attachment_rows, fmt_time, head_rows, violation_rows, when

_TABLE = TableStyle([("GRID", (0, 0), (-1, -1), 0.4, colors.grey), ("VALIGN", (0, 0), (-1, -1), "TOP"),
                     ("BACKGROUND", (0, 0), (0, -1), colors.whitesmoke)])
_GRID = TableStyle([("GRID", (0, 0), (-1, -1), 0.4, colors.grey), ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke)])
WIDTH = 17 * cm
FRAME_H = A4[1] - 3.6 * cm - 12  # the page's frame less the frame's own padding
MAX_IMAGE_H, MIN_IMAGE_H = 9 * cm, 3 * cm


class _Styles:
    def __init__(self):
        base = getSampleStyleSheet()
        font = latin_font()
        self.h1 = ParagraphStyle("h1", parent=base["Title"], fontName=font)
        self.h2 = ParagraphStyle("h2", parent=base["Heading2"], fontName=font)
        self.body = ParagraphStyle("body", parent=base["BodyText"], fontName=font, wordWrap="CJK")
        self.small = ParagraphStyle("small", parent=self.body, fontSize=8, leading=10)
        self.mono = ParagraphStyle("mono", parent=self.body, fontName="Courier", fontSize=6.5, leading=8,
                                   wordWrap=None)

    def p(self, text: str, style: ParagraphStyle | None = None) -> Paragraph:
        return Paragraph(mixed(text), style or self.body)


def _kv_table(st: _Styles, rows: list[tuple[str, str]]) -> Table:
    t = Table([[st.p(k, st.small), st.p(v, st.small)] for k, v in rows], colWidths=[3.2 * cm, 13.8 * cm])
    t.setStyle(_TABLE)
    return t


def _image(jpeg: bytes, max_w: float, max_h: float) -> Image:
    w, h = ImageReader(io.BytesIO(jpeg)).getSize()
    scale = min(max_w / w, max_h / h)
    return Image(io.BytesIO(jpeg), width=w * scale, height=h * scale)


def _height(flowables: list) -> float:
    return sum(f.wrap(WIDTH, FRAME_H)[1] for f in flowables)


def _violation(st: _Styles, data: ReportData, i: int, v: ReportViolation) -> list:
    t = data.t
    head = [st.p(f"{i}. {v.rule_title} {t('at_camera')} {v.camera_name}", st.h2),
            _kv_table(st, violation_rows(data, v))]
    folder = f"alerts/{v.alert_id}/"  # said once above the table, so that each file takes one line
    rows = [[st.p(f"{t('file')} ({folder})", st.small), st.p(t("bytes"), st.small), st.p("SHA-256", st.small)]]
    rows += [[st.p(f.path.removeprefix(folder), st.small), st.p(str(f.size), st.small), Paragraph(f.sha256, st.mono)]
             for f in v.files]
    files = Table(rows, colWidths=[5.2 * cm, 1.5 * cm, 10.3 * cm], repeatRows=1)
    files.setStyle(_GRID)
    gap = [Spacer(1, 0.3 * cm)]
    if not v.best_image:
        return head + gap + [files]
    room = FRAME_H - _height(head + gap + gap + [files]) - 2  # what the image may take and keep the table here
    image_h = MAX_IMAGE_H if room < MIN_IMAGE_H else min(MAX_IMAGE_H, room)  # no room at all: the table flows on
    return head + gap + [_image(v.best_image, WIDTH, image_h)] + gap + [files]


def _grid(st: _Styles, header: list[str], rows: list[list[str]], widths: list[float]) -> Table:
    cells = [[st.p(h, st.small) for h in header]]
    cells += [[Paragraph(f"{c[:32]}<br/>{c[32:]}", st.mono) if len(c) == 64 and c.isalnum() else st.p(c, st.small)
               for c in r] for r in rows]
    t = Table(cells, colWidths=widths, repeatRows=1)
    t.setStyle(_GRID)
    return t


def render_pdf(data: ReportData) -> bytes:
    st = _Styles()
    t = data.t
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=A4, leftMargin=2 * cm, rightMargin=2 * cm, topMargin=1.8 * cm,
                            bottomMargin=1.8 * cm, title=f"Vigil lead {data.lead_id}", author="Vigil")
    story = [st.p(t("title").format(id=data.lead_id), st.h1), _kv_table(st, head_rows(data)), Spacer(1, 0.4 * cm),
             st.p(t("intro"))]
    if data.history:
        story += [st.p(t("history"), st.h2), _grid(st, [t("at"), t("who"), t("what")],
                                                   [[when(data, at), who, what] for at, who, what in data.history],
                                                   [4.5 * cm, 2.5 * cm, 10 * cm])]
    for i, v in enumerate(data.violations, 1):
        story += [PageBreak()] + _violation(st, data, i, v)
    if data.attachments:
        story += [PageBreak(), st.p(t("onsite"), st.h2),
                  _grid(st, [t("file"), t("taken"), t("location"), t("officer"), t("note"), "SHA-256"],
                        attachment_rows(data), [2.4 * cm, 2.8 * cm, 2.3 * cm, 1.7 * cm, 3.2 * cm, 4.6 * cm])]
    doc.build(story, onFirstPage=_footer(data), onLaterPages=_footer(data))
    return buf.getvalue()


def _footer(data: ReportData):
    def draw(canvas, doc) -> None:
        canvas.saveState()
        canvas.setFont(latin_font(), 7)
        canvas.drawString(2 * cm, 1.1 * cm, f"Vigil lead #{data.lead_id} - {data.site_id} - "
                                            f"{fmt_time(data.generated_at)}")
        canvas.drawRightString(A4[0] - 2 * cm, 1.1 * cm, f"page {doc.page}")
        canvas.restoreState()
    return draw
