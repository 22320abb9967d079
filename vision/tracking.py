"""Per-camera tracking: ByteTrack (the `trackers` package), one tracker per class, ids unique per camera."""
from __future__ import annotations

import numpy as np
import supervision as sv


class CameraTracker:
    """Gives each detection a stable `tracker_id` (>= 1) across detector frames of one camera.

    One ByteTrack per class keeps a person and the coat they wear (nearly the same box) on separate
    tracks. Times are media seconds, so tracks survive the gaps the motion gate leaves.
    """

    def __init__(self, *, lost_s: float = 10.0, fps: float = 2.0, activation: float = 0.3):
        self.lost_s, self.fps, self.activation = lost_s, fps, activation
        self._trackers: dict[int, object] = {}
        self._ids: dict[tuple[int, int], int] = {}
        self._next_id = 1
        self._last_t: float | None = None

    def _tracker(self, class_id: int):
        if class_id not in self._trackers:
            from trackers import ByteTrackTracker

            self._trackers[class_id] = ByteTrackTracker(
                lost_track_buffer=max(int(round(self.lost_s * 30)), 1), frame_rate=self.fps,
                track_activation_threshold=self.activation, high_conf_det_threshold=self.activation,
                minimum_consecutive_frames=1, minimum_iou_threshold=0.1)
        return self._trackers[class_id]

    def _global_id(self, class_id: int, local: int) -> int:
        if local < 0:
            return -1
        key = (class_id, local)
        if key not in self._ids:
            self._ids[key] = self._next_id
            self._next_id += 1
        return self._ids[key]

    def update(self, dets: sv.Detections, t_s: float) -> sv.Detections:
        """Tracked copy of `dets` (order may change); detections no track took keep tracker_id -1."""
        if self._last_t is not None and t_s <= self._last_t:
            t_s = self._last_t + 1e-3  # the tracker needs strictly increasing times
        self._last_t = t_s
        class_ids = set(int(c) for c in dets.class_id) if len(dets) else set()
        parts = []
        for cid in sorted(class_ids | set(self._trackers)):
            sub = dets[dets.class_id == cid] if len(dets) else dets
            tracked = self._tracker(cid).update(sub, timestamp=t_s)
            if len(tracked):
                tracked.tracker_id = np.array([self._global_id(cid, int(t)) for t in tracked.tracker_id], int)
                parts.append(tracked)
        if not parts:
            empty = sv.Detections.empty()
            empty.tracker_id = np.empty(0, int)
            empty.data["class_name"] = np.array([], dtype=str)
            return empty
        return sv.Detections.merge(parts)
