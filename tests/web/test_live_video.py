"""The live-video WebSocket of a served app with running file cameras: the camera's own NAL units byte-identical from
a keyframe on, playable fMP4, the analysis pushed with the video's media time, the same refusals as the HTTP
routes (anonymous, role, foreign Origin, unknown or stopped camera), and the packet tap removed when a viewer
leaves."""
from __future__ import annotations

import json
import threading
import time
from io import BytesIO

import av
import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from streams.live_mux import top_boxes
from streams.packets import nal_type, split_annexb, split_length_prefixed
from streams.source import SourceSession, parse_source
from tests.web.live_video_rig import serve_cameras
from tests.web.seed import ROLE_USERS
from tests.web.test_web_wall import token_for


@pytest.fixture(scope="module")
def video_app(tmp_path_factory):
    server, services, clips = serve_cameras(tmp_path_factory.mktemp("live"), 2)
    yield server, services, clips
    server.stop()
    services.close()


def ws_url(server, camera: str) -> str:
    return server.url.replace("http://", "ws://") + f"/api/cameras/{camera}/video"


def wait_live(server, headers: dict, camera: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        r = httpx.get(f"{server.url}/api/cameras/{camera}", headers=headers, timeout=10)
        if r.json()["state"] == "live":
            return
        time.sleep(0.2)
    raise AssertionError(f"camera {camera} did not go live within 60 s: {r.json()}")


def read(ws, seconds: float) -> list[str | bytes]:
    out: list[str | bytes] = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            out.append(ws.recv(timeout=max(0.01, end - time.monotonic())))
        except TimeoutError:
            break
    return out


def samples(data: bytes) -> list[bytes]:
    """The mdat payloads of the fragments in one message (a lagging viewer gets several per message)."""
    return [box[8:] for kind, box in top_boxes(data) if kind == b"mdat"]


def test_the_video_socket_sends_the_cameras_own_packets_from_a_keyframe(video_app):
    server, services, clips = video_app
    headers = token_for(services, ROLE_USERS["operator"])
    wait_live(server, headers, "cam01")
    time.sleep(1.5)  # the ring holds a keyframe and more: a viewer starts at once, mid-GOP of the camera
    buffered_s = server.app.state.runtime.supervisor.pipeline("cam01").ring.newest_s
    with connect(ws_url(server, "cam01"), additional_headers=headers) as ws:
        first = json.loads(ws.recv(timeout=10))
        init = ws.recv(timeout=10)
        messages = read(ws, 3.0)
    assert first["type"] == "init" and first["width"] == 320 and first["height"] == 180
    assert first["codec"].startswith("avc1.") and first["mime"] == f'video/mp4; codecs="{first["codec"]}"'
    assert [k for k, _ in top_boxes(init)] == [b"ftyp", b"moov"]
    media = [m for m in messages if isinstance(m, bytes)]
    analyses = [json.loads(m) for m in messages if isinstance(m, str)]
    own = {tuple(split_annexb(p.data)) for p in SourceSession(parse_source(str(clips[0]), as_camera=False),
                                                              segment=0, base_s=0).packets(threading.Event())}
    got = [tuple(split_length_prefixed(s)) for m in media for s in samples(m)]
    assert len(got) >= 50  # 3 s of a 25 fps camera, plus the buffered GOP it started with
    assert all(units in own for units in got)  # every NAL unit byte-identical to the camera's own
    assert 5 in [nal_type(u, "h264") for u in got[0]]  # an IDR picture first
    with av.open(BytesIO(init + b"".join(media))) as c:
        frames = list(c.decode(video=0))
        times = [f.time for f in frames]
    assert len(frames) == len(got) and all(b > a for a, b in zip(times, times[1:]))
    assert buffered_s - 1.0 <= times[0] <= buffered_s  # the ring's newest keyframe (GOP 1 s), not the next one
    assert (times[-1] - times[0]) * 25 == pytest.approx(len(frames) - 1, abs=1)  # 25 fps, no gap
    assert analyses and all(a["type"] == "analysis" and a["camera_id"] == "cam01" for a in analyses)
    newest = analyses[-1]
    assert {b["class_name"] for b in newest["boxes"]} == {"person", "dump_truck"}
    assert newest["zones"] == [{"name": "loading_bay", "polygon": [[0.02, 0.55], [0.5, 0.55], [0.5, 0.97],
                                                                   [0.02, 0.97]]}]
    assert all(0 <= v <= 1 for b in newest["boxes"] for v in b["box"])
    assert times[0] - 1.5 <= newest["t"] <= times[-1] + 1.5  # boxes are stamped on the video's own clock
    r = httpx.get(f"{server.url}/api/cameras/cam01/analysis", headers=headers, timeout=10)
    assert r.status_code == 200 and r.json()["seq"] >= newest["seq"] and r.json()["t"] >= newest["t"]


def test_a_viewer_leaving_removes_the_packet_tap(video_app):
    server, services, _ = video_app
    headers = token_for(services, ROLE_USERS["reviewer"])
    wait_live(server, headers, "cam02")
    app = server.app
    pipeline = app.state.runtime.supervisor.pipeline("cam02")
    with connect(ws_url(server, "cam02"), additional_headers=headers) as a, \
            connect(ws_url(server, "cam02"), additional_headers=headers) as b:
        a.recv(timeout=10)
        b.recv(timeout=10)
        assert app.state.live_feeds.viewers("cam02") == 2 and len(pipeline._listeners) == 1  # one shared tap
    deadline = time.monotonic() + 10
    while (app.state.live_feeds.viewers("cam02") or pipeline._listeners) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert app.state.live_feeds.viewers("cam02") == 0 and pipeline._listeners == ()


@pytest.mark.parametrize("who, camera, origin, status, says", [
    (None, "cam01", None, 401, "sign in first"),
    ("data_staff", "cam01", None, 403, "may not do this"),
    ("operator", "cam01", "http://evil.example", 403, "expected a WebSocket from this site's pages"),
    ("operator", "nope", None, 404, "camera 'nope' not found"),
    ("officer", "spare", None, 409, "camera 'spare' is not running"),
])
def test_the_video_socket_refuses_like_the_http_routes(video_app, who, camera, origin, status, says):
    server, services, _ = video_app
    headers = token_for(services, ROLE_USERS[who]) if who else {}
    with pytest.raises(InvalidStatus) as refused:
        connect(ws_url(server, camera), additional_headers=headers, origin=origin, open_timeout=10)
    assert refused.value.response.status_code == status
    assert says in json.loads(refused.value.response.body)["detail"]


def test_a_browser_session_cookie_from_the_same_origin_is_accepted(video_app):
    server, services, _ = video_app
    with httpx.Client(base_url=server.url, timeout=10) as http:
        r = http.post("/api/auth/login", json={"username": ROLE_USERS["operator"], "password": "correct-horse-42"})
        assert r.status_code == 200, r.text
        cookie = "; ".join(f"{k}={v}" for k, v in http.cookies.items())
    host = server.url.removeprefix("http://")
    with connect(ws_url(server, "cam01"), additional_headers={"Cookie": cookie}, origin=f"http://{host}") as ws:
        assert json.loads(ws.recv(timeout=10))["type"] in ("init", "analysis")
