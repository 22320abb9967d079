"""Legal basis and discretion per rule (config models and their defaults): articles, fine ranges, measures, factors.

The defaults cite the PRC Air Pollution Prevention and Control Law (2015, amended 2018), Art. 115, 116 and 117,
as the enforcement issue states them. Where an article could not be verified (open burning, solid waste,
hazardous-chemical laboratories) the provision is left empty: "to be set by the agency". Never invent law here.
"""
from __future__ import annotations

from enum import Enum

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

AIR_LAW_ZH = "《中华人民共和国大气污染防治法》"
AIR_LAW_EN = "PRC Air Pollution Prevention and Control Law (2015, amended 2018)"
TO_BE_SET_ZH = "待执法机关设定"
TO_BE_SET_EN = "to be set by the agency"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Measure(str, Enum):
    """Administrative measures a provision provides for."""

    ORDER_CORRECT = "order_correct"  # 责令改正
    STOP_WORK = "stop_work"  # 责令停工整治
    VEHICLE_OFF_ROAD = "vehicle_off_road"  # 车辆不得上道路行驶


MEASURE_TEXT: dict[Measure, tuple[str, str]] = {
    Measure.ORDER_CORRECT: ("责令改正", "order to correct"),
    Measure.STOP_WORK: ("责令停工整治", "stop work for rectification"),
    Measure.VEHICLE_OFF_ROAD: ("车辆不得上道路行驶", "vehicle may not use the road"),
}


class Provision(_Strict):
    """One legal provision a rule's violation falls under; empty articles mean 'to be set by the agency'."""

    law_zh: str = Field(default=AIR_LAW_ZH, max_length=200,
                        description="law's name in Chinese, as printed on documents")
    law_en: str = Field(default=AIR_LAW_EN, max_length=200, description="law's name in English")
    obligation_article: str = Field("", max_length=100, description="article setting the duty, e.g. 第六十九条 "
                                    "(empty: to be set by the agency)")
    penalty_article: str = Field("", max_length=100, description="article setting the penalty, e.g. 第一百一十五条 "
                                 "(empty: to be set by the agency)")
    article_en: str = Field("", max_length=200, description="both articles as cited in English documents")
    conduct_zh: str = Field("", max_length=1000, description="the unlawful conduct, in Chinese")
    conduct_en: str = Field("", max_length=1000, description="the unlawful conduct, in English")
    fine_min_yuan: int | None = Field(None, ge=0, le=10_000_000, description="lowest fine in yuan (None: no fine set)")
    fine_max_yuan: int | None = Field(None, ge=0, le=10_000_000, description="highest fine in yuan")
    measures: list[Measure] = Field(default_factory=list, max_length=5, description="measures always imposed")
    on_refusal: list[Measure] = Field(default_factory=list, max_length=5,
                                      description="measures when the party refuses to correct")

    @model_validator(mode="after")
    def _range(self):
        if (self.fine_min_yuan is None) != (self.fine_max_yuan is None):
            raise ValueError("fine_min_yuan and fine_max_yuan are set together or not at all, found only one")
        if self.fine_min_yuan is not None and self.fine_min_yuan > self.fine_max_yuan:
            raise ValueError(f"expected fine_min_yuan <= fine_max_yuan, found {self.fine_min_yuan} > "
                             f"{self.fine_max_yuan}")
        return self

    @property
    def is_set(self) -> bool:
        return bool(self.penalty_article)


class Effect(_Strict):
    """What one discretion factor does to the suggestion."""

    position: float = Field(0.0, ge=-1, le=1, description="moves the suggested fine by this fraction of the legal "
                            "range (0: none, 0.2: a fifth of the range up, -0.2: down)")


class DiscretionFactors(_Strict):
    """The discretion model: the factors, each with its effect, and the 'first violation not punished' terms."""

    base_position: float = Field(0.2, ge=0, le=1, description="where in the fine range a violation starts (0: minimum)")
    first_violation: Effect = Field(Effect(position=-0.1), description="no filed case for this rule at the site in "
                                    "the repeat window")
    repeat_window_days: int = Field(365, ge=1, le=3650, description="filed cases within this many days are repeats")
    repeat: Effect = Field(Effect(position=0.25), description="per earlier filed case in the window (repeat)")
    long_duration_minutes: float = Field(30.0, gt=0, le=10_000, description="a violation lasting at least this long "
                                         "is long")
    long_duration: Effect = Field(Effect(position=0.15), description="the violation lasted long")
    severity: Effect = Field(Effect(position=0.1), description="per severity point above 1 (the rule's grading weight)")
    rectified_in_time: Effect = Field(Effect(position=-0.2), description="corrected within the notice's deadline")
    cooperative: Effect = Field(Effect(position=-0.1), description="cooperated with the inspection")
    obstructive: Effect = Field(Effect(position=0.2), description="obstructed the inspection")
    refused: Effect = Field(Effect(position=0.3), description="refused to correct (adds the on-refusal measures)")
    exempt_max_minutes: float = Field(10.0, ge=0, le=10_000, description="首违不罚: a first violation no longer than "
                                      "this, corrected in time, on the exempt list, is not fined")
    round_to_yuan: int = Field(100, ge=1, le=10_000, description="suggested fines are rounded to this many yuan")


