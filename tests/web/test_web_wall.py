"""The live wall at scale and live updates: 8 file cameras plus an unreachable RTSP camera served by uvicorn, a
wall of tiles in Chromium (live video, snapshots where none plays), the single-camera view updated in place, and
SSE delivery."""
from __future__ import annotations

import asyncio
import json
import subprocess
import time
from collections import defaultdict
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from api.auth.users import create_token
from api.routes.live_frames import FrameCache, LiveFrame, live_frame, mjpeg_stream, state_card
from tests.web.conftest import serve_live
from tests.web.seed import ROLE_USERS, seed_alert
from tests.web.test_web_browser import shot, sign_in
from vigil.db.models import User
from vision.jpeg import encode_jpeg

FILE_CAMERAS = ["gate"] + [f"cam{i}" for i in range(1, 8)]  # gate loops the real CCTV clip; the rest small clips
SECRET = "cam-secret-pw"


def make_clips(out: Path, n: int) -> list[Path]:
    """n small looping camera clips (320x180, 5 fps, 4 s), each a different hue so tiles tell apart."""
    out.mkdir(parents=True, exist_ok=True)
    clips = []
    for i in range(n):
        clip = out / f"clip{i}.mp4"
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=5",
                        "-t", "4", "-vf", f"hue=h={i * 50}", "-c:v", "libx264", "-g", "5", "-pix_fmt", "yuv420p",
                        str(clip)], check=True)
        clips.append(clip)
    return clips


@pytest.fixture(scope="module")
def wall_app(tmp_path_factory):
    """9 cameras running (8 files, 1 unreachable RTSP with a password), no detector, on 127.0.0.1."""
    tmp = tmp_path_factory.mktemp("wall")
    extra = "".join(f'  cam{i}: {{name: "Yard {i}", site: works, source: "{clip}"}}\n'
                    for i, clip in enumerate(make_clips(tmp / "clips", 7), 1))
    yield from serve_live(tmp, extra)


def token_for(services, username: str) -> dict:
    with services.sessions() as s:
        uid = s.scalars(select(User.id).where(User.username == username)).one()
    return {"Authorization": f"Bearer {create_token(services.sessions, uid, 'test')}"}


# -- pieces without a server --------------------------------------------------------------------------------------
def test_mjpeg_sends_its_first_picture_twice_so_a_still_camera_shows_at_once():
    """Chromium paints a multipart part only when the next one begins: a camera whose picture never changes
    (offline) stayed dark while its single placeholder part waited for a second."""
    card = LiveFrame(encode_jpeg(state_card("bench", "reconnecting", "could not open rtsp://viewer:***@h/x"), 70),
                     "p-1", -1, "reconnecting")
    ticks = iter([False, False, True])

    async def next_frame():
        return card

    async def disconnected():
        return next(ticks)

    async def collect():
        return [c async for c in mjpeg_stream(next_frame, disconnected, fps=100, resend_s=60)]

    chunks = asyncio.run(collect())
    assert chunks[0].startswith(b"--vigilframe\r\n")
    assert chunks[0].count(b"Content-Type: image/jpeg") == 2 and chunks[0].endswith(b"\r\n--vigilframe\r\n")
    assert len(chunks) == 1  # an unchanged picture is not sent again before resend_s


def test_viewers_of_one_picture_share_one_encode(web_services):
    cache = FrameCache()
    frames = [live_frame(None, web_services.loaded, cache, "bench", width=320) for _ in range(3)]
    assert cache.encodes == 1 and len({f.jpeg for f in frames}) == 1 and frames[0].state == "offline"
    live_frame(None, web_services.loaded, cache, "bench", width=640)
    assert cache.encodes == 2


def test_snapshot_is_conditional_and_carries_the_state(client, web_services):
    headers = token_for(web_services, ROLE_USERS["operator"])
    r = client.get("/api/cameras/bench/snapshot.jpg?w=320", headers=headers)
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg" and r.content[:2] == b"\xff\xd8"
    assert r.headers["x-camera-state"] == "offline" and r.headers["x-frame-seq"] == "-1"
    again = client.get("/api/cameras/bench/snapshot.jpg?w=320", headers={**headers, "If-None-Match": r.headers["etag"]})
    assert again.status_code == 304 and not again.content
    assert client.get("/api/cameras/nope/snapshot.jpg", headers=headers).status_code == 404


