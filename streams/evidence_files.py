"""Evidence for offline analysis: best frame (raw, annotated), the remuxed clip and a signed manifest in a folder."""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Mapping

from vigil.config_loader import LoadedConfig
from vigil.evidence import write_evidence
from vigil.signing import Signer
from vigil.store.local import LocalStore
from vigil.types import Violation
from streams.clip import remux_mp4
from streams.evidence import annotate_violation, evidence_meta, file_map, frame_files
from streams.ring import Span


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
        # the same files and manifest fields as the server's recorder (streams.evidence), over the whole event
        frames = frame_files(best, annotate_violation(best, self.zones))
        clip = remux_mp4(span.packets) if span.packets else None
        site = self.loaded.config.cameras[last.camera_id].site
        whole = dataclasses.replace(best, started_at=first.started_at, ended_at=last.ended_at)
        meta = evidence_meta(whole, site)
        files = file_map(frames, clip)
        manifest, key = write_evidence(self.store, self.signer, alert_id=last.event_id, revision=1, meta=meta,
                                       files=files)
        out = {f.name: str(self.out_dir / f.key) for f in manifest.files}
        out["manifest"] = str(self.out_dir / key)
        out["clip_truncated"] = span.truncated if span.packets else True
        return out
