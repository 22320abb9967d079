"""Site grading: confirmed violations in the rolling window, weighted by rule severity -> blue/yellow/orange/red."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select

from vigil.catalogue import RULES
from vigil.db.models import Alert, Site
from vigil.errors import NotFoundError
from vigil.types import utcnow

GRADES = ("blue", "yellow", "orange", "red")


@dataclass(frozen=True)
class SiteGrade:
    site_id: str
    grade: str  # blue | yellow | orange | red
    score: float  # sum of severities of confirmed violations in the window
    reasons: tuple[str, ...]  # one line per rule: count x severity
    window_days: float
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


def _grade(config, site_id: str, alerts: list[tuple[str, str]]) -> SiteGrade:
    weights: Counter[str] = Counter()
    counts: Counter[str] = Counter()
    for camera_id, rule in alerts:
        weights[rule] += severity(config, camera_id, rule)
        counts[rule] += 1
    score = float(sum(weights.values()))
    g = config.grading
    reasons = tuple(f"{counts[r]} confirmed {RULES[r].title.lower() if r in RULES else r} "
                    f"(weight {weights[r]:g}) in the last {g.window_days:g} days"
                    for r in sorted(weights, key=lambda r: (-weights[r], r)))
    items = tuple((r, counts[r], float(weights[r])) for r in sorted(weights, key=lambda r: (-weights[r], r)))
    return SiteGrade(site_id, grade_of(score, g), score, reasons, g.window_days, items)


def _confirmed_by_site(services, site_id: str | None = None) -> dict[str, list[tuple[str, str]]]:
    since = utcnow() - timedelta(days=services.loaded.config.grading.window_days)
    q = select(Alert.site_id, Alert.camera_id, Alert.rule).where(Alert.state == "confirmed", Alert.started_at >= since)
    if site_id is not None:
        q = q.where(Alert.site_id == site_id)
    out: dict[str, list[tuple[str, str]]] = {}
    with services.sessions() as s:
        for site, camera, rule in s.execute(q):
            out.setdefault(site, []).append((camera, rule))
    return out


def site_grade(services, site_id: str) -> SiteGrade:
    with services.sessions() as s:
        if s.get(Site, site_id) is None:
            raise NotFoundError(f"site {site_id} does not exist")
    return _grade(services.loaded.config, site_id, _confirmed_by_site(services, site_id).get(site_id, []))


def all_grades(services) -> list[SiteGrade]:
    """Every site's grade, worst first (red before orange ... before blue; higher score first within a grade)."""
    by_site = _confirmed_by_site(services)
    with services.sessions() as s:
        site_ids = list(s.scalars(select(Site.id)))
    grades = [_grade(services.loaded.config, sid, by_site.get(sid, [])) for sid in site_ids]
    return sorted(grades, key=lambda g: (-g.rank, -g.score, g.site_id))
