"""The one JPEG encoder for frames that leave the pipeline (evidence, thumbnails, live view) and training images."""
from __future__ import annotations

import cv2
import numpy as np

from vigil.errors import InputError


def encode_jpeg(image: np.ndarray, quality: int = 92) -> bytes:
    """A BGR HxWx3 uint8 image as JPEG bytes at `quality` (1-100)."""
    if image is None or image.ndim != 3 or image.shape[2] != 3:
        shape = None if image is None else image.shape
        raise InputError(f"expected a BGR image HxWx3 to encode as JPEG, found shape {shape}")
    if not 1 <= quality <= 100:
        raise InputError(f"expected a JPEG quality in 1..100, found {quality}")
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise InputError(f"could not encode a {image.shape} image as JPEG")
    return buf.tobytes()
