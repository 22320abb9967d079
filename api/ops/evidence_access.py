"""Reading evidence for people: every view or download of an evidence file is written to the audit log."""
from __future__ import annotations

import re

from vigil import audit
from vigil.db.models import Alert
from vigil.errors import NotFoundError
from vigil.evidence import manifest_key, manifest_revisions, read_manifest

_MANIFEST_NAME = re.compile(r"^manifest(?:\.r(\d+))?\.json(\.sig)?$")


def _manifest_object(services, alert_id: str, name: str) -> tuple[bytes, str] | None:
    """manifest.json / manifest.rN.json (+ .sig): revision 1 or N; `manifest.json` alone means the latest."""
    m = _MANIFEST_NAME.match(name)
    if m is None:
        return None
    revs = manifest_revisions(services.store, alert_id)
    if not revs:
        raise NotFoundError(f"alert {alert_id}: no evidence manifest stored")
    revision = int(m.group(1)) if m.group(1) else revs[-1]
    if revision not in revs:
        raise NotFoundError(f"alert {alert_id}: no manifest revision {revision} (have {revs})")
    key = manifest_key(alert_id, revision) + (m.group(2) or "")
    return services.store.get(key), "application/json"


def read_evidence(services, alert_id: str, name: str, user: str) -> tuple[bytes, str]:
    """One evidence file of the alert's latest manifest by name (clip.mp4, best_raw.jpg, best_annotated.jpg),
    or its manifest / signature (`manifest.json`, `manifest.json.sig`: the latest revision); audited."""
    with services.sessions() as s:
        if s.get(Alert, alert_id) is None:
            raise NotFoundError(f"alert {alert_id} does not exist")
    found = _manifest_object(services, alert_id, name)
    if found is None:
        manifest, _, _ = read_manifest(services.store, alert_id)
        f = manifest.file(name)
        if f is None:
            names = ", ".join(x.name for x in manifest.files)
            raise NotFoundError(f"alert {alert_id}: no evidence file {name!r}; expected one of {names}, "
                                f"manifest.json or manifest.json.sig")
        found = services.store.get(f.key), f.content_type
        detail = {"name": name, "sha256": f.sha256, "revision": manifest.revision}
    else:
        detail = {"name": name}
    audit.record(services.sessions, user, "evidence.view", "alert", alert_id, detail)
    return found
