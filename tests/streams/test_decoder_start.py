"""What the decoder does to real frames: the aspect ratio is kept, and the first GOPs are not skipped."""
from __future__ import annotations

import pytest

from streams.decoder import FrameDecoder, fit_size
from streams.source import parse_source
from streams.pipeline import CameraPipeline, PipelineConfig
from tests.streams.conftest import make_clip


@pytest.mark.parametrize("source, box, expected", [
    ((1920, 1080), (640, 360), (640, 360)),   # 16:9 landscape: as before
    ((576, 1024), (640, 360), (360, 640)),    # portrait: long side fitted, not squashed 3x
    ((1280, 960), (640, 360), (640, 480)),    # 4:3 keeps 4:3
    ((320, 180), (640, 360), (320, 180)),     # never upscaled
    ((1001, 563), (640, 360), (640, 360)),    # even sides for the colour converter
    ((720, 720), (640, 360), (640, 640)),     # square
])
def test_fit_size_keeps_the_aspect_ratio(source, box, expected):
    assert fit_size(source, box) == expected
    w, h = fit_size(source, box)
    assert abs(w / h - source[0] / source[1]) < 0.02


def _frames(path, fps: float, size=(640, 360)) -> list:
    pipe = CameraPipeline("c", parse_source(str(path), as_camera=False),
                          PipelineConfig(detect_fps=fps, detect_size=size, pre_roll_s=30, queue_size=1000))
    pipe.start()
    assert pipe.finished.wait(60)
    frames = []
    while (f := pipe.frames.get(0)) is not None:
        frames.append(f)
    return frames


def test_portrait_clip_reaches_vision_unsquashed(tmp_path):
    clip = make_clip(tmp_path / "portrait.mp4", size="288x512", fps=10, seconds=2, gop=10)
    frames = _frames(clip, 2.0, size=(160, 90))
    assert frames and all(f.image.shape == (160, 90, 3) for f in frames)  # (h, w): 90x160, not 160x90
    assert frames[0].source_size == (288, 512)


def test_long_gop_file_is_analysed_from_its_first_second(tmp_path):
    # 19 s at 10 fps with a keyframe every 8 s: keyframe-only decoding from the start would see t=0, 8, 16 only.
    clip = make_clip(tmp_path / "long_gop.mp4", size="320x180", fps=10, seconds=19, gop=80)
    frames = _frames(clip, 2.0)
    times = [f.pts_s - frames[0].pts_s for f in frames]
    first_8s = [t for t in times if t < 8.0]
    assert len(first_8s) >= 14, times  # ~2 fps over the first GOP, not one frame
    assert max(b - a for a, b in zip(times, times[1:])) < 1.0  # no blind stretch anywhere in the file


def test_auto_mode_switches_to_keyframes_once_the_gop_allows():
    dec = FrameDecoder("c", 0.5, (160, 90))
    assert dec.mode == "all"  # until the GOP length is known, every frame is decoded (no blind start)
    dec.gop_s = None
    from tests.streams.test_parts import pkt

    for i in range(25):  # 10 fps, a keyframe every 10 packets (1 s GOP): keyframes suffice for 0.5 fps
        p = pkt(i / 10, i % 10 == 0)
        dec._track_gop(p)
    assert dec.mode == "keyframes"
