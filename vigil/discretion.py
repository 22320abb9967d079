"""The discretion model: a rule's provision and the facts of a case -> a suggested measure and fine, every step shown.

Only a suggestion: the officer decides (api.ops.decisions records the decision and its reason).
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from vigil.legal import MEASURE_TEXT, TO_BE_SET_EN, TO_BE_SET_ZH, DiscretionFactors, Measure, RuleLegal


class Cooperation(str, Enum):
    COOPERATIVE = "cooperative"
    NORMAL = "normal"
    OBSTRUCTIVE = "obstructive"


@dataclass(frozen=True)
class Facts:
    """What the discretion model weighs; the lead and the officer supply them."""

    rule: str
    severity: int  # the rule's grading weight
    prior_cases: int  # filed cases for this rule at this site within the repeat window
    duration_s: float  # total violation time over the lead's alerts
    rectified_in_time: bool = False
    cooperation: Cooperation = Cooperation.NORMAL
    refused: bool = False


@dataclass(frozen=True)
class Step:
    factor: str  # base | first_violation | repeat | long_duration | severity | rectified | cooperation | refused | ...
    zh: str
    en: str
    position: float  # where in the fine range the suggestion stands after this step (0-1)


@dataclass(frozen=True)
class Suggestion:
    rule: str
    provision_set: bool  # False: no provision configured -> to be set by the agency
    exempt: bool  # 首违不罚 applies: no fine
    measures: tuple[Measure, ...]
    fine_yuan: int | None
    position: float
    steps: tuple[Step, ...]

    def measures_text(self, lang: str) -> str:
        i = 0 if lang == "zh" else 1
        return ("、" if lang == "zh" else ", ").join(MEASURE_TEXT[m][i] for m in self.measures) or "—"


def _clamp(x: float) -> float:
    return min(1.0, max(0.0, x))


def _pct(x: float) -> str:
    return f"{x * 100:+.0f}%"


def suggest(legal: RuleLegal, factors: DiscretionFactors, facts: Facts) -> Suggestion:
    """Walk the factors in a fixed order; each step moves the position in the fine range and says why."""
    provision = legal.primary
    if provision is None:
        step = Step("provision", f"规则 {facts.rule} 的法律依据{TO_BE_SET_ZH}，不计算罚款",
                    f"rule {facts.rule} has no legal basis yet ({TO_BE_SET_EN}); no fine is computed", 0.0)
        return Suggestion(facts.rule, False, False, (), None, 0.0, (step,))
    f, steps = factors, []
    pos = f.base_position
    steps.append(Step("base", f"起点：罚款幅度的 {f.base_position * 100:.0f}% 处",
                      f"start at {f.base_position * 100:.0f}% of the fine range", pos))

    def move(name: str, effect: float, zh: str, en: str) -> None:
        nonlocal pos
        pos = _clamp(pos + effect)
        steps.append(Step(name, f"{zh}（{_pct(effect)}）", f"{en} ({_pct(effect)})", pos))

    first = facts.prior_cases == 0
    if first:
        move("first_violation", f.first_violation.position, f"首次违法：{f.repeat_window_days} 日内无同类立案",
             f"first violation: no filed case for this rule in {f.repeat_window_days} days")
    else:
        move("repeat", f.repeat.position * facts.prior_cases,
             f"再次违法：{f.repeat_window_days} 日内已有 {facts.prior_cases} 起同类立案",
             f"repeat: {facts.prior_cases} filed case(s) for this rule in {f.repeat_window_days} days")
    minutes = facts.duration_s / 60
    if minutes >= f.long_duration_minutes:
        move("long_duration", f.long_duration.position,
             f"持续时间长：{minutes:.0f} 分钟（≥{f.long_duration_minutes:g}）",
             f"long duration: {minutes:.0f} min (>= {f.long_duration_minutes:g})")
    else:
        steps.append(Step("duration", f"持续 {minutes:.1f} 分钟，未达 {f.long_duration_minutes:g} 分钟，不调整",
                          f"lasted {minutes:.1f} min, under {f.long_duration_minutes:g}: no change", pos))
    if facts.severity > 1:
        move("severity", f.severity.position * (facts.severity - 1), f"严重程度 {facts.severity}",
             f"severity {facts.severity}")
    if facts.rectified_in_time:
        move("rectified", f.rectified_in_time.position, "在期限内改正", "corrected within the deadline")
    if facts.cooperation == Cooperation.COOPERATIVE:
        move("cooperation", f.cooperative.position, "积极配合调查", "cooperated with the inspection")
    elif facts.cooperation == Cooperation.OBSTRUCTIVE:
        move("cooperation", f.obstructive.position, "阻碍调查", "obstructed the inspection")
    measures = list(provision.measures)
    if facts.refused:
        move("refused", f.refused.position, "拒不改正", "refused to correct")
        measures += [m for m in provision.on_refusal if m not in measures]
    exempt = (first and legal.first_violation_exempt and facts.rectified_in_time and not facts.refused
              and minutes <= f.exempt_max_minutes)
    if exempt:
        steps.append(Step("exempt", f"首违不罚：首次违法、持续不超过 {f.exempt_max_minutes:g} 分钟且及时改正，"
                          "依法可不予罚款", f"first violation not punished: first, no longer than "
                          f"{f.exempt_max_minutes:g} min and corrected in time, so no fine", pos))
        return Suggestion(facts.rule, True, True, tuple(measures), None, pos, tuple(steps))
    if provision.fine_min_yuan is None or provision.fine_max_yuan is None:
        steps.append(Step("fine", f"{provision.penalty_article}未设罚款幅度", f"no fine range for "
                          f"{provision.article_en}", pos))
        return Suggestion(facts.rule, True, False, tuple(measures), None, pos, tuple(steps))
    lo, hi = provision.fine_min_yuan, provision.fine_max_yuan
    raw = lo + pos * (hi - lo)
    fine = int(min(hi, max(lo, round(raw / f.round_to_yuan) * f.round_to_yuan)))
    steps.append(Step("fine", f"罚款 = {lo:,} + {pos * 100:.0f}% × ({hi:,} − {lo:,}) ≈ {fine:,} 元"
                      f"（{provision.penalty_article}：{lo:,}–{hi:,} 元）",
                      f"fine = {lo:,} + {pos * 100:.0f}% x ({hi:,} - {lo:,}) ~ {fine:,} yuan "
                      f"({provision.article_en}: {lo:,}-{hi:,} yuan)", pos))
    return Suggestion(facts.rule, True, False, tuple(measures), fine, pos, tuple(steps))
