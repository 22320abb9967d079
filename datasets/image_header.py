"""An image's width and height from its PNG or JPEG header, read before anything decodes the pixels."""
from __future__ import annotations

import struct

from vigil.errors import DatasetError

# 40 megapixels (7,300 x 5,500) decode to ~120 MB of BGR; a 20000x20000 PNG of 1 MB would take 1.2 GB and more
MAX_PIXELS = 40_000_000
# JPEG start-of-frame markers (baseline, progressive, lossless, ...); C4, C8 and CC are other segments
_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def _png_size(data: bytes) -> tuple[int, int] | None:
    if len(data) < 24 or data[12:16] != b"IHDR":
        return None
    return struct.unpack(">II", data[16:24])


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    i = 2
    while i + 9 <= len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # markers without a length
            i += 2
            continue
        length = struct.unpack(">H", data[i + 2:i + 4])[0]
        if marker in _SOF:
            height, width = struct.unpack(">HH", data[i + 5:i + 9])
            return width, height
        if marker == 0xDA or length < 2:  # scan data before any frame header: not a JPEG we can size
            return None
        i += 2 + length
    return None


def header_size(data: bytes, what: str, max_pixels: int = MAX_PIXELS) -> tuple[int, int]:
    """(width, height) from the header; DatasetError naming `what` for a header that cannot be read, an empty
    image, or one of more than `max_pixels` pixels (refused before decoding, so it costs no memory)."""
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        size = _png_size(data)
    elif data[:3] == b"\xff\xd8\xff":
        size = _jpeg_size(data)
    else:
        raise DatasetError(f"{what}: expected a JPEG or PNG image, found neither signature")
    if size is None:
        raise DatasetError(f"{what}: expected a readable JPEG or PNG image, found a corrupt or truncated header")
    w, h = size
    if w <= 0 or h <= 0:
        raise DatasetError(f"{what}: expected an image with pixels, found {w}x{h}")
    if w * h > max_pixels:
        raise DatasetError(f"{what}: image is {w}x{h} ({w * h / 1e6:.0f} megapixels); the limit is "
                           f"{max_pixels / 1e6:.0f} megapixels")
    return w, h