def test_assignees_are_officers_and_admins(client, web_services):
    r = client.get("/api/leads/assignees", headers=token_for(web_services, ROLE_USERS["officer"]))
    assert r.status_code == 200
    assert {(u["username"], u["role"]) for u in r.json()["items"]} == {("oscar", "officer"), ("ada", "admin")}


# -- live server ---------------------------------------------------------------------------------------------------
class SseReader:
    """An SSE subscription read with httpx, event by event."""

    def __init__(self, url: str, headers: dict):
        self.client = httpx.Client(timeout=httpx.Timeout(10, read=30))
        self.cm = self.client.stream("GET", url + "/api/events", headers=headers)
        self.response = self.cm.__enter__()
        assert self.response.status_code == 200, self.response.read()
        assert self.response.headers["content-type"].startswith("text/event-stream")
        self.lines = self.response.iter_lines()

    def wait_connected(self) -> None:
        for line in self.lines:
            if line == ": connected":
                return

    def until(self, want, deadline_s: float = 60) -> list[tuple[str, dict]]:
        """Events up to and including the first for which want(kind, payload) is true."""
        seen, kind, end = [], None, time.monotonic() + deadline_s
        for line in self.lines:
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: "):
                seen.append((kind, json.loads(line[6:])))
                if want(*seen[-1]):
                    return seen
            assert time.monotonic() < end, f"no wanted event within {deadline_s} s; saw {seen}"
        raise AssertionError(f"the event stream ended; saw {seen}")

    def close(self) -> None:
        self.cm.__exit__(None, None, None)
        self.client.close()


def test_sse_delivers_a_confirm_and_a_camera_state_change(wall_app):
    server, services = wall_app
    sse = SseReader(server.url, token_for(services, ROLE_USERS["admin"]))
    try:
        sse.wait_connected()
        alert_id = seed_alert(services, camera="gate", ago_s=60)
        r = httpx.post(f"{server.url}/api/alerts/{alert_id}/confirm", json={},
                       headers=token_for(services, ROLE_USERS["reviewer"]), timeout=30)
        assert r.status_code == 200, r.text
        lead_id = r.json()["lead_id"]
        got = sse.until(lambda k, p: k == "lead.updated" and p.get("alert_id") == alert_id)
        assert got[-1][1]["id"] == lead_id
        runtime = server.app.state.runtime
        runtime.supervisor.remove_camera("cam7")   # a real state change: the camera stops ...
        sse.until(lambda k, p: k == "camera.state" and p["camera_id"] == "cam7" and p["state"] == "offline")
        runtime.supervisor.add_camera("cam7")      # ... and comes back
        got = sse.until(lambda k, p: k == "camera.state" and p["camera_id"] == "cam7" and p["state"] == "live")
        assert all(SECRET not in json.dumps(p) for _, p in got)
    finally:
        sse.close()


def watch_snapshots(page) -> dict:
    """Per camera: snapshot requests made, the most ever in flight at once, MJPEG requests and live-video sockets
    opened (from the browser's events)."""
    stats = {"made": defaultdict(int), "open": defaultdict(int), "peak": defaultdict(int), "mjpeg": defaultdict(int),
             "video": defaultdict(int)}

    def camera_of(req):
        return req.url.split("/api/cameras/")[1].split("/")[0] if "/api/cameras/" in req.url else None

    def started(req):
        cam = camera_of(req)
        if cam and "/snapshot.jpg" in req.url:
            stats["made"][cam] += 1
            stats["open"][cam] += 1
            stats["peak"][cam] = max(stats["peak"][cam], stats["open"][cam])
        elif cam and "/live.mjpg" in req.url:
            stats["mjpeg"][cam] += 1

    def ended(req):
        cam = camera_of(req)
        if cam and "/snapshot.jpg" in req.url:
            stats["open"][cam] -= 1

    page.on("request", started)
    page.on("websocket", lambda ws: stats["video"].__setitem__(camera_of(ws), stats["video"][camera_of(ws)] + 1))
    page.on("requestfinished", ended)
    page.on("requestfailed", ended)
    return stats


def check_offline_tile(page) -> None:
    bench = '.tile[data-camera="bench"]'
    page.wait_for_function(f"() => ['reconnecting', 'offline'].includes(document.querySelector('{bench}')"
                           ".dataset.state)", timeout=30000)
    page.wait_for_function(f"() => document.querySelector('{bench} img').naturalWidth > 0")
    overlay = page.locator(f"{bench} .offline")
    assert overlay.is_visible()
    text = overlay.inner_text()
    assert ("RECONNECTING" in text or "OFFLINE" in text) and "rtsp://viewer:***@127.0.0.1:9/bench" in text, text
    assert SECRET not in page.content()


