"""The fault suite's camera rig: looped file cameras, a clock-scripted fire detector, and the after-fault checks.

The ONE scripted part is the detector (a fire box for `on_s` of every `period_s`, by wall clock), so events come
at a known rhythm; streams, rules, recorder, outbox, database and store are real. Each test counts the events the
recorder saw open (what the cameras produced) against the alert rows, and checks none is duplicated, left
ongoing or unverifiable.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Sequence

import numpy as np
import supervision as sv
from sqlalchemy import select
from typer.testing import CliRunner

from tests.servers import wait_for  # noqa: F401  (the fault tests take it from here)
from vigil.catalogue import PROFILE_CLASSES
from vigil.db.models import Alert
from vigil.types import ModelInfo

SITES = "sites:\n  works: {name: Works, kind: site, address: 1 Main St}\n"


class ClockFire:
    """vision's Detector protocol: one fire box while the wall clock is in the first `on_s` of each period."""

    def __init__(self, period_s: float = 6.0, on_s: float = 2.5):
        classes = PROFILE_CLASSES["site"]
        self.info = ModelInfo(name="clock-fire", version="v1", profile="site", classes=classes, path="(scripted)",
                              sha256="0" * 64)
        self.period_s, self.on_s, self.t0 = period_s, on_s, time.monotonic()
        self.fire = classes.index("fire")

    def detect(self, images: Sequence[np.ndarray]) -> list[sv.Detections]:
        on = (time.monotonic() - self.t0) % self.period_s < self.on_s
        out = []
        for img in images:
            h, w = img.shape[:2]
            n = 1 if on else 0
            out.append(sv.Detections(
                xyxy=np.array([[w * 0.3, h * 0.3, w * 0.6, h * 0.7]] * n, np.float32).reshape(-1, 4),
                confidence=np.full(n, 0.9, np.float32), class_id=np.full(n, self.fire, int),
                data={"class_name": np.array(["fire"] * n, dtype=str)}))
        return out


def cameras_yaml(sources: dict[str, str | Path]) -> str:
    lines = ["cameras:"]
    for cid, src in sources.items():
        lines.append(f"  {cid}:\n    site: works\n    source: \"{src}\"\n    motion: {{enabled: false}}\n"
                     f"    rules: {{open_burning: {{min_s: 1, grace_s: 1, cooldown_s: 0}}}}\n"
                     f"    record: {{pre_roll_s: 1, post_roll_s: 1}}")
    return SITES + "\n".join(lines) + "\nreliability: {min_free_mb: 0}\n"


def alerts(services) -> list[Alert]:
    with services.sessions() as s:
        return list(s.scalars(select(Alert).order_by(Alert.created_at)))


def check_nothing_lost(services, opened: int, config_path: Path, env: dict) -> list[Alert]:
    """Every opened event is one alert, none ongoing, and both CLI verifiers pass."""
    rows = alerts(services)
    assert len({a.event_id for a in rows}) == len(rows), "an event has two alerts"
    assert len(rows) == opened, f"{opened} events opened, {len(rows)} alerts exist"
    assert [a.id for a in rows if a.ongoing] == [], "alerts left ongoing"
    assert all(a.evidence_revision >= 1 and a.manifest_sha256 for a in rows)
    from api.cli import app

    runner = CliRunner()
    for args in (["evidence", "verify", "--all", "-c", str(config_path)], ["audit", "verify", "-c", str(config_path)]):
        result = runner.invoke(app, args, env=env)
        assert result.exit_code == 0, result.output
    return rows
