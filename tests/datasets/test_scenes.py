"""Demo scenes: deterministic H.264 with the asked GOP, labels in unified ids, catalogue-true ground truth."""
from __future__ import annotations

import json
from pathlib import Path

import av
import numpy as np
import pytest

from datasets.scenes import demo_source_path, iter_frames, parse_demo_spec, render_scene
from datasets.scenes.base import Episode, cut_short, ground_truth
from vision.replay import match_events
from vigil.catalogue import PROFILE_CLASSES, RULES, DetClass, class_id
from vigil.errors import InputError


@pytest.fixture(scope="module")
def site_scene(tmp_path_factory):
    return render_scene("site", 5, 60, tmp_path_factory.mktemp("site"))


def _decode(path: Path) -> tuple[list[np.ndarray], list[bool], float]:
    frames, keys = [], []
    with av.open(str(path), timeout=(5, 5)) as c:
        s = c.streams.video[0]
        rate = float(s.average_rate)
        for f in c.decode(s):
            frames.append(f.to_ndarray(format="bgr24"))
            keys.append(bool(f.key_frame))
    return frames, keys, rate


def test_site_scene_video_labels_and_gop(site_scene):
    frames, keys, rate = _decode(site_scene.video)
    assert len(frames) == 600 and rate == pytest.approx(10)
    assert frames[0].shape == (360, 640, 3)
    assert [i for i, k in enumerate(keys) if k][:4] == [0, 10, 20, 30]  # GOP 1 s at 10 fps
    assert float(np.abs(frames[0].astype(int) - frames[300].astype(int)).mean()) > 1.0  # the scene changes
    label_files = sorted(site_scene.labels_dir.glob("*.txt"))
    assert len(label_files) == 600
    allowed = {class_id(c) for c in PROFILE_CLASSES["site"]}
    seen = set()
    for f in label_files:
        for row in f.read_text().split("\n"):
            if row:
                cid, *xywh = row.split()
                seen.add(int(cid))
                assert all(0.0 <= float(v) <= 1.0 for v in xywh), (f, row)
    assert seen <= allowed and len(seen) >= 3


def test_site_ground_truth_follows_catalogue_and_labels(site_scene):
    gt = json.loads(site_scene.ground_truth.read_text())
    assert gt == list(site_scene.violations) and gt, gt
    for v in gt:
        spec = RULES[v["rule"]]
        assert spec.profile == "site" and v["end"] - v["start"] >= spec.min_s
        # the rule's trigger classes are labelled in the frames of the interval
        ids = {class_id(c) for c in spec.classes}
        mid = int((v["start"] + min(v["end"], v["start"] + spec.min_s)) / 2 * 10)
        rows = (site_scene.labels_dir / f"{mid:06d}.txt").read_text().split("\n")
        assert any(r and int(r.split()[0]) in ids for r in rows), (v, rows)


def test_scene_is_deterministic_by_seed():
    a = list(iter_frames("lab", 11, 2.5))
    b = list(iter_frames("lab", 11, 2.5))
    c = list(iter_frames("lab", 12, 2.5))
    assert all(np.array_equal(x[1], y[1]) and x[2] == y[2] for x, y in zip(a, b))
    assert not np.array_equal(a[-1][1], c[-1][1])


def test_lab_scene_labels_lab_classes(tmp_path):
    res = render_scene("lab", 2, 30, tmp_path, fps=5)
    allowed = {class_id(c) for c in PROFILE_CLASSES["lab"]}
    seen = {int(r.split()[0]) for f in res.labels_dir.glob("*.txt") for r in f.read_text().split("\n") if r}
    assert seen <= allowed and class_id(DetClass.PERSON.value) in seen
    assert len(seen) >= 3
    for v in res.violations:
        assert RULES[v["rule"]].profile == "lab" and v["end"] - v["start"] >= RULES[v["rule"]].min_s


