"""Offline analysis of one file or stream: the whole pipeline in the caller's thread, one dict per violation."""
from __future__ import annotations

import math
import threading
from pathlib import Path
from typing import Callable, Iterator, Sequence

from vigil.config import VigilConfig
from vigil.config_loader import LoadedConfig
from vigil.errors import ConfigError
from vigil.shipped import shipped_detector
from vigil.types import iso_utc
from vision.analyzer import CameraAnalyzer
from vision.detector import Detector, profile_detector
from vision.frame_step import EventLog, EventSpan, FrameStep, detect_directly
from vision.second_look import load_shared
from streams.decoder import FrameDecoder
from streams.clip import cut_from_ring
from streams.evidence_files import FolderAlertSink, analysis_signer
from streams.frame_loop import CameraPlace, ViolationHandoff
from streams.recorder import Recorder, RecorderConfig
from streams.pipeline import PipelineConfig
from streams.ring import PacketRing
from streams.source import SourceSession, parse_source
from streams.supervisor import rule_latency_s

CAMERA_ID = "analyze"


def analysis_config(source: str, profile: str, loaded: LoadedConfig | None) -> LoadedConfig:
    """The given config (its detectors, rule edits, storage) plus one camera `analyze` on `source`."""
    base = loaded.config.model_dump(exclude_unset=True) if loaded is not None else {}
    sites = dict(base.get("sites") or {})
    site_id = next((s for s, v in sites.items() if v.get("kind", "site") == profile), None)
    if site_id is None:
        site_id = "analyze"
        sites[site_id] = {"name": "analysis", "kind": profile}
    cameras = base.get("cameras") or {}
    template = next((c for c in cameras.values() if c.get("site") == site_id), {})
    cam = {k: v for k, v in template.items() if k in ("detect", "motion", "record", "rules", "zones", "masks")}
    cam.update(site=site_id, source="analysis", profile=profile)
    base.update(sites=sites, cameras={CAMERA_ID: cam})
    detectors = dict(base.get("detectors") or {})
    if profile not in detectors and (shipped := shipped_detector(profile)) is not None:
        detectors[profile] = shipped  # no config, or none for this profile: the shipped model and its defaults
    base["detectors"] = detectors
    try:
        config = VigilConfig.model_validate(base)
    except ValueError as e:
        raise ConfigError(f"could not set up analysis of {source!r} with profile {profile!r}: {e}") from None
    if loaded is None:
        return LoadedConfig(config=config, path=None, base_dir=Path.cwd().resolve())
    return LoadedConfig(config=config, path=loaded.path, base_dir=loaded.base_dir, secrets=loaded.secrets)


def _detector(loaded: LoadedConfig, profile: str, model: str | Path | None, imgsz: int | None) -> Detector:
    if model is None and profile not in loaded.config.detectors:
        raise ConfigError(f"expected --model PATH, a detector for profile {profile!r} under detectors: in the "
                          f"config, or the shipped model in models/; found none of them")
    det = profile_detector(loaded, profile, model_path=Path(model) if model is not None else None, imgsz=imgsz)
    assert det is not None  # a path or a detector config, checked above
    return det


