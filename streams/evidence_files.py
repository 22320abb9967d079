"""Evidence for offline analysis: best frame (raw, annotated), the remuxed clip and a signed manifest in a folder."""
from __future__ import annotations

from pathlib import Path
from typing import Mapping

import cv2

from vigil.config_loader import LoadedConfig
from vigil.evidence import EvidenceMeta, write_evidence
from vigil.signing import Signer
from vigil.store.local import LocalStore
from vigil.types import Violation
from streams.clip import remux_mp4
from streams.evidence import annotate_violation
from streams.ring import Span


def _jpeg(image) -> bytes:
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])
    if not ok:
        raise ValueError("could not encode a JPEG of the best frame")
    return buf.tobytes()


class EvidenceWriter:
    """Writes each event's evidence under `out_dir` through the evidence store, signed like the server does."""

    def __init__(self, out_dir: Path, loaded: LoadedConfig, zones: Mapping[str, list], from_config: bool):
        self.out_dir = Path(out_dir)
        self.store = LocalStore(self.out_dir)
        key_path = loaded.config.signing.key_path
        if key_path:
            key = loaded.resolve(key_path)
        elif from_config:
            key = loaded.data_dir / "keys" / "evidence-ed25519.pem"  # the server's key: same signer as alerts
        else:
            key = self.out_dir / "keys" / "evidence-ed25519.pem"  # standalone run: a key of its own
        self.signer = Signer.load_or_create(key)
        self.loaded = loaded
        self.zones = zones

    def write(self, first: Violation, last: Violation, best: Violation, span: Span) -> dict:
        files: dict[str, tuple[bytes, str]] = {}
        if best.best_image is not None:
            files["best_raw.jpg"] = (_jpeg(best.best_image), "image/jpeg")
            files["best_annotated.jpg"] = (_jpeg(annotate_violation(best, self.zones)), "image/jpeg")
        if span.packets:
            files["clip.mp4"] = (remux_mp4(span.packets), "video/mp4")
        site = self.loaded.config.cameras[last.camera_id].site
        meta = EvidenceMeta(camera_id=last.camera_id, site_id=site, rule=last.rule, model_name=best.model_name,
                            model_version=best.model_version, started_at=first.started_at, ended_at=last.ended_at,
                            best_at=best.best_at, detections=best.detections, thresholds=dict(best.thresholds))
        manifest, key = write_evidence(self.store, self.signer, alert_id=last.event_id, revision=1, meta=meta,
                                       files=files)
        out = {f.name: str(self.out_dir / f.key) for f in manifest.files}
        out["manifest"] = str(self.out_dir / key)
        out["clip_truncated"] = span.truncated if span.packets else True
        return out