class RuleLegal(_Strict):
    """A rule's legal basis: its provisions (the first is primary) and its discretion terms."""

    provisions: list[Provision] = Field(default_factory=list, max_length=5,
                                        description="provisions this violation falls under; the first decides the fine")
    first_violation_exempt: bool = Field(default=False, description="on the 首违不罚 list: a minor first violation "
                                         "corrected in time is not fined")
    discretion: DiscretionFactors | None = Field(default=None,
                                                 description="this rule's own factors (default: enforcement's)")

    @property
    def primary(self) -> Provision | None:
        return self.provisions[0] if self.provisions and self.provisions[0].is_set else None


_ART115 = Provision(
    obligation_article="第六十九条", penalty_article="第一百一十五条", article_en="Art. 69 and Art. 115",
    conduct_zh="施工单位未采取有效防尘降尘措施，或者建筑土方、工程渣土、建筑垃圾未及时清运、未采用密闭式防尘网遮盖",
    conduct_en="construction dust measures missing, or earth, muck or construction waste left uncovered",
    fine_min_yuan=10_000, fine_max_yuan=100_000, measures=[Measure.ORDER_CORRECT], on_refusal=[Measure.STOP_WORK])
_ART116 = Provision(
    obligation_article="第七十条", penalty_article="第一百一十六条", article_en="Art. 70 and Art. 116",
    conduct_zh="运输渣土、砂石、土方、垃圾等散装物料的车辆未采取密闭或者其他措施防止物料遗撒",
    conduct_en="a vehicle carrying loose material (muck, sand, earth, garbage) without sealing or covering",
    fine_min_yuan=2_000, fine_max_yuan=20_000, measures=[Measure.ORDER_CORRECT],
    on_refusal=[Measure.VEHICLE_OFF_ROAD])
_ART117 = Provision(
    obligation_article="第七十二条", penalty_article="第一百一十七条", article_en="Art. 72 and Art. 117",
    conduct_zh="易产生扬尘的物料未密闭，或者未设置严密围挡、未采取有效覆盖措施",
    conduct_en="dust-prone materials stored without enclosure or cover",
    fine_min_yuan=10_000, fine_max_yuan=100_000, measures=[Measure.ORDER_CORRECT], on_refusal=[Measure.STOP_WORK])


def default_rule_legal() -> dict[str, RuleLegal]:
    """The catalogue's legal defaults; rules not named here have no provision ('to be set by the agency')."""
    return {"dust": RuleLegal(provisions=[_ART115, _ART117], first_violation_exempt=True),
            "uncovered_truck": RuleLegal(provisions=[_ART116], first_violation_exempt=True),
            "dumping": RuleLegal(provisions=[_ART117])}


class EnforcementConfig(_Strict):
    """Legal basis per rule and the discretion model (the agency edits both)."""

    rules: dict[str, RuleLegal] = Field(default_factory=default_rule_legal,
                                        description="legal basis by rule name; a rule left out has none yet")
    discretion: DiscretionFactors = Field(default_factory=lambda: DiscretionFactors.model_validate({}),
                                          description="discretion factors for rules without their own")
    agency_zh: str = Field("", max_length=200, description="the enforcing agency's name on documents (Chinese)")
    agency_en: str = Field("", max_length=200, description="the enforcing agency's name on documents (English)")
    rectify_days: int = Field(15, ge=1, le=365, description="days given to correct, in orders and rectification "
                              "notices")

    @field_validator("rules", mode="after")
    @classmethod
    def _over_defaults(cls, v: dict[str, RuleLegal]) -> dict[str, RuleLegal]:
        """A rule named in the config replaces its default; the other defaults stay (empty provisions: none)."""
        return {**default_rule_legal(), **v}

    def rule(self, name: str) -> RuleLegal:
        return self.rules.get(name) or RuleLegal()

    def factors(self, name: str) -> DiscretionFactors:
        return self.rule(name).discretion or self.discretion
