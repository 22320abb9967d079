"""Text on frames in any language: OpenCV's Hershey fonts have ASCII only, so other text is drawn with PIL in a
CJK font from the system packages (fonts-noto-cjk, `make install`), never downloaded."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np

# (path, face index): the Simplified Chinese face of Noto Sans CJK first, then single-face fallbacks
FONT_CANDIDATES = (("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
                   ("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc", 2),
                   ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
                   ("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf", 0))


class NoFontError(RuntimeError):
    """No installed font can draw the text."""


def needs_font(*texts: str) -> bool:
    """True when some text has characters the Hershey fonts cannot draw."""
    return any(not t.isascii() for t in texts)


@lru_cache(maxsize=1)
def font_file() -> tuple[str, int]:
    """(path, face index) of the first installed CJK font."""
    for path, index in FONT_CANDIDATES:
        if Path(path).exists():
            return path, index
    raise NoFontError("no CJK font for overlay text: expected one of "
                      f"{', '.join(p for p, _ in FONT_CANDIDATES)} (apt-get install fonts-noto-cjk), found none")


@lru_cache(maxsize=8)
def _font(size: int):
    from PIL import ImageFont

    path, index = font_file()
    try:
        return ImageFont.truetype(path, size, index=index)
    except OSError:  # a file with fewer faces than expected
        return ImageFont.truetype(path, size)


@dataclass(frozen=True)
class Label:
    """A text in a filled box; (x, y) is the box's top-left corner; colours are BGR."""

    text: str
    x: int
    y: int
    background: tuple[int, int, int]
    colour: tuple[int, int, int] = (255, 255, 255)
    size: int = 16
    padding: int = 4


def text_size(text: str, size: int) -> tuple[int, int]:
    left, top, right, bottom = _font(size).getbbox(text)
    return right - left, bottom - top


def draw_labels(scene: np.ndarray, labels: Sequence[Label]) -> np.ndarray:
    """`scene` (BGR, changed in place and returned) with each label drawn in its box."""
    if not labels:
        return scene
    from PIL import Image, ImageDraw

    pil = Image.fromarray(np.ascontiguousarray(scene[:, :, ::-1]))
    draw = ImageDraw.Draw(pil)
    for lb in labels:
        font = _font(lb.size)
        left, top, right, bottom = font.getbbox(lb.text)
        w, h = right - left, bottom - top
        box = (lb.x, lb.y, lb.x + w + 2 * lb.padding, lb.y + h + 2 * lb.padding)
        draw.rectangle(box, fill=lb.background[::-1])
        draw.text((lb.x + lb.padding - left, lb.y + lb.padding - top), lb.text, font=font, fill=lb.colour[::-1])
    scene[:] = np.asarray(pil)[:, :, ::-1]
    return scene
