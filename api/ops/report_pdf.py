"""The lead report as PDF (reportlab); Chinese text renders with reportlab's built-in CID font STSong-Light."""
from __future__ import annotations

import io
import re
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import cm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Image, PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from api.ops.report import ReportData, ReportViolation, fmt_time

CJK_FONT = "STSong-Light"
_CJK = re.compile(r"[\u2e80-\u9fff\u3000-\u303f\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]")
_TABLE = TableStyle([("GRID", (0, 0), (-1, -1), 0.4, colors.grey), ("VALIGN", (0, 0), (-1, -1), "TOP"),
                     ("BACKGROUND", (0, 0), (0, -1), colors.whitesmoke)])


class _Styles:
    def __init__(self):
        if CJK_FONT not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))  # built into reportlab: no font file needed
        base = getSampleStyleSheet()
        self.h1, self.h2, self.body = base["Title"], base["Heading2"], base["BodyText"]
        self.small = ParagraphStyle("small", parent=self.body, fontSize=8, leading=10)
        self.mono = ParagraphStyle("mono", parent=self.body, fontName="Courier", fontSize=6.5, leading=8)

    def p(self, text: str, style: ParagraphStyle | None = None) -> Paragraph:
        """A paragraph; any CJK text switches it to the CID font (Helvetica has no Chinese glyphs)."""
        style = style or self.body
        if _CJK.search(text):
            style = ParagraphStyle(style.name + "-cjk", parent=style, fontName=CJK_FONT, wordWrap="CJK")
        return Paragraph(escape(text), style)


def _kv_table(st: _Styles, rows: list[tuple[str, str]]) -> Table:
    t = Table([[st.p(k, st.small), st.p(v, st.small)] for k, v in rows], colWidths=[3.2 * cm, 13.8 * cm])
    t.setStyle(_TABLE)
    return t


def _image(jpeg: bytes, max_w: float) -> Image:
    w, h = ImageReader(io.BytesIO(jpeg)).getSize()
    scale = min(max_w / w, 9 * cm / h)
    return Image(io.BytesIO(jpeg), width=w * scale, height=h * scale)


def _path(path: str, style: ParagraphStyle) -> Paragraph:
    """A zip path broken after its folder (a path has no spaces to wrap at)."""
    folder, _, name = path.rpartition("/")
    return Paragraph(escape(folder + "/") + "<br/>" + escape(name) if folder else escape(path), style)


def _violation(st: _Styles, i: int, v: ReportViolation) -> list:
    verified = ("hashes and signature verified" if v.verified else "NOT verified: " + "; ".join(v.problems))
    story = [st.p(f"{i}. {v.rule_title} at {v.camera_name}", st.h2), _kv_table(st, [
        ("Alert", v.alert_id), ("Rule", f"{v.rule_title} ({v.rule})"), ("Camera", f"{v.camera_name} ({v.camera_id})"),
        ("Started", fmt_time(v.started_at)), ("Ended", fmt_time(v.ended_at)),
        ("Best frame", f"{fmt_time(v.best_at)}, score {v.best_score:.2f}"), ("Model", v.model),
        ("Evidence", f"revision {v.revision}, {verified}"), ("Legal basis", v.legal_basis or "(none configured)")])]
    if v.best_image:
        story += [Spacer(1, 0.3 * cm), _image(v.best_image, 17 * cm)]
    rows = [[st.p("File", st.small), st.p("Bytes", st.small), st.p("SHA-256", st.small)]]
    rows += [[_path(f.path, st.small), st.p(str(f.size), st.small), Paragraph(f.sha256, st.mono)] for f in v.files]
    files = Table(rows, colWidths=[5.2 * cm, 1.5 * cm, 10.3 * cm], repeatRows=1)
    files.setStyle(_TABLE)
    return story + [Spacer(1, 0.3 * cm), files]


def render_pdf(data: ReportData) -> bytes:
    st = _Styles()
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=A4, leftMargin=2 * cm, rightMargin=2 * cm, topMargin=1.8 * cm,
                            bottomMargin=1.8 * cm, title=f"Vigil lead {data.lead_id}", author="Vigil")
    story = [st.p(f"Vigil evidence report: lead #{data.lead_id}", st.h1), _kv_table(st, [
        ("Site", f"{data.site_name} ({data.site_id})"), ("Address", data.address), ("Operator", data.operator),
        ("Lead", f"#{data.lead_id}: {data.title}"), ("Status", data.status), ("Assignee", data.assignee or "-"),
        ("Site grade", data.grade), ("Violations", str(len(data.violations))),
        ("Generated", f"{fmt_time(data.generated_at)} by {data.generated_by}"),
        ("Signing key", f"Ed25519, key id {data.key_id} (public_key.pem)")]),
        Spacer(1, 0.4 * cm),
        st.p("Every file's SHA-256 is listed with its violation and in the signed manifest of its alert; "
             "VERIFY.txt in the package explains how to check them without trusting the server.")]
    for i, v in enumerate(data.violations, 1):
        story += [PageBreak()] + _violation(st, i, v)
    doc.build(story, onFirstPage=_footer(data), onLaterPages=_footer(data))
    return buf.getvalue()


def _footer(data: ReportData):
    def draw(canvas, doc) -> None:
        canvas.saveState()
        canvas.setFont("Helvetica", 7)
        canvas.drawString(2 * cm, 1.1 * cm, f"Vigil lead #{data.lead_id} - {data.site_id} - "
                                            f"generated {fmt_time(data.generated_at)}")
        canvas.drawRightString(A4[0] - 2 * cm, 1.1 * cm, f"page {doc.page}")
        canvas.restoreState()
    return draw
