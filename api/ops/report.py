"""The lead report an officer prints: site, each violation (time, camera, rule, who confirmed it and when, legal
basis with penalty articles and fine ranges, best frame, hashes), on-site evidence and the lead's history.

`ReportData` is built by `api.ops.package`; `render_html` gives a self-contained page (images inline),
`render_pdf` (api.ops.report_pdf) the same content for a case file. Chinese (zh) or English (en).
"""
from __future__ import annotations

import base64
import html
from dataclasses import dataclass
from datetime import datetime

from api.ops.case_facts import fmt_t
from vigil.types import iso_utc

LABELS = {
    "en": {"title": "Vigil evidence report: lead #{id}", "site": "Site", "address": "Address", "operator": "Operator",
           "contact": "Contact", "lead": "Lead", "status": "Status", "assignee": "Assignee", "grade": "Site grade",
           "violations": "Violations", "generated": "Generated", "by": "by", "key": "Signing key",
           "alert": "Alert", "rule": "Rule", "camera": "Camera", "started": "Started", "ended": "Ended",
           "best": "Best frame", "score": "score", "model": "Model", "evidence": "Evidence", "legal": "Legal basis",
           "confirmed": "Confirmed by", "file": "File", "bytes": "Bytes", "verified": "hashes and signature verified",
           "not_verified": "NOT verified", "revision": "revision", "none": "(none configured)",
           "onsite": "On-site evidence", "taken": "Taken", "location": "Location", "officer": "Officer",
           "note": "Note", "history": "Lead history", "at": "Time", "who": "Who", "what": "What",
           "intro": "Every file's SHA-256 is listed with its violation and in the signed manifest of its alert; "
                    "VERIFY.txt in the package explains how to check them without trusting the server.",
           "at_camera": "at"},
    "zh": {"title": "Vigil 证据报告：线索 #{id}", "site": "场所", "address": "地址", "operator": "经营单位",
           "contact": "联系人", "lead": "线索", "status": "状态", "assignee": "承办人", "grade": "场所等级",
           "violations": "违法行为数", "generated": "生成时间", "by": "生成人", "key": "签名密钥",
           "alert": "告警", "rule": "违法类型", "camera": "摄像机", "started": "开始", "ended": "结束",
           "best": "最佳画面", "score": "置信度", "model": "模型", "evidence": "证据", "legal": "法律依据",
           "confirmed": "确认人及时间", "file": "文件", "bytes": "字节", "verified": "哈希与签名已核验",
           "not_verified": "未通过核验", "revision": "版本", "none": "（未配置）",
           "onsite": "现场核查证据", "taken": "拍摄时间", "location": "位置", "officer": "执法人员",
           "note": "说明", "history": "线索处理记录", "at": "时间", "who": "人员", "what": "事项",
           "intro": "每个文件的 SHA-256 列于对应违法行为之下，并记录在该告警的签名证据清单中；"
                    "证据包中的 VERIFY.txt 说明如何在不信任服务器的情况下自行核验。",
           "at_camera": "·"},
}


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
    legal_basis: str  # the provisions as sentences in the report's language (penalty articles, fine ranges)
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
    confirmed_by: str = "—"
    confirmed_at: datetime | None = None


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
    lang: str = "en"
    contact: str = ""
    attachments: tuple[dict, ...] = ()  # on-site evidence (name, taken_at, latitude, longitude, by, note, sha256)
    history: tuple[tuple[datetime, str, str], ...] = ()  # (at, who, what)

    def t(self, key: str) -> str:
        return LABELS[self.lang][key]


def _e(text: object) -> str:
    return html.escape(str(text))


def fmt_time(t: datetime) -> str:
    return iso_utc(t.replace(microsecond=0)).replace("T", " ").replace("Z", " UTC")


def when(data: ReportData, t: datetime | None) -> str:
    return fmt_t(t, data.lang)


def head_rows(data: ReportData) -> list[tuple[str, str]]:
    from api.i18n import translate

    t = data.t
    return [(t("site"), f"{data.site_name} ({data.site_id})"), (t("address"), data.address),
            (t("operator"), data.operator), (t("contact"), data.contact or "—"),
            (t("lead"), f"#{data.lead_id}: {data.title}"), (t("status"), translate(data.lang, f"lead.{data.status}")),
            (t("assignee"), data.assignee or "-"), (t("grade"), translate(data.lang, f"grade.{data.grade}")),
            (t("violations"), str(len(data.violations))),
            (t("generated"), f"{when(data, data.generated_at)}, {t('by')} {data.generated_by}"),
            (t("key"), f"Ed25519, key id {data.key_id} (public_key.pem)")]


