"""Annotated JPEGs of the cameras' newest frames: encoded only when asked, one encode shared by every viewer."""
from __future__ import annotations

import hashlib
import textwrap
import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import AsyncIterator, Awaitable, Callable

import cv2
import numpy as np

from api.i18n import catalogue
from api.routes.common import iso
from vigil.redact import redact_text
from vision.annotate import OverlayText
from vision.jpeg import encode_jpeg
from vision.overlay_text import Label, draw_labels, needs_font

BOUNDARY = "vigilframe"
SHOWS_FRAME = ("live", "stalled")  # other states draw their name and last error over the frame (or a blank)


def camera_state(runtime, camera_id: str, enabled: bool = True, secrets: tuple[str, ...] = ()) -> dict:
    """{"state", "last_error" (redacted), "fps", "since"} of a camera as the runtime reports it."""
    if not enabled:
        return {"state": "disabled", "last_error": "", "fps": 0.0, "since": None}
    status = runtime.camera_states().get(camera_id) if runtime else None
    if status is None:
        return {"state": "offline", "last_error": "camera service not running" if runtime is None else "",
                "fps": 0.0, "since": None}
    return {"state": status.state, "last_error": redact_text(status.last_error or "", secrets),
            "fps": round(status.fps, 1), "since": iso(status.since)}


@dataclass(frozen=True)
class LiveFrame:
    """One JPEG for a viewer; `tag` changes whenever the picture does (ETag, MJPEG dedup)."""

    jpeg: bytes
    tag: str
    seq: int  # the frame's sequence number; -1 for a placeholder without any frame
    state: str


def _fit(image: np.ndarray, width: int | None) -> np.ndarray:
    h, w = image.shape[:2]
    if not width or w <= width:
        return image
    return cv2.resize(image, (width, max(1, round(h * width / w))), interpolation=cv2.INTER_AREA)


def _text(img: np.ndarray, text: str, y: int, scale: float, color=(230, 230, 230), thick: int = 2) -> None:
    if needs_font(text):  # Hershey fonts draw ASCII only
        draw_labels(img, [Label(text, 20, y - round(34 * scale), (20, 20, 20), color, size=round(34 * scale))])
        return
    cv2.putText(img, text, (24, y), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), thick + 3, cv2.LINE_AA)
    cv2.putText(img, text, (24, y), cv2.FONT_HERSHEY_SIMPLEX, scale, color, thick, cv2.LINE_AA)


@lru_cache(maxsize=None)
def overlay_text(lang: str) -> OverlayText:
    """Class and rule names in the viewer's language; no track ids (people read names, not ids)."""
    cat = catalogue(lang)
    classes = {k.split(".", 1)[1]: v for k, v in cat.items() if k.startswith("class.")}
    rules = {k.split(".", 1)[1]: v for k, v in cat.items() if k.startswith("rule.")}
    return OverlayText(classes=classes, rules=rules, track_ids=False)


def state_card(camera_id: str, state: str, error: str, under: np.ndarray | None = None, *, name: str = "",
               lang: str = "en") -> np.ndarray:
    """The camera's name, state and last error, drawn over its last frame (dimmed) or a dark 640x360 card; the
    state and the waiting line in `lang` (the error is the stream's own English message)."""
    if under is None:
        img = np.full((360, 640, 3), 38, np.uint8)
    else:
        img = (cv2.resize(under, (640, round(under.shape[0] * 640 / under.shape[1]))) * 0.35).astype(np.uint8)
    colour = {"live": (120, 220, 120), "connecting": (80, 200, 255), "reconnecting": (80, 200, 255),
              "stalled": (80, 200, 255)}.get(state, (110, 110, 255))
    cat = catalogue(lang)
    if error == "camera service not running":  # the server's own message (a stream's error stays as it came)
        error = cat.get("cam.error.no_service", error)
    if state in SHOWS_FRAME and not error:
        error = cat.get("overlay.waiting", "waiting for the first analysed frame")
    shown = cat.get(f"cam.{state}", state)
    _text(img, name or camera_id, 60, 0.9)
    _text(img, shown.upper() if lang == "en" else shown, 120, 1.4, colour, 3)
    width = 52 if error.isascii() else 26
    for i, line in enumerate(textwrap.wrap(error, width)[:5]):
        _text(img, line, 175 + 32 * i, 0.65, (220, 220, 220), 1)
    return img