def check_hidden_page_stops_polling(page, stats) -> None:
    page.evaluate("""() => { Object.defineProperty(document, 'visibilityState', {configurable: true,
                     get: () => 'hidden'}); document.dispatchEvent(new Event('visibilitychange')); }""")
    page.wait_for_timeout(1500)  # requests already in flight finish; no new ones start
    before = sum(stats["made"].values())
    page.wait_for_timeout(2000)
    assert sum(stats["made"].values()) == before
    page.evaluate("() => { delete document.visibilityState; document.dispatchEvent(new Event('visibilitychange')); }")
    page.wait_for_timeout(1500)
    assert sum(stats["made"].values()) > before


def check_camera_page_updates_in_place(page, base, services, stats) -> None:
    page.click('.tile[data-camera="cam1"]')
    page.wait_for_url(base + "/wall/cam1")
    page.wait_for_function("() => document.querySelector('.camera-full')?.dataset.mode === 'video'", timeout=30000)
    page.evaluate("() => { window.__live = document.querySelector('#live-video'); }")
    opened = stats["video"]["cam1"]
    assert opened >= 1 and stats["mjpeg"]["cam1"] == 0  # the camera's own video, no MJPEG beside it
    bus = services.events
    bus.publish("camera.state", {"camera_id": "cam1", "state": "stalled", "last_error": "no packet for 5 s"})
    page.wait_for_function("() => document.querySelector('.camera-full .state').textContent === 'stalled'")
    bus.publish("camera.state", {"camera_id": "cam1", "state": "reconnecting",
                                 "last_error": f"could not open rtsp://admin:{SECRET}@10.0.0.9/cam1"})
    page.wait_for_function("() => document.querySelector('.camera-full').dataset.state === 'reconnecting'")
    assert page.locator(".camera-full .offline").is_visible()
    assert "rtsp://admin:***@10.0.0.9/cam1" in page.locator("#last-error").inner_text()
    assert SECRET not in page.content()
    shot(page, "22-camera-reconnecting")
    bus.publish("camera.state", {"camera_id": "cam1", "state": "live", "last_error": ""})
    page.wait_for_function("() => document.querySelector('.camera-full').dataset.state === 'live'")
    assert page.evaluate("() => window.__live === document.querySelector('#live-video') && window.__live.isConnected")
    assert stats["video"]["cam1"] == opened and stats["mjpeg"]["cam1"] == 0  # the video was never reconnected


def test_wall_of_nine_cameras_in_the_browser(wall_app, browser):
    server, services = wall_app
    base = server.url
    page = browser.new_page(viewport={"width": 1920, "height": 1080})
    stats = watch_snapshots(page)
    sign_in(page, base, ROLE_USERS["operator"], "/wall")
    page.wait_for_selector(".tile")
    assert page.locator(".tile").count() == 9
    for cam in FILE_CAMERAS:  # every file camera's tile keeps receiving pictures
        page.wait_for_function(f"() => +document.querySelector('.tile[data-camera=\"{cam}\"]').dataset.frames >= 3",
                               timeout=60000)
        tile = f".tile[data-camera=\"{cam}\"]"  # a picture: its video, or a snapshot until the video plays
        assert page.evaluate(f"() => document.querySelector('{tile} video').videoWidth || "
                             f"document.querySelector('{tile} img').naturalWidth") > 0
    check_offline_tile(page)
    assert not stats["mjpeg"], "wall tiles must not hold MJPEG connections"
    assert max(stats["peak"].values()) == 1, dict(stats["peak"])  # never a second request before the first ended
    boxes = [page.locator(".tile").nth(i).bounding_box() for i in range(9)]
    assert max(b["y"] + b["height"] for b in boxes) <= 1080  # the whole wall fits the screen
    shot(page, "20-wall-9-cameras")
    check_hidden_page_stops_polling(page, stats)
    page.set_viewport_size({"width": 1366, "height": 768})
    page.wait_for_timeout(1500)
    boxes = [page.locator(".tile").nth(i).bounding_box() for i in range(9)]
    assert max(b["y"] + b["height"] for b in boxes) <= 768
    shot(page, "21-wall-9-cameras-laptop")
    page.set_viewport_size({"width": 1920, "height": 1080})
    check_camera_page_updates_in_place(page, base, services, stats)
