"""Real test clips assembled from the frames of one real video in the shared datasets (their order kept)."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Sequence

import av
import cv2
import numpy as np

from vigil.errors import DatasetError


def frame_sequence(folder: Path, pattern: str) -> list[Path]:
    """Images under `folder/images/{train,val}` whose name matches `pattern` (one group: the frame number),
    ordered by that number: the frames a source sampled from one video."""
    rx = re.compile(pattern)
    found = []
    for split in ("train", "val"):
        for p in (Path(folder) / "images" / split).glob("*.jpg"):
            m = rx.search(p.name)
            if m:
                found.append((int(m.group(1)), p))
    if not found:
        raise DatasetError(f"expected frames matching {pattern!r} under {folder}/images; found none")
    return [p for _, p in sorted(found)]


def assemble_clip(images: Sequence[Path], out: Path, *, fps: float = 2.0, gop: int = 4,
                  size: tuple[int, int] | None = None) -> Path:
    """Encode `images` (in order) as an H.264 MP4 at `fps` with a keyframe every `gop` frames."""
    if not images:
        raise DatasetError("expected at least one image to assemble a clip; found none")
    first = cv2.imread(str(images[0]))
    if first is None:
        raise DatasetError(f"expected a readable image, found {images[0]}")
    w, h = size or (first.shape[1] // 2 * 2, first.shape[0] // 2 * 2)
    out.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(out), "w") as c:
        from fractions import Fraction

        stream = c.add_stream("libx264", rate=Fraction(fps).limit_denominator(1000))
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.options = {"g": str(gop), "keyint_min": str(gop), "bf": "0", "sc_threshold": "0", "preset": "fast"}
        for path in images:
            img = cv2.imread(str(path))
            if img is None:
                raise DatasetError(f"expected a readable image, found {path}")
            img = cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA)
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="bgr24")
            for pkt in stream.encode(frame):
                c.mux(pkt)
        for pkt in stream.encode():
            c.mux(pkt)
    return out
