"""Evidence file names and encoders for the api side; they live with the recorder in `streams.evidence`."""
from streams.evidence import (BEST_ANNOTATED, BEST_RAW, CLIP, JPEG, MP4, FrameFiles, draw_boxes, encode_jpeg,  # noqa: F401
                              evidence_meta, file_map, frame_files)
