"""Camera health notifications: a camera offline, stalled or reconnecting for longer than the configured time is
notified (webhook, MQTT) like an alert, once; its return to live is notified too."""
from __future__ import annotations

import logging
import time
from typing import Callable, Mapping

from vigil.types import iso_utc, utcnow

log = logging.getLogger(__name__)
DOWN_STATES = frozenset({"offline", "stalled", "reconnecting"})


def camera_message(event: str, camera_id: str, site_id: str, state: str, error: str, since) -> dict:
    """The notification body; `alert` carries the site and a pseudo-rule so channel filters and MQTT topics work."""
    return {"event": event, "alert": {"id": None, "rule": event, "site_id": site_id, "camera_id": camera_id},
            "camera": {"id": camera_id, "site_id": site_id, "state": state, "error": error,
                       "since": iso_utc(since), "at": iso_utc(utcnow())}}


class CameraWatch:
    """`check(states)`: called every few seconds with {camera_id: CameraStatus}."""

    def __init__(self, down_after_s: float, sites: Mapping[str, str], record: Callable[[dict], object]):
        self.down_after_s = down_after_s
        self.sites = dict(sites)  # camera id -> site id
        self.record = record
        self._down_since: dict[str, float] = {}
        self._notified: set[str] = set()

    def check(self, states: Mapping, now: float | None = None) -> list[dict]:
        if self.down_after_s <= 0:
            return []
        now = time.monotonic() if now is None else now
        sent = []
        for cid, st in states.items():
            site = self.sites.get(cid, "")
            if st.state in DOWN_STATES:
                since = self._down_since.setdefault(cid, now)
                if cid not in self._notified and now - since >= self.down_after_s:
                    sent.append(camera_message("camera.down", cid, site, st.state, st.last_error, st.since))
            else:
                self._down_since.pop(cid, None)
                if cid in self._notified and st.state == "live":
                    sent.append(camera_message("camera.up", cid, site, st.state, "", st.since))
        for msg in sent:
            try:
                self.record(msg)
            except Exception as e:  # noqa: BLE001 - database down: try again at the next check
                log.warning("camera %s: could not record the %s notification (%s)", msg["camera"]["id"], msg["event"],
                            e)
                continue
            cid = msg["camera"]["id"]
            (self._notified.add if msg["event"] == "camera.down" else self._notified.discard)(cid)
            log.warning("camera %s: %s (%s)", cid, msg["event"], msg["camera"]["state"])
        return sent
