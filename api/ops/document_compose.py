"""The three enforcement documents as blocks of text, in Chinese (default) or English, from a lead's case facts.

责令改正违法行为决定书 (order to correct), 行政处罚事先告知书 (advance notice of penalty), 现场检查笔录 (on-site
inspection record). The renderers (document_pdf, document_docx) only lay the blocks out.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial

from api.i18n import translate
from api.ops.case_facts import CaseFacts, fmt_t
from vigil.legal import MEASURE_TEXT, TO_BE_SET_EN, TO_BE_SET_ZH

KINDS = ("order_correct", "penalty_notice", "inspection_record")
TITLES = {"order_correct": ("责令改正违法行为决定书", "Order to Correct the Violation"),
          "penalty_notice": ("行政处罚事先告知书", "Advance Notice of Administrative Penalty"),
          "inspection_record": ("现场检查笔录", "On-site Inspection Record")}


@dataclass
class Doc:
    """A document as blocks: (kind, payload) with kind h | p | kv | table | sign."""

    title: str
    number: str
    lang: str
    blocks: list[tuple[str, object]] = field(default_factory=list)

    def h(self, text: str) -> None:
        self.blocks.append(("h", text))

    def p(self, text: str) -> None:
        self.blocks.append(("p", text))

    def kv(self, rows: list[tuple[str, str]]) -> None:
        self.blocks.append(("kv", rows))

    def table(self, header: list[str], rows: list[list[str]]) -> None:
        self.blocks.append(("table", (header, rows)))

    def sign(self, labels: list[str]) -> None:
        self.blocks.append(("sign", labels))


def _L(lang: str, zh: str, en: str) -> str:
    return zh if lang == "zh" else en


def _rule(rule: str, lang: str) -> str:
    return translate(lang, f"rule.{rule}")


def _party(doc: Doc, c: CaseFacts) -> None:
    L, p = partial(_L, doc.lang), c.party
    doc.h(L("当事人", "Party"))
    doc.kv([(L("单位名称", "Enterprise"), p.operator or p.site_name),
            (L("场所", "Site"), f"{p.site_name} ({p.site_id})"),
            (L("地址", "Address"), p.address or "—"),
            (L("联系人", "Contact"),
             " ".join(x for x in (p.contact_name, p.contact_phone, p.contact_email) if x) or "—")])


def _facts(doc: Doc, c: CaseFacts) -> None:
    L, lang = partial(_L, doc.lang), doc.lang
    doc.h(L("违法事实", "Facts"))
    doc.p(L(f"经查，{c.party.operator or c.party.site_name}存在以下行为，由视频监控记录，经审核人员确认：",
            f"It was found that {c.party.operator or c.party.site_name} committed the following, recorded by video "
            f"surveillance and confirmed by a reviewer:"))
    rows = [[str(i), _rule(f.rule, lang), f"{f.camera_name} ({f.camera_id})",
             f"{fmt_t(f.started_at, lang)} – {fmt_t(f.ended_at, lang)}",
             f"{f.confirmed_by}, {fmt_t(f.confirmed_at, lang)}", f"{f.manifest_sha256}"]
            for i, f in enumerate(c.facts, 1)]
    doc.table(["#", L("违法行为", "Violation"), L("摄像机", "Camera"), L("时间", "Time"),
               L("确认人及时间", "Confirmed by, at"), L("证据清单 SHA-256", "Evidence manifest SHA-256")], rows)
    if c.attachments:
        doc.p(L("现场核查取得以下证据：", "On-site verification added this evidence:"))
        doc.table([L("文件", "File"), L("拍摄时间", "Taken"), L("位置", "Location"), L("执法人员", "Officer"),
                   L("说明", "Note"), "SHA-256"],
                  [[a["name"], fmt_t(_dt(a["taken_at"]), lang),
                    f"{a['latitude']:.5f}, {a['longitude']:.5f}" if a["latitude"] is not None else "—", a["by"],
                    a["note"] or "—", a["sha256"]] for a in c.attachments])


def _dt(iso: str):
    from datetime import datetime

    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


def legal_lines(rule: str, legal, lang: str) -> list[str]:
    """The rule's provisions as sentences: the duty's article, the penalty's article, the fine range and measures."""
    L = partial(_L, lang)
    if not legal.provisions or legal.primary is None:
        return [L(f"{_rule(rule, 'zh')}：法律依据{TO_BE_SET_ZH}。",
                  f"{_rule(rule, 'en')}: legal basis {TO_BE_SET_EN}.")]
    out = []
    for pv in legal.provisions:
        fine = (L(f"处{pv.fine_min_yuan:,}元以上{pv.fine_max_yuan:,}元以下的罚款",
                  f"fine of {pv.fine_min_yuan:,} to {pv.fine_max_yuan:,} yuan")
                if pv.fine_min_yuan is not None else L("罚款幅度待执法机关设定", "fine range to be set"))
        refusal = "、".join(MEASURE_TEXT[m][0] for m in pv.on_refusal)
        refusal_en = ", ".join(MEASURE_TEXT[m][1] for m in pv.on_refusal)
        out.append(L(f"{_rule(rule, 'zh')}：{pv.conduct_zh}，违反{pv.law_zh}{pv.obligation_article or '（待设定）'}"
                     f"的规定；依据{pv.law_zh}{pv.penalty_article}，责令改正，{fine}"
                     + (f"；拒不改正的，{refusal}。" if refusal else "。"),
                     f"{_rule(rule, 'en')}: {pv.conduct_en}, contrary to the {pv.law_en}, {pv.article_en}; "
                     f"under it: order to correct, {fine}" + (f"; on refusal: {refusal_en}." if refusal_en else ".")))
    return out


