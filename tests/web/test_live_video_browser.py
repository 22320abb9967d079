"""A 16-tile wall playing live video in Chromium at the cameras' own frame rate (25 fps file cameras, their packets
remuxed to fMP4 into Media Source Extensions), boxes and zones drawn over the video on its own clock, the camera
page's video with the MJPEG fallback, in English and Chinese; screenshots of each."""
from __future__ import annotations

import pytest

from tests.web.live_video_rig import FPS, serve_cameras
from tests.web.seed import ROLE_USERS
from tests.web.test_web_browser import shot, sign_in

pytestmark = pytest.mark.slow
SCREEN = {"width": 1920, "height": 1080}
CAMERAS = [f"cam{i:02d}" for i in range(1, 17)]
SAMPLE = """() => Object.fromEntries([...document.querySelectorAll('.tile:not([hidden])')].map(t => {
    const v = t.querySelector('video'), q = v.getVideoPlaybackQuality();
    return [t.dataset.camera, {frames: q.totalVideoFrames, dropped: q.droppedVideoFrames, time: v.currentTime,
                               at: performance.now(), mode: t.dataset.mode, overlay: +t.dataset.overlayT,
                               media: +t.dataset.mediaTime}]; }))"""


@pytest.fixture(scope="module")
def wall_of_16(tmp_path_factory):
    server, services, _ = serve_cameras(tmp_path_factory.mktemp("live16"), 16)
    yield server, services
    server.stop()
    services.close()


def test_mse_plays_h264_in_this_chromium(browser):
    page = browser.new_page()
    assert page.evaluate("""() => MediaSource.isTypeSupported('video/mp4; codecs="avc1.42E01E"')"""), \
        "Debian's Chromium is expected to play H.264 through Media Source Extensions"
    page.close()


def open_wall(page, base: str) -> None:
    sign_in(page, base, ROLE_USERS["operator"], "/wall")
    page.goto(base + "/wall?layout=16&site=works")
    page.wait_for_selector("body[data-ready='1'] .tile", state="attached")
    shown = page.evaluate("() => [...document.querySelectorAll('.tile:not([hidden])')].map(t => t.dataset.camera)")
    assert sorted(shown) == CAMERAS
    page.wait_for_function("() => [...document.querySelectorAll('.tile:not([hidden])')]"
                           ".every(t => t.dataset.mode === 'video')", timeout=60000)


def check_source_rate(page, seconds: float = 5.0) -> None:
    """Every tile's decoded frames and media time advance at the source's 25 fps, sampled together."""
    page.wait_for_timeout(2000)  # past the first seek to the live edge
    a = page.evaluate(SAMPLE)
    page.wait_for_timeout(seconds * 1000)
    b = page.evaluate(SAMPLE)
    rates = {}
    for cam in CAMERAS:
        wall_s = (b[cam]["at"] - a[cam]["at"]) / 1000
        fps = (b[cam]["frames"] - a[cam]["frames"]) / wall_s
        clock = (b[cam]["time"] - a[cam]["time"]) / wall_s
        rates[cam] = (round(fps, 1), round(clock, 2), b[cam]["dropped"])
        assert b[cam]["mode"] == "video", (cam, b[cam])
    slow = {cam: r for cam, r in rates.items() if not (0.8 * FPS <= r[0] <= 1.2 * FPS and 0.8 <= r[1] <= 1.2)}
    assert not slow, f"tiles off the source rate of {FPS} fps (fps, media s per s, dropped): {slow}; all: {rates}"


def check_overlays_follow_the_video_clock(page) -> None:
    """The boxes drawn belong to an analysis at or just before the frame shown (detect fps 1: within ~1 s)."""
    page.wait_for_function("() => [...document.querySelectorAll('.tile:not([hidden])')]"
                           ".every(t => +t.dataset.overlayT > 0)", timeout=30000)
    s = page.evaluate(SAMPLE)
    for cam in CAMERAS:
        lag = s[cam]["media"] - s[cam]["overlay"]
        assert -0.05 <= lag <= 2.6, (cam, s[cam])
    painted = page.evaluate("""() => { const c = document.querySelector('.tile[data-camera="cam01"] canvas.overlay');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i]) n++; return n; }""")
    assert painted > 500  # boxes, labels and the zone are drawn on the canvas