def analyze_source(source: str, *, profile: str = "site", model: str | Path | None = None,
                   loaded: LoadedConfig | None = None, out_dir: Path | None = None, duration: float | None = None,
                   resolve_source: Callable[[str], str] | None = None, imgsz: int | None = None,
                   detector: Detector | None = None,
                   second_look: Sequence[str | Path] | None = None) -> Iterator[dict]:
    """Run source -> decode -> detect -> rules over `source` read flat-out; yield one dict per violation event.

    Events are reported when they close and their post-roll is read (or at the end of the source, still open).
    `second_look` lists classifiers that look again at the boxes (default: the config detector's `classifiers`).
    With `out_dir`, each event's best frame (raw and annotated), clip and signed manifest are written there.
    """
    cfg = analysis_config(source, profile, loaded)
    det = detector or _detector(cfg, profile, model, imgsz)
    looks = [load_shared(c) for c in second_look] if second_look is not None else None
    analyzer = CameraAnalyzer.from_config(cfg, CAMERA_ID, second_look=looks)
    pcfg = PipelineConfig.from_camera(cfg.config.cameras[CAMERA_ID], retain_extra_s=rule_latency_s(cfg, CAMERA_ID))
    spec = parse_source(source, as_camera=False, resolve_source=resolve_source)
    ring = PacketRing(pcfg.retain_s, pcfg.max_buffer_bytes)
    decoder = FrameDecoder(CAMERA_ID, pcfg.detect_fps, pcfg.detect_size)
    writer = _Writer(out_dir, cfg, ring, loaded is not None) if out_dir else None
    place = CameraPlace(cfg.config.cameras[CAMERA_ID].site, profile, analyzer.zone_polygons)
    step = FrameStep(analyzer, detect_directly(det),
                     ViolationHandoff(ring, pcfg, place, writer.recorder if writer is not None else None))
    events = EventLog()
    session = SourceSession(spec, segment=0, base_s=0.0)
    try:
        for pkt in session.packets(threading.Event()):
            if duration is not None and pkt.t_s > duration:
                break
            result = decoder.feed(pkt)
            ring.push(pkt)
            for frame in result.frames:
                for v in step(frame).violations:
                    events.add(v)
            yield from _ready(events, ring, pcfg, writer, final=False)
    finally:
        session.close()
    ring.end()
    if writer is not None:
        writer.recorder.stop(60)  # events still open at the end: closed with the footage there is
    yield from _ready(events, ring, pcfg, writer, final=True)


class _Writer:
    """With --out: the server's recorder over this source's ring, ending in a folder (FolderAlertSink)."""

    def __init__(self, out_dir: Path, loaded: LoadedConfig, ring: PacketRing, from_config: bool):
        self.sink = FolderAlertSink(out_dir)
        record = loaded.config.cameras[CAMERA_ID].record
        self.recorder = Recorder(self.sink, analysis_signer(out_dir, loaded, from_config), clips=_RingClips(ring),
                                 record_for=lambda _cid: record, alert_id_for=lambda v: v.event_id,
                                 config=RecorderConfig(revision_interval_s=math.inf, clip_after_open=False))

    def evidence(self, event_id: str, final: bool) -> dict:
        if not final:  # the event closed and its post-roll is read: its final revision is being written
            self.sink.finished(event_id).wait(120)
        out: dict = self.sink.files(event_id)
        out["clip_truncated"] = self.recorder.truncated.get(event_id, True) if "clip.mp4" in out else True
        return out


class _RingClips:
    def __init__(self, ring: PacketRing):
        self.ring = ring

    def cut_clip(self, request, timeout: float):
        return cut_from_ring(self.ring, CAMERA_ID, request, timeout)


def _ready(events: EventLog, ring: PacketRing, pcfg: PipelineConfig, writer: "_Writer | None",
           *, final: bool) -> Iterator[dict]:
    newest = ring.newest_s or 0.0
    for event_id, ev in list(events.events.items()):
        if not final and not (ev.closed and newest >= ev.last.end_s + pcfg.post_roll_s):
            continue
        events.pop(event_id)
        record = _record(ev)
        if writer is not None:
            record["evidence"] = writer.evidence(event_id, final)
        ring.release(event_id)
        yield record


def _record(ev: EventSpan) -> dict:
    last, best = ev.last, ev.best
    return {
        "event_id": last.event_id, "rule": last.rule, "camera": last.camera_id, "closed": ev.closed,
        "start": round(ev.first.start_s, 3), "end": round(last.end_s, 3),
        "started_at": iso_utc(ev.first.started_at), "ended_at": iso_utc(last.ended_at),
        "best": round(best.best_s, 3), "best_at": iso_utc(best.best_at), "best_score": round(best.best_score, 4),
        "track_id": last.track_id, "model": {"name": best.model_name, "version": best.model_version},
        "detections": [b.to_dict() for b in best.detections],
    }
