"""The service's configuration sections: evidence storage, notifications, grading, metrics, the HTTP server,
signing, training jobs, reliability and recording (the camera-side sections and the whole file's model are in
`vigil.config`)."""
from __future__ import annotations

import ipaddress
from typing import Literal

from pydantic import Field, field_validator, model_validator

from vigil.catalogue import RULES
from vigil.config_types import EnvName, GradeName, Strict


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
    evidence: LocalStoreConfig | S3StoreConfig = Field(default_factory=lambda: LocalStoreConfig.model_validate({}),
                                                       discriminator="backend")


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


class SmtpConfig(Strict):
    """SMTP for rectification notices and overdue escalations, retried like webhooks; the password never logged."""

    host: str = Field(min_length=1, max_length=253, description="SMTP server host name or address")
    port: int = Field(587, ge=1, le=65535, description="SMTP port (587 STARTTLS, 465 SSL, 25 plain)")
    security: Literal["starttls", "ssl", "none"] = Field(
        "starttls", description="starttls: upgrade a plain connection; ssl: TLS from the first byte; none: plain "
        "(a relay on the same host only)")
    from_addr: str = Field(pattern=r"^[^@\s<>]+@[^@\s<>]+$", max_length=200, description="the sender address")
    from_name: str = Field("Vigil", max_length=100, description="the sender's name shown to recipients")
    username: str | None = Field(None, max_length=200, description="login name (none: no authentication)")
    password_env: EnvName | None = Field(None, description="environment variable holding the login password")
    ca_file: str | None = Field(None, description="CA bundle to verify the server's certificate (default: the "
                                "system's)")
    timeout_s: float = Field(10.0, gt=0, le=120, description="seconds to wait for the server at each step")
    app_url: str = Field("", pattern=r"^(https?://\S+)?$", max_length=500,
                         description="the address officers open Vigil at, for the lead link in escalation e-mails "
                         "(empty: the e-mail names the lead without a link)")
    max_attempts: int = Field(10, ge=1, le=50, description="tries before a dead-letter record (backoff doubles, "
                              "capped)")

    @model_validator(mode="after")
    def _login(self):
        if self.password_env and not self.username:
            raise ValueError("notifications.email.password_env is set but username is not; set both or neither")
        return self


class NotificationsConfig(Strict):
    webhooks: dict[str, WebhookConfig] = Field(default_factory=dict)
    mqtt: MqttConfig | None = None
    email: SmtpConfig | None = Field(None, description="SMTP server for e-mail (rectification notices to firms, "
                                     "overdue escalations to officers); none: e-mails wait in the outbox")


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
    listen: str | None = Field(None, description="HOST:PORT of a separate listener serving only the metrics (any "
                               "path), without a token: bind it to an address only the scraper reaches (a "
                               "management network, 127.0.0.1 behind a sidecar); /metrics on the main port keeps "
                               "following token_env/open")

    @field_validator("listen")
    @classmethod
    def _host_port(cls, v: str | None) -> str | None:
        if v is None:
            return v
        host, sep, port = v.rpartition(":")
        if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
            raise ValueError(f"expected HOST:PORT (e.g. 127.0.0.1:9108), found {v!r}")
        return v

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
    camera_processes: int | Literal["auto"] = Field(
        1, description="processes the cameras run in on this machine: 1 (the default) runs them in the service's "
        "own process; N > 1 spreads them over N child processes (more cores used, past the one process's GIL); "
        "auto: one per core once there are at least 8 cameras per process, else 1. In child processes the live "
        "video socket and continuous recording are unavailable (the wall shows snapshots); alerts, clips and "
        "snapshots work as in one process (docs/SCALING.md)")

    @field_validator("camera_processes")
    @classmethod
    def _processes(cls, value: int | str) -> int | str:
        if value != "auto" and not 1 <= int(value) <= 256:
            raise ValueError(f"expected auto or a number of processes from 1 to 256, found {value!r}")
        return value

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


class RecordingConfig(Strict):
    """Continuous recording: the cameras with `record.continuous` write MP4 segments of their own packets."""

    path: str = Field("recordings", description="folder of the segments and their index; relative paths are "
                      "under data_dir")
    segment_s: float = Field(10.0, ge=1, le=600, description="a segment is cut at the first keyframe after this "
                             "many seconds")
    retain_days: float = Field(7.0, ge=0, le=36500, description="segments are removed this many days after they "
                               "end (0: kept until a size limit or the disk watermark needs the room)")
    max_gb_per_camera: float = Field(0, ge=0, le=1 << 20, description="each camera's segments are kept under this "
                                     "many GB, oldest first removed (0: no limit)")
    max_total_gb: float = Field(0, ge=0, le=1 << 20, description="all segments together are kept under this many "
                                "GB, oldest first removed (0: no limit)")
    queue_mb: int = Field(64, ge=1, le=4096, description="packets waiting for the segment writer; beyond it the "
                          "segment being cut is dropped and reported (a slow disk never stalls a camera)")
    max_export_s: float = Field(1800, gt=0, le=86400, description="longest range exported as evidence at once")


class ActiveLearningConfig(Strict):
    """Frames the detector was unsure of are queued for labelling ("To label"): a score near its class threshold,
    or a track that flickers. Rate-limited per camera and bounded in number."""

    enabled: bool = Field(False, description="sample doubtful frames of running cameras into the labelling queue")
    band: tuple[float, float] = Field((0.6, 1.15), description="a detection scoring within [low, high] times its "
                                      "class threshold is doubtful (low <= 1 <= high)")
    min_interval_s: float = Field(60.0, ge=0, le=86400, description="at most one sampled frame per camera this "
                                  "often")
    flicker_changes: int = Field(4, ge=2, le=100, description="a track that appears or disappears this many "
                                 "times ...")
    flicker_window_s: float = Field(10.0, gt=0, le=3600, description="... within this many seconds flickers")
    max_pending: int = Field(200, ge=1, le=100000, description="unlabelled tasks kept; past it the oldest "
                             "unlabelled ones are dropped")

    @model_validator(mode="after")
    def _band(self):
        low, high = self.band
        if not (0 < low <= 1 <= high <= 10):
            raise ValueError(f"band: expected 0 < low <= 1 <= high <= 10, found {list(self.band)}")
        return self