class FrameCache:
    """Per camera, the JPEGs of its newest picture by (width, quality); older pictures are dropped.

    A per-camera lock makes concurrent viewers of one frame wait for a single encode instead of each encoding it.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        self._entries: dict[str, tuple[str, dict[tuple[int, int, str], bytes]]] = {}
        self.encodes = 0  # how many JPEGs were actually encoded (the rest were shared)

    def _camera_lock(self, camera_id: str) -> threading.Lock:
        with self._lock:
            return self._locks.setdefault(camera_id, threading.Lock())

    def forget(self, camera_id: str) -> None:
        """Drop the camera's pictures (it restarted: its frame numbers begin again and must not match old ones)."""
        with self._camera_lock(camera_id):
            self._entries.pop(camera_id, None)

    def get(self, camera_id: str, picture: str, width: int, quality: int, make: Callable[[], np.ndarray],
            lang: str = "en") -> bytes:
        with self._camera_lock(camera_id):
            tag, by_size = self._entries.get(camera_id, ("", {}))
            if tag != picture:
                by_size = {}
                self._entries[camera_id] = (picture, by_size)
            jpeg = by_size.get((width, quality, lang))
            if jpeg is None:
                jpeg = by_size[(width, quality, lang)] = encode_jpeg(_fit(make(), width or None), quality)
                self.encodes += 1
            return jpeg


def live_frame(runtime, loaded, cache: FrameCache, camera_id: str, *, width: int = 0, quality: int = 70,
               lang: str = "en") -> LiveFrame:
    """The newest analysed frame, annotated (zones, boxes, active rules) with names in `lang`, or a card with the
    state and last error."""
    st = camera_state(runtime, camera_id, True, tuple(loaded.secrets))
    latest = runtime.latest(camera_id) if runtime else None
    state, error = st["state"], st["last_error"]
    cam = loaded.config.cameras.get(camera_id)
    if latest is None or state not in SHOWS_FRAME:
        digest = hashlib.sha1(f"{state}\n{error}".encode()).hexdigest()[:12]
        seq = -1 if latest is None else latest.frame.seq
        picture = f"p{seq}-{digest}"
        under = None if latest is None else latest.frame.image
        name = getattr(cam, "name", "") or camera_id
        jpeg = cache.get(camera_id, picture, width, quality,
                         lambda: state_card(camera_id, state, error, under, name=name, lang=lang), lang)
        return LiveFrame(jpeg, f"{picture}-{width}-{quality}-{lang}", -1, state)

    def make() -> np.ndarray:
        from vision.annotate import annotate

        zones = {name: z.polygon for name, z in (cam.zones.items() if cam else ())}
        return annotate(latest.frame.image, latest.detections, zones=zones, active_rules=latest.active_rules,
                        text=overlay_text(lang))

    picture = f"f{latest.frame.seq}"
    jpeg = cache.get(camera_id, picture, width, quality, make, lang)
    return LiveFrame(jpeg, f"{picture}-{width}-{quality}-{lang}", latest.frame.seq, state)


def mjpeg_part(jpeg: bytes) -> bytes:
    """One frame closed by the next boundary at once."""
    head = f"Content-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n".encode()
    return head + jpeg + f"\r\n--{BOUNDARY}\r\n".encode()


async def mjpeg_stream(next_frame: Callable[[], Awaitable[LiveFrame]], disconnected: Callable[[], Awaitable[bool]],
                       fps: float, resend_s: float = 2.0) -> AsyncIterator[bytes]:
    """multipart/x-mixed-replace body: a part per new picture, an unchanged one again every `resend_s`.

    Chromium paints a part only once the next part begins, so the first picture goes out twice at once: a camera
    whose picture does not change (offline, reconnecting) is shown at once instead of a dark frame.
    """
    import asyncio
    import time

    first = await next_frame()
    yield f"--{BOUNDARY}\r\n".encode() + mjpeg_part(first.jpeg) * 2
    tag, sent = first.tag, time.monotonic()
    while not await disconnected():
        await asyncio.sleep(1.0 / fps)
        frame = await next_frame()
        if frame.tag != tag or time.monotonic() - sent > resend_s:
            tag, sent = frame.tag, time.monotonic()
            yield mjpeg_part(frame.jpeg)
