"""Site grading: confirmed violations in the rolling window, weighted by rule severity, plus filed cases ->
blue/yellow/orange/red. A dismissed lead's alerts never count; every reason is given in English and Chinese."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select

from vigil.catalogue import RULES
from vigil.db.models import Alert, Lead, Site
from vigil.errors import NotFoundError
from vigil.types import utcnow

GRADES = ("blue", "yellow", "orange", "red")


@dataclass(frozen=True)
class SiteGrade:
    site_id: str
    grade: str  # blue | yellow | orange | red
    score: float  # sum of severities of confirmed violations in the window
    reasons: tuple[str, ...]  # one line per rule: count x severity (and filed cases)
    window_days: float
    reasons_zh: tuple[str, ...] = ()
    explanation_zh: str = ""  # why this colour: the score against the thresholds
    explanation: str = ""
    cases_filed: int = 0
    items: tuple[tuple[str, int, float], ...] = ()  # (rule, confirmed count, weight): the reasons as data

    @property
    def rank(self) -> int:
        return GRADES.index(self.grade)


def severity(config, camera_id: str, rule: str) -> int:
    """The rule's effective severity: the catalogue, edited by the config (per camera when it still exists)."""
    if camera_id in config.cameras and rule in RULES:
        return config.rule_spec(camera_id, rule).severity
    edit = config.rules.get(rule)
    if edit is not None and edit.severity is not None:
        return edit.severity
    return RULES[rule].severity if rule in RULES else 1


def grade_of(score: float, cfg) -> str:
    if score >= cfg.red:
        return "red"
    if score >= cfg.orange:
        return "orange"
    if score >= cfg.yellow:
        return "yellow"
    return "blue"


def _zh_rule(rule: str) -> str:
    from api.i18n import translate

    return translate("zh", f"rule.{rule}")


def _explain(score: float, grade: str, g) -> tuple[str, str]:
    from api.i18n import translate

    thresholds = f"yellow >= {g.yellow:g}, orange >= {g.orange:g}, red >= {g.red:g}"
    en = f"score {score:g} over the last {g.window_days:g} days ({thresholds}): {grade}"
    zh = (f"近 {g.window_days:g} 日得分 {score:g}（黄色 ≥ {g.yellow:g}，橙色 ≥ {g.orange:g}，红色 ≥ {g.red:g}），"
          f"评为{translate('zh', 'grade.' + grade)}")
    if score == 0:
        zh += "：无已确认违规，无事不扰"
        en += ": no confirmed violation, left alone"
    return en, zh


def _grade(config, site_id: str, alerts: list[tuple[str, str]], cases: int = 0) -> SiteGrade:
    weights: Counter[str] = Counter()
    counts: Counter[str] = Counter()
    for camera_id, rule in alerts:
        weights[rule] += severity(config, camera_id, rule)
        counts[rule] += 1
    g = config.grading
    score = float(sum(weights.values())) + cases * g.case_filed
    order = sorted(weights, key=lambda r: (-weights[r], r))
    reasons = [f"{counts[r]} confirmed {RULES[r].title.lower() if r in RULES else r} "
               f"(weight {weights[r]:g}) in the last {g.window_days:g} days" for r in order]
    reasons_zh = [f"近 {g.window_days:g} 日已确认{_zh_rule(r)} {counts[r]} 起（权重 {weights[r]:g}）" for r in order]
    items = tuple((r, counts[r], float(weights[r])) for r in order)
    if cases:
        reasons.append(f"{cases} case(s) filed (weight {cases * g.case_filed:g})")
        reasons_zh.append(f"已立案 {cases} 起（权重 {cases * g.case_filed:g}）")
    grade = grade_of(score, g)
    en, zh = _explain(score, grade, g)
    return SiteGrade(site_id, grade, score, tuple(reasons), g.window_days, tuple(reasons_zh), zh, en, cases, items)


def _confirmed_by_site(services, site_id: str | None = None) -> dict[str, list[tuple[str, str]]]:
    """Confirmed alerts in the window per site, leaving out those whose lead was dismissed."""
    since = utcnow() - timedelta(days=services.loaded.config.grading.window_days)
    q = (select(Alert.site_id, Alert.camera_id, Alert.rule)
         .where(Alert.state == "confirmed", Alert.started_at >= since)
         .where((Alert.lead_outcome.is_(None)) | (Alert.lead_outcome != "dismissed")))
    if site_id is not None:
        q = q.where(Alert.site_id == site_id)
    out: dict[str, list[tuple[str, str]]] = {}
    with services.sessions() as s:
        for site, camera, rule in s.execute(q):
            out.setdefault(site, []).append((camera, rule))
    return out


def _cases_by_site(services) -> Counter[str]:
    since = utcnow() - timedelta(days=services.loaded.config.grading.window_days)
    with services.sessions() as s:
        return Counter(s.scalars(select(Lead.site_id).where(Lead.status == "case_filed", Lead.closed_at >= since)))


def site_grade(services, site_id: str) -> SiteGrade:
    with services.sessions() as s:
        if s.get(Site, site_id) is None:
            raise NotFoundError(f"site {site_id} does not exist")
    return _grade(services.loaded.config, site_id, _confirmed_by_site(services, site_id).get(site_id, []),
                  _cases_by_site(services)[site_id])


def all_grades(services) -> list[SiteGrade]:
    """Every site's grade, worst first (red before orange ... before blue; higher score first within a grade)."""
    by_site, cases = _confirmed_by_site(services), _cases_by_site(services)
    with services.sessions() as s:
        site_ids = list(s.scalars(select(Site.id)))
    grades = [_grade(services.loaded.config, sid, by_site.get(sid, []), cases[sid]) for sid in site_ids]
    return sorted(grades, key=lambda g: (-g.rank, -g.score, g.site_id))
