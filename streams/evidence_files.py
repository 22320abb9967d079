"""Evidence for offline analysis: `vigil analyze`'s AlertSink writes each revision the recorder builds to a folder."""
from __future__ import annotations

import threading
from pathlib import Path

from vigil.config_loader import LoadedConfig
from vigil.evidence import EvidenceRevision, store_revision
from vigil.signing import Signer
from vigil.store.local import LocalStore
from streams.recorder import AlertRef, AlertWrite


def analysis_signer(out_dir: Path, loaded: LoadedConfig, from_config: bool) -> Signer:
    """The config's signing key, the server's key when analysing with the server's config, else one of its own."""
    key_path = loaded.config.signing.key_path
    if key_path:
        key = loaded.resolve(key_path)
    elif from_config:
        key = loaded.data_dir / "keys" / "evidence-ed25519.pem"  # the server's key: same signer as alerts
    else:
        key = Path(out_dir) / "keys" / "evidence-ed25519.pem"  # standalone run: a key of its own
    return Signer.load_or_create(key)


class FolderAlertSink:
    """The recorder's AlertSink for `vigil analyze`: every revision is stored under `out_dir` at once (a local
    folder needs no outbox); `finished(event_id)` is set when the event's final revision is there."""

    def __init__(self, out_dir: Path):
        self.out_dir = Path(out_dir)
        self.store = LocalStore(self.out_dir)
        self._latest: dict[str, EvidenceRevision] = {}
        self._done: dict[str, threading.Event] = {}
        self._lock = threading.Lock()

    def find(self, event_id: str) -> AlertRef | None:
        return None  # one analysis run, one recorder: an event never outlives it

    def insert(self, write: AlertWrite) -> None:
        self._write(write)

    def update(self, write: AlertWrite) -> None:
        self._write(write)

    def _write(self, write: AlertWrite) -> None:
        event_id = write.violation.event_id
        if write.evidence is not None:
            store_revision(self.store, write.evidence.objects)
            with self._lock:
                self._latest[event_id] = write.evidence
        if write.violation.phase == "closed":
            self.finished(event_id).set()

    def finished(self, event_id: str) -> threading.Event:
        with self._lock:
            return self._done.setdefault(event_id, threading.Event())

    def files(self, event_id: str) -> dict[str, str]:
        """Paths of the event's newest revision: every file by name, and its manifest."""
        with self._lock:
            rev = self._latest.get(event_id)
        if rev is None:
            return {}
        out = {f.name: str(self.out_dir / f.key) for f in rev.manifest.files}
        out["manifest"] = str(self.out_dir / rev.key)
        return out
