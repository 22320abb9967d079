"""The configuration models (pydantic v2): sites, cameras, detectors, rules; the service's sections (storage,
notifications, grading, server, ...) are in `vigil.config_service`, shared types in `vigil.config_types`.

Shaped after Frigate's camera config: cameras keyed by id, each with detect, motion, zones, masks,
record and per-rule overrides. Validators check; they do no I/O. Loading lives in `config_loader`.
"""
from __future__ import annotations

import dataclasses
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from vigil.catalogue import RULES, Profile, RuleSpec, rules_for_profile
from vigil.legal import EnforcementConfig

from vigil.config_types import (  # noqa: F401  (re-exported: callers import them from here)
    ID_PATTERN, EnvName, GradeName, Id, Point, Polygon, Strict, _check_env_name, _check_polygon,
)
from vigil.config_service import (  # noqa: F401  (re-exported)
    LocalStoreConfig, MetricsConfig, MqttConfig, NotificationsConfig, GradingConfig, RecordingConfig,
    ReliabilityConfig, S3StoreConfig, ServerConfig, SigningConfig, SmtpConfig, StorageConfig, TrainingConfig,
    WebhookConfig, ActiveLearningConfig,
)


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
    continuous: bool = Field(False, description="record this camera all the time as MP4 segments of its own "
                             "packets (no re-encode), besides the event clips; see the recording section")
    retain_days: float | None = Field(None, ge=0, le=36500, description="this camera's segments are removed this "
                                      "many days after they end (default: recording.retain_days)")
    max_gb: float | None = Field(None, gt=0, le=1 << 20, description="this camera's segments are kept under this "
                                 "many GB, oldest removed first (default: recording.max_gb_per_camera)")


class CameraConfig(Strict):
    name: str = Field("", max_length=200, description="name shown on the wall (default: the id)")
    site: str = Field(description="id of the site this camera watches")
    source: str = Field(min_length=1, description="rtsp://, a video file path, or demo:site|lab[?seed=N]; ${ENV} substituted")
    detect_source: str | None = Field(None, min_length=1, description="the camera's sub-stream (e.g. 640x360) for "
                                      "detection, where `source` is its main stream, kept for evidence clips and "
                                      "live video (Frigate's input roles): decoding the sub-stream costs a fraction "
                                      "of the main one. Same forms as source; the two are aligned by arrival time")
    profile: Profile | None = Field(None, description="detector profile; default: the site's kind")
    enabled: bool = Field(True, description="run this camera")
    detect: DetectConfig = Field(default_factory=DetectConfig)
    motion: MotionConfig = Field(default_factory=MotionConfig)
    zones: dict[str, ZoneConfig] = Field(default_factory=dict, description="named polygons rules can be limited to")
    masks: list[Polygon] = Field(default_factory=list, description="detections whose anchor falls here are dropped")
    rules: dict[str, RuleOverride] = Field(default_factory=dict, description="per-rule overrides by rule name")
    record: RecordConfig = Field(default_factory=RecordConfig)

    _masks = field_validator("masks")(lambda v: [_check_polygon(p) for p in v])

    @field_validator("source", "detect_source")
    @classmethod
    def _source_scheme(cls, v: str | None) -> str | None:
        if v is not None and "://" in v and v.split("://", 1)[0] not in ("rtsp", "rtsps", "file", "http", "https"):
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
    promote_score: float = Field(0.5, gt=0, le=1, description="confidence a weak fire box is raised to when "
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
    threads: int = Field(1, ge=1, le=64, description="ONNX Runtime intra-op threads per detector. 1 by default: "
                         "frames from many cameras are batched, and a second thread costs ~15% more CPU per image "
                         "for lower latency (live bench: 16 cameras at 0.072 instead of 0.093 core each); raise it "
                         "on a box with few cameras and idle cores")
    classifiers: list[str] = Field(default_factory=list, max_length=4, description=(
        "second-look classifiers (.onnx) run on the detector's boxes at full frame resolution: the load state of "
        "trucks, whether a debris-pile box is a heap (site: models/site_states.onnx, site_piles.onnx), what "
        "people's hands are doing, gloves, goggles (lab: "
        "models/lab_activity.onnx, lab_gloves.onnx, lab_goggles.onnx); relative to the config file"))
    cues: CuesConfig = Field(default_factory=CuesConfig, description="fire cues (profiles with a fire "
                                                                     "class)")
    people: str | None = Field(None, description=(
        "a COCO person detector (.onnx, models/people.onnx) run beside this one: its person boxes join the "
        "detector's, for cameras none of the training sources come from (lab: held-out person AP50 0.13 -> 0.59, "
        "its card); relative to the config file. Costs about as much CPU as the detector"))
    people_conf: float = Field(0.3, gt=0, lt=1, description="minimum score of the people detector's boxes")

    @property
    def load_conf(self) -> float:
        """The detector's threshold: low enough for the cues to see weak fire boxes."""
        return min(self.conf, self.cues.weak_conf) if self.cues.enabled else self.conf


class BatchConfig(Strict):
    max_batch: int = Field(8, ge=1, le=64, description="frames from many cameras run in one inference")
    max_wait_ms: float = Field(30.0, ge=0, le=2000, description="longest wait to fill a batch")
    workers: int = Field(2, ge=1, le=16, description="inferences run at once per detector profile, each on its "
                         "own thread (with detectors' threads: 1, two workers use both cores of a 2-core box; one "
                         "worker made detection the ceiling at 24 cameras, live bench)")


class RuleDefaults(Strict):
    """Deployment-wide edits of the catalogue (severity, legal text, default thresholds)."""

    severity: int | None = Field(None, ge=0, le=10, description="weight in site grading")
    legal_basis: str | None = Field(None, max_length=4000, description="legal basis printed on reports")
    min_score: float | None = Field(None, ge=0, le=1)
    confirm_score: float | None = Field(None, ge=0, le=1)
    min_s: float | None = Field(None, ge=0, le=3600)
    cooldown_s: float | None = Field(None, ge=0, le=86400)
    grace_s: float | None = Field(None, ge=0, le=3600)


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
    notifications: NotificationsConfig = Field(default_factory=lambda: NotificationsConfig.model_validate({}))
    grading: GradingConfig = Field(default_factory=GradingConfig)
    server: ServerConfig = Field(default_factory=ServerConfig)
    training: TrainingConfig = Field(default_factory=TrainingConfig)
    enforcement: EnforcementConfig = Field(default_factory=lambda: EnforcementConfig.model_validate({}),
                                           description="legal basis, discretion, workflow and rectification")
    reliability: ReliabilityConfig = Field(ReliabilityConfig.model_validate({}),
                                           description="outbox, disk watermark, retention, camera health notices")
    recording: RecordingConfig = Field(RecordingConfig.model_validate({}),
                                       description="continuous recording (cameras with record.continuous)")
    active_learning: ActiveLearningConfig = Field(default_factory=lambda: ActiveLearningConfig.model_validate({}),
                                                  description="doubtful frames queued for labelling")

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
