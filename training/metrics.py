"""Detection metrics in numpy: box matching at IoU 0.50-0.95, mAP50, mAP50-95, per-class precision and recall."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

IOU_THRESHOLDS = np.linspace(0.5, 0.95, 10)


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU matrix (len(a), len(b)) of xyxy boxes."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(rb - lt, 0, None).prod(axis=2)
    area_a = (a[:, 2:] - a[:, :2]).prod(axis=1)
    area_b = (b[:, 2:] - b[:, :2]).prod(axis=1)
    return inter / (area_a[:, None] + area_b[None, :] - inter + 1e-9)


def match(pred_xyxy, pred_cls, gt_xyxy, gt_cls, pred_conf=None,
          thresholds: np.ndarray = IOU_THRESHOLDS) -> np.ndarray:
    """True positives (n_pred, len(thresholds)): COCO's greedy matching. Predictions, in descending confidence, each
    claim the best-overlapping ground-truth box of their class not yet claimed at that IoU threshold.

    (Matching the highest-IoU pairs first instead lets a low-confidence box with a slightly better fit steal the
    truth from a confident one, which then counts as a false positive: with the hundreds of low-confidence boxes an
    AP evaluation keeps, that scored one validation set 0.13 where COCO's rule gives 0.65.)
    """
    thresholds = np.asarray(thresholds, float)
    tp = np.zeros((len(pred_xyxy), len(thresholds)), bool)
    if len(pred_xyxy) == 0 or len(gt_xyxy) == 0:
        return tp
    iou = box_iou(np.asarray(gt_xyxy, float), np.asarray(pred_xyxy, float))
    iou = iou * (np.asarray(gt_cls)[:, None] == np.asarray(pred_cls)[None, :])
    order = (np.argsort(-np.asarray(pred_conf, float), kind="stable") if pred_conf is not None
             else np.arange(len(pred_xyxy)))
    claimed = np.zeros((len(gt_xyxy), len(thresholds)), bool)
    cols = np.arange(len(thresholds))
    for j in order:
        if iou[:, j].max() < thresholds.min():
            continue
        free = np.where(claimed, 0.0, iou[:, j, None])  # IoU with each unclaimed truth, per threshold
        k = free.argmax(axis=0)
        hit = free[k, cols] >= thresholds
        tp[j] = hit
        claimed[k[hit], cols[hit]] = True
    return tp


def average_precision(recall: np.ndarray, precision: np.ndarray) -> float:
    """Area under the precision envelope, 101-point interpolation (COCO)."""
    r = np.concatenate(([0.0], recall, [1.0]))
    p = np.concatenate(([1.0], precision, [0.0]))
    p = np.flip(np.maximum.accumulate(np.flip(p)))
    x = np.linspace(0, 1, 101)
    return float(np.trapezoid(np.interp(x, r, p), x))


@dataclass
class DetectionTally:
    """Accumulates predictions and ground truth image by image; `summary` gives the metrics."""

    classes: tuple[str, ...]
    pr_conf: float = 0.25
    # AP also at these (looser) IoU thresholds, reported as "ap_at_iou": a low AP50 with a high AP at IoU 0.1 is a
    # detector that finds the thing but boxes it otherwise than the labeller did (one box per flame or per fire)
    extra_iou: tuple[float, ...] = ()
    _tp: list = field(default_factory=list)
    _conf: list = field(default_factory=list)
    _cls: list = field(default_factory=list)
    _gt: list = field(default_factory=list)
    images: int = 0

    def add(self, pred_xyxy, pred_conf, pred_cls, gt_xyxy, gt_cls) -> None:
        self.images += 1
        self._tp.append(match(pred_xyxy, pred_cls, gt_xyxy, gt_cls, pred_conf, self._thresholds()))
        self._conf.append(np.asarray(pred_conf, float))
        self._cls.append(np.asarray(pred_cls, int))
        self._gt.append(np.asarray(gt_cls, int))

    def _thresholds(self) -> np.ndarray:
        return np.concatenate([IOU_THRESHOLDS, np.asarray(self.extra_iou, float)])

    def _class_result(self, c: int, tp, conf, cls, n_gt: int) -> dict:
        sel = cls == c
        tpc, confc = tp[sel], conf[sel]
        order = np.argsort(-confc, kind="stable")
        tpc, confc = tpc[order], confc[order]
        cum_tp = np.cumsum(tpc, axis=0)
        cum_fp = np.cumsum(~tpc, axis=0)
        recall = cum_tp / (n_gt + 1e-9)
        precision = cum_tp / (cum_tp + cum_fp + 1e-9)
        aps = [average_precision(recall[:, j], precision[:, j]) if len(tpc) else 0.0 for j in range(tp.shape[1])]
        kept = confc >= self.pr_conf
        tp50 = int(tpc[kept, 0].sum())
        coco = len(IOU_THRESHOLDS)
        out: dict[str, float | dict[str, float]] = {
            "instances": n_gt, "precision": round(tp50 / max(int(kept.sum()), 1), 4),
            "recall": round(tp50 / n_gt, 4), "ap50": round(aps[0], 4), "ap50_95": round(float(np.mean(aps[:coco])), 4)}
        if self.extra_iou:
            out["ap_at_iou"] = {f"{t:g}": round(ap, 4) for t, ap in zip(self.extra_iou, aps[coco:])}
        return out

    def summary(self) -> dict:
        tp = np.concatenate(self._tp) if self._tp else np.zeros((0, len(self._thresholds())), bool)
        conf = np.concatenate(self._conf) if self._conf else np.zeros(0)
        cls = np.concatenate(self._cls) if self._cls else np.zeros(0, int)
        gt = np.concatenate(self._gt) if self._gt else np.zeros(0, int)
        per_class: dict[str, dict | None] = {}
        for c, name in enumerate(self.classes):
            n_gt = int((gt == c).sum())
            per_class[name] = self._class_result(c, tp, conf, cls, n_gt) if n_gt else None
        present = [v for v in per_class.values() if v]
        return {"images": self.images, "instances": int(len(gt)),
                "map50": round(float(np.mean([v["ap50"] for v in present])), 4) if present else 0.0,
                "map50_95": round(float(np.mean([v["ap50_95"] for v in present])), 4) if present else 0.0,
                "per_class": per_class}
