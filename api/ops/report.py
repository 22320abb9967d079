"""The lead report an officer prints: site, each violation (time, camera, rule, legal basis, best frame, hashes).

`ReportData` is built by `api.ops.package`; `render_html` gives a self-contained page (images inline),
`render_pdf` (api.ops.report_pdf) the same content for a case file.
"""
from __future__ import annotations

import base64
import html
from dataclasses import dataclass
from datetime import datetime

from vigil.types import iso_utc


@dataclass(frozen=True)
class ReportFile:
    path: str  # path inside the package zip
    name: str  # role: clip.mp4, best_raw.jpg, manifest.json ...
    sha256: str
    size: int


@dataclass(frozen=True)
class ReportViolation:
    alert_id: str
    rule: str
    rule_title: str
    legal_basis: str
    camera_id: str
    camera_name: str
    started_at: datetime
    ended_at: datetime
    best_at: datetime
    best_score: float
    model: str  # name and version
    revision: int
    verified: bool  # hashes and signature checked when the package was built
    problems: tuple[str, ...]
    best_image: bytes | None  # annotated best frame (JPEG)
    files: tuple[ReportFile, ...]


@dataclass(frozen=True)
class ReportData:
    lead_id: int
    title: str
    status: str
    assignee: str | None
    site_id: str
    site_name: str
    address: str
    operator: str
    grade: str
    generated_at: datetime
    generated_by: str
    key_id: str
    violations: tuple[ReportViolation, ...]


def _e(text: object) -> str:
    return html.escape(str(text))


def fmt_time(t: datetime) -> str:
    return iso_utc(t.replace(microsecond=0)).replace("T", " ").replace("Z", " UTC")


CSS = """body{font-family:"Noto Sans","Noto Sans CJK SC",Arial,sans-serif;margin:2em;color:#111}
h1{font-size:1.5em}h2{font-size:1.2em;border-bottom:1px solid #999;margin-top:2em}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #bbb;padding:3px 6px;text-align:left;
vertical-align:top;font-size:.9em}code{font-family:monospace;font-size:.85em}img{max-width:100%;border:1px solid #999}
.legal{background:#f4f4f4;padding:.5em;border-left:4px solid #777}.bad{color:#b00}@media print{h2{page-break-before:always}}"""


def _violation_html(i: int, v: ReportViolation) -> str:
    rows = [("Alert", f"<code>{_e(v.alert_id)}</code>"), ("Rule", f"{_e(v.rule_title)} (<code>{_e(v.rule)}</code>)"),
            ("Camera", f"{_e(v.camera_name)} (<code>{_e(v.camera_id)}</code>)"),
            ("Started", _e(fmt_time(v.started_at))), ("Ended", _e(fmt_time(v.ended_at))),
            ("Best frame", f"{_e(fmt_time(v.best_at))}, score {v.best_score:.2f}"), ("Model", _e(v.model)),
            ("Evidence", f"revision {v.revision}, " + ("hashes and signature verified" if v.verified else
                                                        "<span class=bad>NOT verified: "
                                                        + _e("; ".join(v.problems)) + "</span>"))]
    out = [f"<h2>{i}. {_e(v.rule_title)} at {_e(v.camera_name)}</h2><table>"]
    out += [f"<tr><th>{k}</th><td>{val}</td></tr>" for k, val in rows]
    out.append(f"</table><p class=legal><b>Legal basis.</b> {_e(v.legal_basis or '(none configured)')}</p>")
    if v.best_image:
        data = base64.b64encode(v.best_image).decode()
        out.append(f'<p><img alt="best frame" src="data:image/jpeg;base64,{data}"></p>')
    out.append("<table><tr><th>File</th><th>Size (bytes)</th><th>SHA-256</th></tr>")
    out += [f"<tr><td><code>{_e(f.path)}</code></td><td>{f.size}</td><td><code>{f.sha256}</code></td></tr>"
            for f in v.files]
    out.append("</table>")
    return "\n".join(out)


def render_html(data: ReportData) -> str:
    """A self-contained HTML report (best frames inline as data URIs)."""
    head = [("Site", f"{_e(data.site_name)} (<code>{_e(data.site_id)}</code>)"), ("Address", _e(data.address)),
            ("Operator", _e(data.operator)), ("Lead", f"#{data.lead_id}: {_e(data.title)}"),
            ("Status", _e(data.status)), ("Assignee", _e(data.assignee or "-")), ("Site grade", _e(data.grade)),
            ("Violations", str(len(data.violations))),
            ("Generated", f"{_e(fmt_time(data.generated_at))} by {_e(data.generated_by)}"),
            ("Signing key", f"Ed25519, key id <code>{_e(data.key_id)}</code> (public_key.pem)")]
    parts = [f"<!doctype html><html><head><meta charset=utf-8><title>Vigil lead {data.lead_id}</title>"
             f"<style>{CSS}</style></head><body><h1>Vigil evidence report: lead #{data.lead_id}</h1><table>"]
    parts += [f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in head]
    parts.append("</table><p>Every file's SHA-256 is listed below and in the signed manifest of its alert; "
                 "VERIFY.txt explains how to check them without trusting the server.</p>")
    parts += [_violation_html(i, v) for i, v in enumerate(data.violations, 1)]
    parts.append("</body></html>\n")
    return "\n".join(parts)


def render_pdf(data: ReportData) -> bytes:
    from api.ops.report_pdf import render_pdf as _render

    return _render(data)