def violation_rows(data: ReportData, v: ReportViolation) -> list[tuple[str, str]]:
    t = data.t
    verified = t("verified") if v.verified else f"{t('not_verified')}: " + "; ".join(v.problems)
    return [(t("alert"), v.alert_id), (t("rule"), f"{v.rule_title} ({v.rule})"),
            (t("camera"), f"{v.camera_name} ({v.camera_id})"), (t("started"), when(data, v.started_at)),
            (t("ended"), when(data, v.ended_at)),
            (t("best"), f"{when(data, v.best_at)}, {t('score')} {v.best_score:.2f}"), (t("model"), v.model),
            (t("confirmed"), f"{v.confirmed_by}, {when(data, v.confirmed_at)}"),
            (t("evidence"), f"{t('revision')} {v.revision}, {verified}"), (t("legal"), v.legal_basis or t("none"))]


def attachment_rows(data: ReportData) -> list[list[str]]:
    from datetime import datetime as dt

    return [[a["name"], when(data, dt.fromisoformat(a["taken_at"].replace("Z", "+00:00"))),
             f"{a['latitude']:.5f}, {a['longitude']:.5f}" if a.get("latitude") is not None else "—", a["by"],
             a["note"] or "—", a["sha256"]] for a in data.attachments]


CSS = """body{font-family:"Noto Sans","Noto Sans CJK SC",Arial,sans-serif;margin:2em;color:#111}
h1{font-size:1.5em}h2{font-size:1.2em;border-bottom:1px solid #999;margin-top:2em}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #bbb;padding:3px 6px;text-align:left;
vertical-align:top;font-size:.9em}code{font-family:monospace;font-size:.85em}img{max-width:100%;border:1px solid #999}
.bad{color:#b00}@media print{h2{page-break-before:always}}"""


def _table(header: list[str], rows: list[list[str]]) -> str:
    out = ["<table><tr>" + "".join(f"<th>{_e(h)}</th>" for h in header) + "</tr>"]
    out += ["<tr>" + "".join(f"<td>{_e(c)}</td>" for c in r) + "</tr>" for r in rows]
    return "".join(out) + "</table>"


def _violation_html(data: ReportData, i: int, v: ReportViolation) -> str:
    t = data.t
    out = [f"<h2>{i}. {_e(v.rule_title)} {_e(t('at_camera'))} {_e(v.camera_name)}</h2><table>"]
    out += [f"<tr><th>{_e(k)}</th><td>{_e(val)}</td></tr>" for k, val in violation_rows(data, v)]
    out.append("</table>")
    if v.best_image:
        out.append(f'<p><img alt="best frame" src="data:image/jpeg;base64,{base64.b64encode(v.best_image).decode()}">'
                   "</p>")
    out.append(f"<table><tr><th>{_e(t('file'))}</th><th>{_e(t('bytes'))}</th><th>SHA-256</th></tr>")
    out += [f"<tr><td><code>{_e(f.path)}</code></td><td>{f.size}</td><td><code>{f.sha256}</code></td></tr>"
            for f in v.files]
    out.append("</table>")
    return "\n".join(out)


def render_html(data: ReportData) -> str:
    """A self-contained HTML report (best frames inline as data URIs)."""
    t = data.t
    parts = [f"<!doctype html><html lang={data.lang}><head><meta charset=utf-8><title>Vigil lead {data.lead_id}"
             f"</title><style>{CSS}</style></head><body><h1>{_e(t('title').format(id=data.lead_id))}</h1><table>"]
    parts += [f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in head_rows(data)]
    parts.append(f"</table><p>{_e(t('intro'))}</p>")
    parts += [_violation_html(data, i, v) for i, v in enumerate(data.violations, 1)]
    if data.attachments:
        parts.append(f"<h2>{_e(t('onsite'))}</h2>" + _table(
            [t("file"), t("taken"), t("location"), t("officer"), t("note"), "SHA-256"], attachment_rows(data)))
    if data.history:
        parts.append(f"<h2>{_e(t('history'))}</h2>" + _table(
            [t("at"), t("who"), t("what")], [[when(data, at), who, what] for at, who, what in data.history]))
    parts.append("</body></html>\n")
    return "\n".join(parts)


def render_pdf(data: ReportData) -> bytes:
    from api.ops.report_pdf import render_pdf as _render

    return _render(data)
