"""Hostile dataset imports and labels: zip bombs of many small members, decompression-bomb images, non-finite or
out-of-frame coordinates, deep or mistyped COCO JSON; each is refused with one message naming the file."""
from __future__ import annotations

import json
import re
import struct
import zipfile
import zlib

import cv2
import numpy as np
import pytest

from datasets.archive import ArchiveLimits, safe_extract
from datasets.image_header import header_size
from datasets.interchange import import_dataset
from tests.datasets.conftest import data_env  # noqa: F401 - the fixture, reused
from tests.security.conftest import sign_in
from tests.web.seed import ROLE_USERS
from vigil.errors import DatasetError


def _jpeg(w: int = 60, h: int = 40) -> bytes:
    return cv2.imencode(".jpg", np.full((h, w, 3), 128, np.uint8))[1].tobytes()


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_bomb(w: int = 20_000, h: int = 20_000) -> bytes:
    """A valid 1-bit greyscale PNG: ~50 KB here, 1.2 GB once decoded to BGR."""
    row = b"\0" + b"\0" * ((w + 7) // 8)
    packer = zlib.compressobj(9)
    data = b"".join(packer.compress(row) for _ in range(h)) + packer.flush()
    ihdr = struct.pack(">IIBBBBB", w, h, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", data) + _png_chunk(b"IEND", b"")


def _zip(path, members: dict[str, bytes]):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def test_many_small_members_are_refused_before_anything_is_unpacked(tmp_path):
    just_under = (1 << 20) - 1  # each member below the per-member ratio floor
    archive = _zip(tmp_path / "many.zip", {f"labels/train/{i}.txt": b"\0" * just_under for i in range(40)})
    dest = tmp_path / "out"
    dest.mkdir()
    with pytest.raises(DatasetError, match=r"many\.zip: unpacks to \d+ bytes from \d+ \(\d+:1, a zip bomb\?\); "
                                           r"the limit is 100:1 for the whole archive"):
        safe_extract(archive, dest)
    assert list(dest.iterdir()) == []


@pytest.mark.parametrize("limits, members, why", [
    (ArchiveLimits(), {"a.bin": b"\0" * (3 << 20)}, "member 'a.bin' compresses"),
    (ArchiveLimits(max_total_bytes=1000), {f"{i}.txt": bytes(range(256)) * 2 for i in range(4)},
     "unpacks to 2048 bytes; the limit is 1000"),
    (ArchiveLimits(max_file_bytes=100), {"big.txt": bytes(range(256))}, "member 'big.txt' unpacks to 256 bytes"),
    (ArchiveLimits(max_files=3), {f"{i}.txt": b"x" for i in range(4)}, "holds 4 members; the limit is 3"),
], ids=["member-ratio", "total", "per-member", "count"])
def test_archive_limits(tmp_path, limits, members, why):
    dest = tmp_path / "out"
    dest.mkdir()
    with pytest.raises(DatasetError, match=why):
        safe_extract(_zip(tmp_path / "x.zip", members), dest, limits)
    assert list(dest.iterdir()) == []


def test_a_decompression_bomb_image_is_refused_by_its_header(data_env, tmp_path):
    archive = _zip(tmp_path / "bomb.zip", {"data.yaml": b"names: [fire, smoke]\n", "images/train/huge.png": png_bomb()})
    assert archive.stat().st_size < 200_000
    with pytest.raises(DatasetError, match=r"images/train/huge\.png: image is 20000x20000 \(400 megapixels\); "
                                           r"the limit is 40 megapixels"):
        import_dataset(data_env.sessions, data_env.data_dir, archive, profile="site")


@pytest.mark.parametrize("data, expected", [
    (_jpeg(61, 33), (61, 33)),
    (cv2.imencode(".jpg", np.zeros((9, 7, 3), np.uint8), [cv2.IMWRITE_JPEG_PROGRESSIVE, 1])[1].tobytes(), (7, 9)),
    (cv2.imencode(".png", np.zeros((5, 11, 3), np.uint8))[1].tobytes(), (11, 5)),
    (b"\x89PNG\r\n\x1a\n\0\0", "corrupt or truncated header"),
    (b"\xff\xd8\xff\xe0\0\x10JFIF", "corrupt or truncated header"),
    (png_bomb(0, 10)[:40], "expected an image with pixels, found 0x10"),
    (b"GIF89a....", "found neither signature"),
], ids=["jpeg", "progressive-jpeg", "png", "truncated-png", "jpeg-without-frame", "empty-png", "gif"])
def test_header_size(data, expected):
    if isinstance(expected, tuple):
        assert header_size(data, "x") == expected
    else:
        with pytest.raises(DatasetError, match=expected):
            header_size(data, "x")


YOLO_BAD = ["0 inf 0.5 0.2 0.2", "0 nan 0.5 0.2 0.2", "0 1e308 0.5 0.2 0.2", "0 0.5 0.5 Infinity 0.2",
            "0 -0.5 0.5 0.2 0.2", "0 0.5 0.5 -0.2 0.2"]


@pytest.mark.parametrize("line", YOLO_BAD)
def test_yolo_label_values_must_be_finite_and_inside_the_image(data_env, tmp_path, line):
    archive = _zip(tmp_path / "y.zip", {"data.yaml": b"names: [fire, smoke]\n", "images/train/a.jpg": _jpeg(),
                                        "labels/train/a.txt": line.encode() + b"\n"})
    with pytest.raises(DatasetError, match=r"labels/train/a\.txt line 1: box .* (out of range|empty)"):
        import_dataset(data_env.sessions, data_env.data_dir, archive, profile="site")


def _coco(bbox_json: str) -> bytes:
    return (b'{"images": [{"id": 1, "file_name": "a.jpg", "width": 60, "height": 40}], "categories": '
            b'[{"id": 1, "name": "fire"}], "annotations": [{"id": 7, "image_id": 1, "category_id": 1, "bbox": '
            + bbox_json.encode() + b"}]}")


@pytest.mark.parametrize("doc, why", [
    (_coco('"10,10,20,20"'), 'annotation 7: expected bbox \\[x, y, width, height\\] of four finite numbers, '
                             'found "10,10,20,20"'),
    (_coco('["10", 10, 20, 20]'), "annotation 7: expected bbox"),
    (_coco("[10, 10, Infinity, 20]"), "annotation 7: expected bbox"),
    (_coco("[10, 10, 20]"), "annotation 7: expected bbox"),
    (_coco("[true, 10, 20, 20]"), "annotation 7: expected bbox"),
    (_coco("[-30, 10, 20, 20]"), "out of range"),
    (_coco("[10, 10, 1e308, 20]"), "out of range"),
    (b'{"images": [{"id": 1}], "categories": [], "annotations": []}', "found missing key 'file_name'"),
    (b'{"images": [], "categories": [{"name": "fire"}], "annotations": []}', "found missing key 'id'"),
    (b'{"images": [], "categories": 5, "annotations": []}', "expected a COCO instances file"),
], ids=["string-bbox", "string-number", "infinite", "three-numbers", "bool", "negative", "huge", "no-file-name",
        "no-category-id", "categories-not-a-list"])
def test_coco_mistakes_are_messages_not_tracebacks(data_env, tmp_path, doc, why):
    archive = _zip(tmp_path / "c.zip", {"annotations/instances_train.json": doc, "images/a.jpg": _jpeg()})
    with pytest.raises(DatasetError, match=r"annotations/instances_train\.json[: ].*" + why):
        import_dataset(data_env.sessions, data_env.data_dir, archive, profile="site")


def test_deeply_nested_coco_json_is_a_message(data_env, tmp_path):
    deep = b'{"images": [], "categories": [], "annotations": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    archive = _zip(tmp_path / "d.zip", {"annotations/instances_train.json": deep, "images/a.jpg": _jpeg()})
    with pytest.raises(DatasetError, match=r"annotations/instances_train\.json: JSON nested too deeply"):
        import_dataset(data_env.sessions, data_env.data_dir, archive, profile="site")


def test_a_yaml_bomb_in_a_dataset_is_a_message(data_env, tmp_path):
    bomb = 'a0: &a0 "lol"\n' + "".join(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, 9))
    archive = _zip(tmp_path / "b.zip", {"data.yaml": (bomb + "names: [fire]\n").encode(),
                                        "images/train/a.jpg": _jpeg()})
    with pytest.raises(DatasetError, match=r"data\.yaml: not valid YAML at line \d+: more than 200000 values"):
        import_dataset(data_env.sessions, data_env.data_dir, archive, profile="site")


@pytest.mark.parametrize("box, why", [
    ({"x1": float("inf"), "y1": 1, "x2": 20, "y2": 20}, "boxes\\[0\\].x1: expected a pixel coordinate from 0 to"),
    ({"x1": 1, "y1": 1, "x2": 1e308, "y2": 20}, "boxes\\[0\\].x2: expected a pixel coordinate"),
    ({"x1": float("nan"), "y1": 1, "x2": 20, "y2": 20}, "boxes\\[0\\].x1: expected a pixel coordinate"),
    ({"x1": -100, "y1": -100, "x2": -50, "y2": -50}, "boxes\\[0\\].x1: expected a pixel coordinate"),
    ({"x1": 1, "y1": 1, "x2": 20, "y2": 99999}, "boxes\\[0\\].y2: expected a pixel coordinate"),
], ids=["infinite", "huge", "nan", "negative", "past-the-frame"])
def test_review_boxes_must_be_finite_and_inside_the_frame(client, web_services, box, why):
    from tests.web.seed import seed_alert

    aid = seed_alert(web_services, camera="gate")
    reviewer = sign_in(client.app, ROLE_USERS["reviewer"])
    body = json.dumps({"boxes": [{"class_name": "fire", **box}]})  # json.dumps writes Infinity and NaN as JS does
    for action in ("labels", "confirm"):
        r = reviewer.post(f"/api/alerts/{aid}/{action}", content=body, headers={"Content-Type": "application/json"})
        assert r.status_code == 422, r.text
        assert re.search(why, r.json()["detail"]), r.json()
    assert reviewer.get(f"/api/alerts/{aid}").json()["state"] == "new"
