"""Reading evidence for people: every view or download of an evidence file is written to the audit log.

List thumbnails are not: a thumbnail is a small preview derived from the annotated best frame, not an evidence
file (no hash in the manifest, too small to stand in for the frame), and a list page showing twenty of them
would write twenty rows on every refresh, burying the views that matter. The full frames, the clip, the
manifest and the package stay audited."""
from __future__ import annotations

import re

import cv2
import numpy as np

from vigil import audit
from vision.jpeg import encode_jpeg
from vigil.db.models import Alert
from vigil.errors import IntegrityError, NotFoundError
from vigil.evidence import manifest_key, manifest_revisions, read_checked, read_manifest

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
        found = read_checked(services.store, f), f.content_type  # a damaged file is refused, never served
        detail = {"name": name, "sha256": f.sha256, "revision": manifest.revision}
    else:
        detail = {"name": name}
    audit.record(services.sessions, user, "evidence.view", "alert", alert_id, detail)
    return found


THUMBNAIL_WIDTH = 240  # twice the lists' 120 CSS pixels (sharp on high-density screens); far below a best frame
THUMBNAIL_SOURCES = ("best_annotated.jpg", "best_raw.jpg")


def thumbnail_tag(services, alert_id: str) -> tuple[str, str]:
    """(ETag, evidence key) of the alert's list thumbnail: the frame it is made from, by its manifest hash."""
    with services.sessions() as s:
        if s.get(Alert, alert_id) is None:
            raise NotFoundError(f"alert {alert_id} does not exist")
    manifest, _, _ = read_manifest(services.store, alert_id)
    for name in THUMBNAIL_SOURCES:
        f = manifest.file(name)
        if f is not None:
            return f'"{f.sha256[:32]}-w{THUMBNAIL_WIDTH}"', f.key
    raise NotFoundError(f"alert {alert_id}: no best frame to make a thumbnail from; expected one of "
                        f"{', '.join(THUMBNAIL_SOURCES)}")


def read_thumbnail(services, key: str) -> bytes:
    """The frame at `key` as a JPEG at most THUMBNAIL_WIDTH wide; not audited (see the module's note)."""
    data = np.frombuffer(services.store.get(key), np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_REDUCED_COLOR_4)  # decoding at 1/4 size is several times cheaper
    if image is None or image.shape[1] < THUMBNAIL_WIDTH:
        image = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if image is None:
        raise IntegrityError(f"{key}: expected a JPEG best frame, found bytes no image decoder reads")
    h, w = image.shape[:2]
    if w > THUMBNAIL_WIDTH:
        image = cv2.resize(image, (THUMBNAIL_WIDTH, max(1, round(h * THUMBNAIL_WIDTH / w))),
                           interpolation=cv2.INTER_AREA)
    return encode_jpeg(image, 75)