def _legal(doc: Doc, c: CaseFacts) -> None:
    doc.h(_L(doc.lang, "法律依据", "Legal basis"))
    for rule, legal in c.legal.items():
        for line in legal_lines(rule, legal, doc.lang):
            doc.p(line)


def _discretion(doc: Doc, c: CaseFacts) -> None:
    L = partial(_L, doc.lang)
    doc.h(L("裁量理由", "Discretion reasoning"))
    for rule, sg in c.suggestions.items():
        doc.p(f"{_rule(rule, doc.lang)}：" if doc.lang == "zh" else f"{_rule(rule, 'en')}:")
        doc.table(["#", L("裁量步骤", "Step"), L("幅度位置", "Position")],
                  [[str(i), st.zh if doc.lang == "zh" else st.en, f"{st.position * 100:.0f}%"]
                   for i, st in enumerate(sg.steps, 1)])


def _measure(doc: Doc, c: CaseFacts) -> None:
    L = partial(_L, doc.lang)
    doc.h(L("处理措施", "Measures"))
    for m in c.measures:
        fine = (L(f"罚款人民币{m.fine_yuan:,}元", f"a fine of {m.fine_yuan:,} yuan") if m.fine_yuan is not None
                else L("不予罚款", "no fine"))
        who = (L(f"（执法人员{m.by}决定，理由：{m.reason}）", f" (decided by officer {m.by}: {m.reason})") if m.decided
               else L("（裁量模型建议，待执法人员决定）", " (the discretion model's suggestion; the officer decides)"))
        doc.p(f"{_rule(m.rule, doc.lang)}：{c.measures_text(m, doc.lang)}；{fine}{who}" if doc.lang == "zh" else
              f"{_rule(m.rule, 'en')}: {c.measures_text(m, 'en')}; {fine}{who}")


def compose(kind: str, c: CaseFacts, lang: str, version: int) -> Doc:
    """One document of `kind` in `lang` (zh or en)."""
    zh, en = TITLES[kind]
    doc = Doc(_L(lang, zh, en), f"VIGIL-{c.lead_id}-{kind.upper()}-V{version}", lang)
    L = partial(_L, lang)
    party = c.party.operator or c.party.site_name
    agency = _L(lang, c.agency_zh, c.agency_en) or L("（执法机关名称待设定）", "(agency name to be set)")
    head = [(L("执法机关", "Agency"), agency), (L("执法人员", "Officer"), c.officer or "—")]
    if kind == "inspection_record":
        head += [(L("检查时间", "Inspection time"), fmt_t(_first_photo(c), lang)),
                 (L("检查地点", "Place"), c.party.address or c.party.site_name)]
    doc.kv(head)
    _party(doc, c)
    _facts(doc, c)
    _legal(doc, c)
    _discretion(doc, c)
    _measure(doc, c)
    if kind == "order_correct":
        doc.p(L(f"本机关责令你单位自收到本决定书之日起{c.rectify_days}日内改正上述违法行为，并将改正情况书面报告本机关。"
                "如不服本决定，可以依法申请行政复议或者提起行政诉讼。",
                f"{party} is ordered to correct the above within {c.rectify_days} days of receiving this order and to "
                "report the correction in writing. This decision may be challenged by administrative reconsideration "
                "or litigation as the law provides."))
        doc.sign([L("执法机关（印章）", "Agency (seal)"), L("日期", "Date")])
    elif kind == "penalty_notice":
        doc.p(L("本机关拟对你单位作出上述行政处罚。依据《中华人民共和国行政处罚法》，你单位有权进行陈述和申辩；"
                "符合听证条件的，有权要求举行听证。逾期未提出的，视为放弃上述权利。",
                "The agency intends to impose the above penalty. Under the PRC Administrative Penalty Law the party "
                "may "
                "state its case and defend itself, and may ask for a hearing where the law allows; not doing so in "
                "time waives these rights."))
        doc.sign([L("执法机关（印章）", "Agency (seal)"), L("日期", "Date")])
    else:
        doc.p(L("以上笔录经被检查单位核对无误。", "The inspected party has checked this record."))
        doc.sign([L("执法人员签名", "Inspector's signature"), L("被检查单位负责人签名", "Party's signature"),
                  L("日期", "Date")])
    doc.p(L(f"文书编号 {doc.number}，由 Vigil 于 {fmt_t(c.generated_at, lang)} 生成；证据文件的 SHA-256 见所附证据包。",
            f"Document {doc.number}, drafted by Vigil at {fmt_t(c.generated_at, lang)}; evidence hashes as in the "
            "evidence package."))
    return doc


def _first_photo(c: CaseFacts):
    times = [_dt(a["taken_at"]) for a in c.attachments if a["kind"] == "onsite"]
    return min(times) if times else None