def test_a_wall_of_16_plays_live_video_at_the_source_rate(wall_of_16, browser):
    server, services = wall_of_16
    page = browser.new_page(viewport=SCREEN)
    sockets = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    # the sign-in's landing wall opens sockets of its own (on a slow machine, before it is left): count only those
    # of the last page loaded, the 16-tile wall
    page.on("framenavigated", lambda frame: sockets.clear() if frame == page.main_frame else None)
    open_wall(page, server.url)
    check_source_rate(page)
    check_overlays_follow_the_video_clock(page)
    assert not any("snapshot.jpg" in u for u in sockets)
    assert sorted(u.split("/api/cameras/")[1].split("/")[0] for u in sockets) == CAMERAS  # one socket per tile
    feeds = server.app.state.live_feeds
    assert all(feeds.viewers(cam) == 1 for cam in CAMERAS)
    shot(page, "50-wall-16-live-video-en")
    page.select_option("#wall-layout", "4")  # 12 tiles hidden: their video stops, the tap is removed
    page.wait_for_function("() => document.querySelectorAll('.tile:not([hidden])').length === 4")
    page.wait_for_timeout(1500)
    assert sum(feeds.viewers(cam) for cam in CAMERAS) == 4
    page.close()


def test_the_wall_and_camera_page_in_chinese(wall_of_16, browser):
    server, services = wall_of_16
    page = browser.new_page(viewport=SCREEN)
    page.context.add_cookies([{"name": "vigil_lang", "value": "zh", "url": server.url}])
    open_wall(page, server.url)
    page.wait_for_function("() => [...document.querySelectorAll('.tile:not([hidden])')]"
                           ".every(t => +t.dataset.overlayT > 0)", timeout=30000)
    page.wait_for_timeout(500)
    shot(page, "51-wall-16-live-video-zh")
    page.click('.tile[data-camera="cam03"]')
    page.wait_for_url(server.url + "/wall/cam03")
    page.wait_for_function("() => document.querySelector('.camera-full')?.dataset.mode === 'video'", timeout=30000)
    page.wait_for_function("() => +document.querySelector('.camera-full').dataset.overlayT > 0", timeout=30000)
    assert page.inner_text("#live-mode") == "实时视频：摄像头原始画面"
    assert page.get_attribute("#live", "src") is None  # no MJPEG while the video plays
    page.wait_for_timeout(500)
    shot(page, "52-camera-live-video-zh")
    page.close()


def test_without_media_source_the_camera_page_falls_back_to_mjpeg(wall_of_16, browser):
    server, _ = wall_of_16
    page = browser.new_page(viewport={"width": 1600, "height": 900})
    page.add_init_script("delete window.MediaSource; delete window.ManagedMediaSource;")
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    sign_in(page, server.url, ROLE_USERS["operator"], "/wall/cam02")
    page.wait_for_function("() => document.querySelector('#live')?.naturalWidth > 0", timeout=30000)
    assert page.get_attribute(".camera-full", "data-mode") == "frames"
    assert "分析" not in page.inner_text("#live-mode") and "cannot play" in page.inner_text("#live-mode")
    assert any("/api/cameras/cam02/live.mjpg" in u for u in requests)
    shot(page, "53-camera-mjpeg-fallback-en")
    page.goto(server.url + "/wall?layout=16&site=works")  # the wall polls snapshots instead
    page.wait_for_function("() => [...document.querySelectorAll('.tile:not([hidden])')]"
                           ".every(t => t.dataset.mode === 'snapshot' && +t.dataset.frames >= 2)", timeout=60000)
    page.close()


@pytest.fixture(scope="module")
def resizing_camera(tmp_path_factory):
    from tests.web.live_video_rig import resizing_clip

    tmp = tmp_path_factory.mktemp("resize")
    clip = resizing_clip(tmp / "resize")
    extra = f'  resize: {{name: "Resizing gate", site: works, source: "{clip}", detect: {{fps: 1}}}}\n'
    server, services, _ = serve_cameras(tmp, 1, extra=extra)
    yield server, services
    server.stop()
    services.close()


def test_a_resolution_change_plays_on_with_a_new_init_segment(resizing_camera, browser):
    server, _ = resizing_camera
    page = browser.new_page(viewport={"width": 1600, "height": 900})
    sockets = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    sign_in(page, server.url, ROLE_USERS["operator"], "/wall/resize")
    page.wait_for_function("() => document.querySelector('.camera-full')?.dataset.mode === 'video'", timeout=30000)
    seen = []
    for _ in range(32):  # 8 s: two size changes each way
        seen.append(page.evaluate("""() => { const v = document.querySelector('#live-video');
            return [v.videoWidth, v.getVideoPlaybackQuality().totalVideoFrames, v.currentTime]; }"""))
        page.wait_for_timeout(250)
    assert {w for w, _, _ in seen} == {320, 256}, seen  # both sizes were shown ...
    frames = seen[-1][1] - seen[0][1]
    assert frames >= 0.7 * FPS * 7.75, seen  # ... without stopping (7.75 s at 25 fps)
    assert page.get_attribute(".camera-full", "data-mode") == "video" and len(sockets) == 1  # on one socket
    page.close()