@pytest.mark.parametrize("episodes, expected", [
    ([Episode("open_burning", 1, 2)], []),  # shorter than min_s: no violation
    ([Episode("open_burning", 1, 5)], [("open_burning", 1, 5)]),
    ([Episode("open_burning", 1, 5), Episode("open_burning", 8, 12)], [("open_burning", 1, 12)]),  # within grace
    ([Episode("lab_no_coat", 1, 9, subject=1), Episode("lab_no_coat", 10, 20, subject=2)],
     [("lab_no_coat", 1, 9), ("lab_no_coat", 10, 20)]),  # two people stay two violations
    ([Episode("dumping", 20, 100)], [("dumping", 20, 60)]),  # clipped to the video
    ([Episode("dumping", 29, 100)], []),  # cut short by the video's end: 31 s is too close to min_s 30
])
def test_ground_truth_rules(episodes, expected):
    got = [(v["rule"], v["start"], v["end"]) for v in ground_truth(episodes, 60)]
    assert got == expected


def test_a_violation_the_video_cuts_short_is_optional_ground_truth():
    episodes = [Episode("dumping", 29, 100), Episode("open_burning", 1, 2), Episode("lab_no_coat", 54, 70, subject=3),
                Episode("dust", 10, 40)]
    assert [(v["rule"], v["start"], v["end"], v["optional"]) for v in cut_short(episodes, 60)] == [
        ("dumping", 29, 60, True), ("lab_no_coat", 54, 60, True)]  # not the short one the video holds whole
    assert [v["rule"] for v in ground_truth(episodes, 60)] == ["dust"]
    # scoring: an event on an optional violation is neither found nor false; missing it is no miss
    expected = list(ground_truth(episodes, 60)) + list(cut_short(episodes, 60))
    assert match_events([("dust", 11, 38), ("lab_no_coat", 55, 60)], expected) == (1, 0, 0)
    assert match_events([("dust", 11, 38)], expected) == (1, 0, 0)
    assert match_events([("lab_no_coat", 20, 30)], expected) == (0, 1, 1)  # elsewhere: false, and dust missed
    assert match_events([("dust", 11, 20), ("dust", 30, 38)], expected) == (1, 1, 0)  # one violation, two events


@pytest.mark.parametrize("spec, ok", [
    ("demo:site?seed=3&duration=2", True), ("demo:lab", True), ("demo:pond?seed=1", False),
    ("rtsp://x/y", False), ("demo:site?seed=x", False), ("demo:site?speed=2", False),
    ("demo:site?duration=0", False),
])
def test_parse_demo_spec(spec, ok):
    if ok:
        assert parse_demo_spec(spec).profile in ("site", "lab")
    else:
        with pytest.raises(InputError):
            parse_demo_spec(spec)


def test_demo_source_path_renders_once(tmp_path):
    p = demo_source_path("demo:lab?seed=4&duration=2", tmp_path)
    assert p.exists() and p.suffix == ".mp4"
    mtime = p.stat().st_mtime_ns
    assert demo_source_path("demo:lab?seed=4&duration=2", tmp_path) == p and p.stat().st_mtime_ns == mtime
    assert len(_decode(p)[0]) == 20


def test_cli_scene_render(tmp_path):
    import typer
    from typer.testing import CliRunner

    from api.cli_models import register

    app = typer.Typer()
    register(app)
    out = tmp_path / "scene"
    res = CliRunner().invoke(app, ["scene", "render", "--profile", "site", "--seed", "7", "--duration", "4",
                                   "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert (out / "video.mp4").stat().st_size > 0 and len(list((out / "labels").glob("*.txt"))) == 40
    gt = json.loads((out / "ground_truth.json").read_text())
    assert [e for e in gt if not e.get("optional")] == []  # 4 s: nothing lasts min_s yet
    assert all(e["end"] == 4.0 for e in gt)  # what is there is cut short by the end: optional
    bad = CliRunner().invoke(app, ["scene", "render", "--profile", "pond", "--out", str(out)])
    assert bad.exit_code != 0 and "pond" in str(bad.exception)
