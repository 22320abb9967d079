"""The configuration models (pydantic v2): sites, cameras, detectors, rules, storage, notifications.

Shaped after Frigate's camera config: cameras keyed by id, each with detect, motion, zones, masks,
record and per-rule overrides. Validators check; they do no I/O. Loading lives in `config_loader`.
"""
from __future__ import annotations

import dataclasses
import ipaddress
import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from vigil.catalogue import RULES, Profile, RuleSpec, rules_for_profile
from vigil.legal import EnforcementConfig

ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}$"
Id = Annotated[str, Field(pattern=ID_PATTERN, description="lower-case id: letters, digits, - and _")]
GradeName = Literal["blue", "yellow", "orange", "red"]
Point = tuple[Annotated[float, Field(ge=0.0, le=1.0)], Annotated[float, Field(ge=0.0, le=1.0)]]


_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")


def _check_env_name(name: str) -> str:
    # the value is never echoed: a secret pasted here by mistake must not reach a terminal or a log
    if not _ENV_NAME.fullmatch(name):
        raise ValueError("expected the NAME of an environment variable (letters, digits and '_', not starting with "
                         f"a digit, at most 128), found a value that is not one ({len(name)} characters, not shown: "
                         "it may be the secret itself)")
    return name


EnvName = Annotated[str, AfterValidator(_check_env_name)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_polygon(points: list[Point]) -> list[Point]:
    if len(points) < 3:
        raise ValueError(f"a polygon needs at least 3 points [x, y] in 0-1 coordinates, found {len(points)}")
    return points


Polygon = Annotated[list[Point], Field(description="points [x, y] relative to the frame (0-1), at least 3")]


class SiteConfig(Strict):
    name: str = Field(min_length=1, max_length=200, description="enterprise, site or lab name shown to people")
    address: str = Field("", max_length=500, description="street address printed on reports")
    kind: Literal["site", "lab"] = Field("site", description="a construction site / open land, or a laboratory")
    operator: str = Field("", max_length=200, description="responsible enterprise or institution")
    contact_name: str = Field("", max_length=200, description="the enterprise's contact person (documents, notices)")
    contact_phone: str = Field("", max_length=64, description="the contact's phone number")
    contact_email: str = Field("", max_length=200, description="the contact's e-mail (rectification notices)")


class DetectConfig(Strict):
    fps: float = Field(2.0, gt=0, le=30, description="frames per second decoded and analysed")
    width: int = Field(640, ge=64, le=3840, description="analysis frame size: the frame's long side is fitted to "
                                                       "the larger of width and height, keeping its aspect ratio "
                                                       "(a portrait or 4:3 camera is never squashed)")
    height: int = Field(360, ge=64, le=2160, description="see width")


class MotionConfig(Strict):
    enabled: bool = Field(True, description="skip the detector on still frames")
    threshold: int = Field(25, ge=1, le=255, description="per-pixel grey-level change that counts as motion")
    min_area: float = Field(0.002, ge=0, le=1, description="fraction of the frame that must change")
    max_area: float = Field(0.6, gt=0, le=1, description="a larger change is lighting or shake, not motion")
    idle_check_s: float = Field(5.0, gt=0, le=3600, description="run the detector at least this often")
    mask: list[Polygon] = Field(default_factory=list, description="areas ignored by the motion gate")

    _poly = field_validator("mask")(lambda v: [_check_polygon(p) for p in v])


class ZoneConfig(Strict):
    polygon: Polygon
    anchor: Literal["bottom_center", "center"] = Field(
        "bottom_center", description="point of a box tested against the zone (Frigate uses the bottom centre)")
    no_dumping: bool = Field(False, description="a dump truck stopping here is a dumping violation")

    _poly = field_validator("polygon")(_check_polygon)


class RuleOverride(Strict):
    enabled: bool = Field(True, description="run this rule on this camera")
    min_score: float | None = Field(None, ge=0, le=1, description="detector confidence at or above which a box counts")
    confirm_score: float | None = Field(None, ge=0, le=1, description="median confidence over the run needed before "
                                        "an event opens (weak blips never open one)")
    min_s: float | None = Field(None, ge=0, le=3600, description="seconds the condition must persist")
    k: int | None = Field(None, ge=1, le=100, description="seen in k ...")
    n: int | None = Field(None, ge=1, le=100, description="... of the last n detector frames")
    cooldown_s: float | None = Field(None, ge=0, le=86400, description="quiet time per (camera, rule, track) after an event")
    grace_s: float | None = Field(None, ge=0, le=3600, description="an event closes after this long unseen")
    zones: list[str] = Field(default_factory=list, description="zone names the rule is limited to (empty: whole frame)")

    @model_validator(mode="after")
    def _k_le_n(self):
        if self.k is not None and self.n is not None and self.k > self.n:
            raise ValueError(f"k must be at most n, found k={self.k} n={self.n}")
        return self


class RecordConfig(Strict):
    pre_roll_s: float = Field(5.0, ge=0, le=120, description="footage kept before an event")
    post_roll_s: float = Field(5.0, ge=0, le=120, description="footage kept after an event")
    max_buffer_mb: float = Field(64.0, gt=0, le=2048, description="packet ring buffer byte cap per camera")


class CameraConfig(Strict):
    name: str = Field("", max_length=200, description="name shown on the wall (default: the id)")
    site: str = Field(description="id of the site this camera watches")
    source: str = Field(min_length=1, description="rtsp://, a video file path, or demo:site|lab[?seed=N]; ${ENV} substituted")
    profile: Profile | None = Field(None, description="detector profile; default: the site's kind")
    enabled: bool = Field(True, description="run this camera")
    detect: DetectConfig = Field(default_factory=DetectConfig)
    motion: MotionConfig = Field(default_factory=MotionConfig)
    zones: dict[str, ZoneConfig] = Field(default_factory=dict, description="named polygons rules can be limited to")
    masks: list[Polygon] = Field(default_factory=list, description="detections whose anchor falls here are dropped")
    rules: dict[str, RuleOverride] = Field(default_factory=dict, description="per-rule overrides by rule name")
    record: RecordConfig = Field(default_factory=RecordConfig)

    _masks = field_validator("masks")(lambda v: [_check_polygon(p) for p in v])

    @field_validator("source")
    @classmethod
    def _source_scheme(cls, v: str) -> str:
        if "://" in v and v.split("://", 1)[0] not in ("rtsp", "rtsps", "file", "http", "https"):
            raise ValueError(f"expected rtsp://, file://, a file path or demo:..., found scheme {v.split('://')[0]!r}")
        return v

    @model_validator(mode="after")
    def _rules_known(self):
        for name, override in self.rules.items():
            if name not in RULES:
                raise ValueError(f"unknown rule {name!r} in rules; expected one of {', '.join(RULES)}")
            for z in override.zones:
                if z not in self.zones:
                    raise ValueError(f"rule {name!r} names zone {z!r}, which this camera does not define")
        return self


class CuesConfig(Strict):
    """Fire cues that hold on any camera (vision.fire_cues): flame colour and flicker."""

    enabled: bool = Field(True, description="look again at fire boxes with flame colour and flicker cues")
    weak_conf: float = Field(0.1, gt=0, lt=1, description="fire boxes down to this detector confidence are "
                                                          "looked at (other classes keep the detector's conf)")
    promote_score: float = Field(0.45, gt=0, le=1, description="confidence a weak fire box is raised to when "
                                                               "its cues are strong")
    flame_share: float = Field(0.15, gt=0, le=1, description="share of flame-coloured pixels a fire box needs")
    promote_flicker: float = Field(5.0, ge=0, le=255, description="mean grey change of a fire box's flame pixels "
                                                                 "between detector frames that counts as flicker")
    veto_flicker: float = Field(1.0, ge=0, le=255, description="a confident fire box that changes less than this "
                                                              "between detector frames is dropped (a lamp)")


class DetectorConfig(Strict):
    model: str = Field(description="model file: .onnx (ONNX Runtime) or .pt (ultralytics); relative to the config file")
    conf: float = Field(0.25, gt=0, lt=1, description="minimum detector confidence kept")
    iou: float = Field(0.45, gt=0, lt=1, description="NMS IoU threshold")
    imgsz: int = Field(320, ge=32, le=1920, multiple_of=32, description="inference image size")
    threads: int = Field(2, ge=1, le=64, description="ONNX Runtime intra-op threads")
    classifiers: list[str] = Field(default_factory=list, max_length=4, description=(
        "second-look classifiers (.onnx) run on the detector's boxes at full frame resolution: the load state of "
        "trucks (site: models/site_states.onnx), what people's hands are doing (lab: models/lab_activity.onnx); "
        "relative to the config file"))
    cues: CuesConfig = Field(default_factory=CuesConfig, description="fire cues (profiles with a fire "
                                                                     "class)")

    @property
    def load_conf(self) -> float:
        """The detector's threshold: low enough for the cues to see weak fire boxes."""
        return min(self.conf, self.cues.weak_conf) if self.cues.enabled else self.conf


class BatchConfig(Strict):
    max_batch: int = Field(8, ge=1, le=64, description="frames from many cameras run in one inference")
    max_wait_ms: float = Field(30.0, ge=0, le=2000, description="longest wait to fill a batch")


class RuleDefaults(Strict):
    """Deployment-wide edits of the catalogue (severity, legal text, default thresholds)."""

    severity: int | None = Field(None, ge=0, le=10, description="weight in site grading")
    legal_basis: str | None = Field(None, max_length=4000, description="legal basis printed on reports")
    min_score: float | None = Field(None, ge=0, le=1)
    confirm_score: float | None = Field(None, ge=0, le=1)
    min_s: float | None = Field(None, ge=0, le=3600)
    cooldown_s: float | None = Field(None, ge=0, le=86400)
    grace_s: float | None = Field(None, ge=0, le=3600)


class LocalStoreConfig(Strict):
    backend: Literal["local"] = "local"
    path: str = Field("evidence", description="evidence folder; relative paths are under data_dir")


class S3StoreConfig(Strict):
    backend: Literal["s3"]
    endpoint: str = Field(description="host:port of the S3 server (MinIO, SeaweedFS, AWS)")
    bucket: str = Field(pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", description="bucket name")
    secure: bool = Field(True, description="use HTTPS")
    region: str | None = Field(None, description="bucket region")
    access_key_env: EnvName = Field("VIGIL_S3_ACCESS_KEY", description="environment variable holding the access key")
    secret_key_env: EnvName = Field("VIGIL_S3_SECRET_KEY", description="environment variable holding the secret key")
    object_lock_days: int = Field(0, ge=0, le=36500, description="retention for evidence objects (0: off)")


class StorageConfig(Strict):
    database_url: str = Field("sqlite:///vigil.db", description="SQLAlchemy URL; sqlite paths are under data_dir")
    evidence: LocalStoreConfig | S3StoreConfig = Field(default_factory=LocalStoreConfig, discriminator="backend")


class WebhookConfig(Strict):
    url: str = Field(pattern=r"^https?://", description="endpoint receiving a JSON POST per alert")
    secret_env: EnvName | None = Field(None, description="environment variable holding the HMAC-SHA256 secret")
    rules: list[str] = Field(default_factory=list, description="rules that notify (empty: all)")
    sites: list[str] = Field(default_factory=list, description="sites that notify (empty: all)")
    max_attempts: int = Field(5, ge=1, le=20, description="tries before a dead-letter record")
    timeout_s: float = Field(5.0, gt=0, le=60)


class MqttConfig(Strict):
    host: str = Field(description="broker host")
    port: int = Field(1883, ge=1, le=65535)
    topic_prefix: str = Field("vigil", description="topics are PREFIX/SITE/RULE")
    username: str | None = None
    password_env: EnvName | None = Field(None, description="environment variable holding the password")
    rules: list[str] = Field(default_factory=list, description="rules that notify (empty: all)")
    sites: list[str] = Field(default_factory=list, description="sites that notify (empty: all)")
    qos: int = Field(1, ge=0, le=2)


class NotificationsConfig(Strict):
    webhooks: dict[str, WebhookConfig] = Field(default_factory=dict)
    mqtt: MqttConfig | None = None


class GradingConfig(Strict):
    window_days: float = Field(30.0, gt=0, le=3650, description="rolling window of confirmed violations")
    yellow: float = Field(1.0, gt=0, description="weighted score at which a site turns yellow")
    orange: float = Field(5.0, gt=0, description="... orange")
    red: float = Field(10.0, gt=0, description="... red")
    case_filed: float = Field(2.0, ge=0, le=100, description="added to the score for each case filed in the window "
                              "(a dismissed lead's alerts never count)")
    quiet_grades: list[GradeName] = Field(
        default_factory=lambda: list[GradeName](["blue"]),
        description="无事不扰: these sites' alerts are not notified live; they wait, low priority, for the daily "
        "digest")
    urgent_grades: list[GradeName] = Field(
        default_factory=lambda: list[GradeName](["red"]),
        description="these sites' alerts notify at once with high priority and come first in review")
    digest_hour_utc: int = Field(1, ge=0, le=23, description="hour (UTC) the daily digest is sent (1: 09:00 Beijing)")
    always_live_rules: list[str] = Field(
        default_factory=lambda: ["open_burning", "lab_fire"],
        description="rules whose alerts notify at once whatever the site's grade: a fire does not wait for the "
        "digest, even at a compliant site")

    @model_validator(mode="after")
    def _ordered(self):
        unknown = [r for r in self.always_live_rules if r not in RULES]
        if unknown:
            raise ValueError(f"always_live_rules: expected rule names ({', '.join(RULES)}), found "
                             f"{', '.join(map(repr, unknown))}")
        if not self.yellow <= self.orange <= self.red:
            raise ValueError(f"expected yellow <= orange <= red, found {self.yellow}, {self.orange}, {self.red}")
        return self


class MetricsConfig(Strict):
    """Prometheus metrics at /metrics, scraped without a session: with a bearer token, or open by choice."""

    token_env: EnvName | None = Field(None, description="environment variable holding the bearer token (at least 16 "
                                      "characters) a scraper sends as Authorization: Bearer TOKEN (Prometheus: "
                                      "authorization.credentials_file); the token is never logged or shown")
    open: bool = Field(False, description="serve /metrics to anyone who can reach the server, without a token "
                       "(only where the port is reachable by the scraper alone); neither this nor token_env: "
                       "/metrics answers 404")

    @model_validator(mode="after")
    def _one_way(self):
        if self.open and self.token_env:
            raise ValueError("expected either token_env (scrapers send a token) or open: true (no token), "
                             "found both")
        return self


class ServerConfig(Strict):
    host: str = Field("127.0.0.1", description="address the API and UI listen on")
    port: int = Field(8080, ge=1, le=65535)
    language: Literal["en", "zh"] = Field("en", description="default UI language")
    trusted_proxies: list[str] = Field(
        default_factory=list, max_length=64,
        description="addresses or networks (CIDR) of the reverse proxies in front of Vigil; only requests from "
                    "these may set the client address and scheme with X-Forwarded-For / X-Forwarded-Proto. "
                    "Empty (the default): forwarded headers are ignored and the peer address is the client, as "
                    "anyone can send them (the sign-in limits count per client address)")
    metrics: MetricsConfig = Field(default_factory=lambda: MetricsConfig.model_validate({}),
                                   description="Prometheus metrics at /metrics")

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for i, item in enumerate(value):
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"trusted_proxies[{i}]: expected an IP address or network like 10.0.0.5 or "
                                 f"10.0.0.0/24, found {item!r}") from None
        return value


class SigningConfig(Strict):
    key_path: str | None = Field(None, description="Ed25519 private key (PEM); default: generated in data_dir")


class TrainingConfig(Strict):
    """Retraining and the promotion gate."""

    gate_metric: Literal["heldout_source_map50", "map50", "map50_95", "false_violations_per_hour"] = Field(
        "heldout_source_map50", description="a candidate worse than the promoted model on this metric is not "
        "promoted; heldout_source_map50 scores whole real sources no model trains on (shared_dir/datasets; "
        "without them the gate falls back to map50 and says so)")
    gate_tolerance: float = Field(0.0, ge=0, le=1000, description="how much worse the candidate may be and still pass")
    max_concurrent_jobs: int = Field(1, ge=1, le=8, description="training jobs run at the same time")
    cancel_grace_s: float = Field(10.0, ge=0, le=600, description="seconds a cancelled job's worker process has to "
                                  "stop at its next batch before it is terminated")
    kill_grace_s: float = Field(5.0, gt=0, le=120, description="seconds a terminated job or dataset build worker "
                                "has before it is killed (SIGKILL)")
    eval_scene_seeds: list[int] = Field(default_factory=lambda: [9901, 9902], max_length=20,
                                        description="held-out demo scenes for false violations per hour")
    eval_scene_s: float = Field(30.0, gt=0, le=3600, description="length of each held-out scene")


class ReliabilityConfig(Strict):
    """The durable outbox, disk watermarks and camera health notifications."""

    outbox_max_mb: int = Field(2048, ge=1, le=1 << 20, description="bound of the local outbox (queued evidence "
                                                                     "and writes); evidence beyond it is refused")
    retry_base_s: float = Field(1.0, gt=0, le=600, description="first retry of a failed outbox job after this")
    retry_cap_s: float = Field(30.0, gt=0, le=3600, description="longest wait between two retries")
    min_free_mb: int = Field(1024, ge=0, le=1 << 24, description="free space under which the evidence folder and "
                                                                  "the outbox disk are reported as low")
    retention_days: float = Field(0, ge=0, le=36500, description="evidence of rejected alerts on no lead is "
                                  "removed this many days after the event (0: kept forever); evidence of open, "
                                  "unreviewed or confirmed alerts and of any lead is never removed")
    purge_below_watermark: bool = Field(True, description="under min_free_mb, remove such evidence oldest first "
                                        "even before retention_days")
    camera_down_notify_s: float = Field(120, ge=0, le=86400, description="a camera offline or stalled this long "
                                        "is notified like an alert (0: never)")


class VigilConfig(Strict):
    data_dir: str = Field("data", description="folder for the database, evidence and keys; relative to the config file")
    shared_dir: str = Field("../shared", description="team data (real datasets, videos); relative to the config file")
    sites: dict[Annotated[str, Field(pattern=ID_PATTERN)], SiteConfig] = Field(default_factory=dict)
    cameras: dict[Annotated[str, Field(pattern=ID_PATTERN)], CameraConfig] = Field(default_factory=dict)
    detectors: dict[Profile, DetectorConfig] = Field(default_factory=dict, description="one model per profile")
    batch: BatchConfig = Field(default_factory=BatchConfig)
    rules: dict[str, RuleDefaults] = Field(default_factory=dict, description="catalogue edits by rule name")
    storage: StorageConfig = Field(default_factory=StorageConfig)
    signing: SigningConfig = Field(default_factory=SigningConfig)
    notifications: NotificationsConfig = Field(default_factory=NotificationsConfig)
    grading: GradingConfig = Field(default_factory=GradingConfig)
    server: ServerConfig = Field(default_factory=ServerConfig)
    training: TrainingConfig = Field(default_factory=TrainingConfig)
    enforcement: EnforcementConfig = Field(default_factory=lambda: EnforcementConfig.model_validate({}),
                                           description="legal basis, discretion, workflow and rectification")
    reliability: ReliabilityConfig = Field(ReliabilityConfig.model_validate({}),
                                           description="outbox, disk watermark, retention, camera health notices")

    @model_validator(mode="after")
    def _references(self):
        for name in self.enforcement.rules:
            if name not in RULES:
                raise ValueError(f"unknown rule {name!r} under enforcement.rules; expected one of {', '.join(RULES)}")
        for name in self.rules:
            if name not in RULES:
                raise ValueError(f"unknown rule {name!r} under rules; expected one of {', '.join(RULES)}")
        for cam_id, cam in self.cameras.items():
            if cam.site not in self.sites:
                known = ", ".join(self.sites) or "none defined"
                raise ValueError(f"camera {cam_id!r} names site {cam.site!r}, which is not under sites ({known})")
            profile = self.camera_profile(cam_id)
            for rule in cam.rules:
                if RULES[rule].profile != profile:
                    raise ValueError(f"camera {cam_id!r} has profile {profile!r} but overrides rule {rule!r} "
                                     f"of profile {RULES[rule].profile!r}")
        return self

    def camera_profile(self, camera_id: str) -> Profile:
        cam = self.cameras[camera_id]
        return cam.profile or self.sites[cam.site].kind

    def rule_spec(self, camera_id: str, rule: str) -> RuleSpec:
        """The catalogue entry for `rule`, edited by `rules:` and then by the camera's own override."""
        spec = RULES[rule]
        changes: dict = {}
        for layer in (self.rules.get(rule), self.cameras[camera_id].rules.get(rule)):
            if layer is None:
                continue
            for key, value in layer.model_dump(exclude_unset=True).items():
                if value is None:
                    continue
                changes[key] = tuple(value) if key == "zones" else value
        return dataclasses.replace(spec, **changes)

    def camera_rules(self, camera_id: str) -> tuple[RuleSpec, ...]:
        """Every enabled rule of the camera's profile, with its effective parameters."""
        specs = (self.rule_spec(camera_id, r.name) for r in rules_for_profile(self.camera_profile(camera_id)))
        return tuple(s for s in specs if s.enabled)
