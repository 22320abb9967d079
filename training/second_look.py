"""Second-look classifiers (see vision/second_look.py): small CNNs that look again, at full frame resolution, at
the boxes the detector finds. `load_state`: is a dump truck covered, uncovered or empty (site). `activity`: is a
person eating or drinking, smoking, or neither (lab). `gloves`: are a person's hands gloved or bare (lab).
`goggles`: does a person wear goggles (lab). `pile`: is a detector's debris-pile box a heap of waste (site).
Trained on crops drawn the way the demo scenes draw trucks, people and piles (datasets.scenes.truck_states /
person_acts / pile_crops), the pile look on real labelled garbage and other sources' pictures too, the activity look
on real smokers and real people too (datasets.scenes.activity_crops), exported to ONNX with a card beside it. The
tasks themselves (classes, crops, seeds, card texts) are in training/second_look_tasks.py."""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from training.second_look_tasks import TASKS, Task
from vigil.types import iso_utc, utcnow
from vision.second_look import TASK_CLASSES, CropClassifier, to_input

__all__ = ["TASKS", "Task", "SecondLookOptions", "train_second_look", "detector_boxes", "at_runtime", "write_card"]


@dataclass(frozen=True)
class SecondLookOptions:
    task: str = "load_state"
    out: Path | None = None  # default: the task's file under models/
    train_crops: int = 6000
    heldout_crops: int = 1200
    epochs: int = 14
    batch: int = 64
    lr: float = 2e-3
    seed: int = 0
    threads: int = 1
    datasets_dir: Path | None = None  # the shared datasets (tasks with real crops); None: rendered crops only
    detector: Path | None = None  # real tasks: hard negatives from this detector (default: the task's)
    real_per_source: int | None = None  # real tasks: at most this many pictures of each source per split


def build_net(n_classes: int, crop_hw: tuple[int, int]):
    """Four conv blocks; the last feature map (crop / 8) is pooled by 2 to keep a coarse layout (where on the
    truck the heap is, where the hand is), with plain pooling factors so the ONNX export is exact."""
    import torch.nn as nn

    pool = (max(1, crop_hw[0] // 16), max(1, crop_hw[1] // 16))

    def block(cin, cout):
        return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]

    return nn.Sequential(*block(3, 16), nn.MaxPool2d(2), *block(16, 32), nn.MaxPool2d(2), *block(32, 48),
                         nn.MaxPool2d(2), *block(48, 64), nn.AdaptiveAvgPool2d(pool), nn.Flatten(),
                         nn.Dropout(0.2), nn.Linear(64 * pool[0] * pool[1], n_classes))


def _augment(x, rng: np.random.Generator):
    """Flip (trucks drive both ways), brightness/contrast and a shift of a few pixels, on a (N, 3, H, W) batch."""
    import torch

    n = x.shape[0]
    flip = torch.from_numpy(rng.random(n) < 0.5)
    x = torch.where(flip[:, None, None, None], x.flip(3), x)
    gain = torch.from_numpy(rng.uniform(0.7, 1.3, (n, 1, 1, 1)).astype(np.float32))
    bias = torch.from_numpy(rng.uniform(-0.1, 0.1, (n, 1, 1, 1)).astype(np.float32))
    x = (x * gain + bias).clamp(0, 1)
    dy, dx = int(rng.integers(-3, 4)), int(rng.integers(-4, 5))
    return torch.roll(x, shifts=(dy, dx), dims=(2, 3))


def _accuracy(net, x, y, n_classes: int) -> tuple[float, np.ndarray]:
    import torch

    net.eval()
    with torch.no_grad():
        pred = torch.cat([net(x[i:i + 256]).argmax(1) for i in range(0, len(x), 256)]).numpy()
    confusion = np.zeros((n_classes, n_classes), int)
    np.add.at(confusion, (y.numpy(), pred), 1)
    return float((pred == y.numpy()).mean()), confusion


def train_second_look(opts: SecondLookOptions, log=print) -> dict:
    """Render crops, train, export ONNX, check the export on the held-out crops, write the card."""
    import torch

    if opts.task not in TASKS:
        raise ValueError(f"expected a task from {', '.join(TASKS)}, found {opts.task!r}")
    task = TASKS[opts.task]
    assert task.classes == TASK_CLASSES[opts.task]
    torch.manual_seed(opts.seed)
    torch.set_num_threads(opts.threads)
    rng = np.random.default_rng(opts.seed)
    t0 = time.perf_counter()
    if task.real is None:
        xa, ya = task.crops(task.train_seed, opts.train_crops)
        xh, yh = task.crops(task.heldout_seed, opts.heldout_crops)
        xr = yr = None
    else:
        if opts.datasets_dir is None or not Path(opts.datasets_dir).is_dir():
            raise ValueError(f"the {opts.task} look trains on real labelled pictures too: expected the shared "
                             f"datasets folder (../shared/datasets), found {opts.datasets_dir or 'none given'}")
        xa, ya = task.crops(task.train_seed, opts.train_crops, opts.datasets_dir, split="train")
        xh, yh = task.crops(task.heldout_seed, opts.heldout_crops, opts.datasets_dir, split="val")
        seen, detector = detector_boxes(opts.detector or task.detector, task.detector_class,
                                        min_score=task.detector_min_score)
        xt, yt = task.real(opts.datasets_dir, "train", task.train_seed, seen_by_detector=seen,
                           per_source=opts.real_per_source)
        xr, yr, kinds = task.real(opts.datasets_dir, "val", task.heldout_seed, seen_by_detector=seen, kinds=True,
                                  per_source=opts.real_per_source)
        real_train = {c: int((yt == k).sum()) for k, c in enumerate(task.classes)}
        xa, ya = np.concatenate([xa, xt]), np.concatenate([ya, yt])
    render_s = time.perf_counter() - t0
    x_train, y_train = torch.from_numpy(to_input(xa)), torch.from_numpy(ya)
    x_held, y_held = torch.from_numpy(to_input(xh)), torch.from_numpy(yh)
    net = build_net(len(task.classes), task.crop_hw)
    optim = torch.optim.AdamW(net.parameters(), lr=opts.lr, weight_decay=1e-4)
    steps = opts.epochs * max(1, len(x_train) // opts.batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(optim, max_lr=opts.lr, total_steps=steps)
    counts = np.bincount(ya, minlength=len(task.classes)).astype(np.float32)
    weight = torch.from_numpy(counts.sum() / np.maximum(counts, 1) / len(counts))  # rare classes count as much
    loss_fn = torch.nn.CrossEntropyLoss(weight=weight, label_smoothing=0.05)
    t1 = time.perf_counter()
    for epoch in range(opts.epochs):
        net.train()
        order = torch.from_numpy(rng.permutation(len(x_train)))
        total = 0.0
        for i in range(0, len(order) - opts.batch + 1, opts.batch):
            idx = order[i:i + opts.batch]
            loss = loss_fn(net(_augment(x_train[idx], rng)), y_train[idx])
            optim.zero_grad()
            loss.backward()
            optim.step()
            sched.step()
            total += float(loss.detach()) * len(idx)
        acc, _ = _accuracy(net, x_held, y_held, len(task.classes))
        log(f"epoch {epoch + 1}/{opts.epochs}: loss {total / len(x_train):.3f}, held-out accuracy {acc:.3f}")
    train_s = time.perf_counter() - t1
    acc, confusion = _accuracy(net, x_held, y_held, len(task.classes))
    out = Path(opts.out or task.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    _export(net, out, opts.task, task)
    onnx_acc, ms = _check_export(out, xh, yh)
    card: dict[str, Any] = {
            "model": out.name, "task": opts.task, "what": task.what, "looks_at": task.looks_at, "cue": task.cue,
            "classes": list(task.classes), "input": {"crop_hw": list(task.crop_hw), "layout": "NCHW RGB 0..1"},
            "data": {"train_crops": opts.train_crops, "train_seed": task.train_seed,
                     "heldout_crops": opts.heldout_crops, "heldout_seed": task.heldout_seed,
                     "train_counts": dict(zip(task.classes, counts.astype(int).tolist()))},
            "options": {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(opts).items()},
            "heldout": {"accuracy": round(acc, 4), "onnx_accuracy": round(onnx_acc, 4),
                        "recall": {c: round(float(confusion[k, k] / max(1, confusion[k].sum())), 4)
                                   for k, c in enumerate(task.classes)},
                        "confusion": {"rows_true_cols_predicted": list(task.classes), "counts": confusion.tolist()}},
            "cpu_ms_per_crop": round(ms, 3), "render_s": round(render_s, 1), "train_s": round(train_s, 1),
            "limits": task.limits, "trained_at": iso_utc(utcnow())}
    if xr is not None and yr is not None:
        card["data"]["real_train_counts"] = real_train
        card["data"]["real_sources"] = _real_sources(opts.datasets_dir)
        card["data"]["real_crops_detector"] = detector
        if len(xr):
            racc, rconf = _accuracy(net, torch.from_numpy(to_input(xr)), torch.from_numpy(yr), len(task.classes))
            card["heldout_real"] = {"accuracy": round(racc, 4), "crops": int(len(xr)),
                                    "recall": {c: round(float(rconf[k, k] / max(1, rconf[k].sum())), 4)
                                               for k, c in enumerate(task.classes)},
                                    "confusion": {"rows_true_cols_predicted": list(task.classes),
                                                  "counts": rconf.tolist()},
                                    "at_runtime": at_runtime(out, xr, yr, kinds)}
    write_card(out, card)
    return card


def detector_boxes(detector: Path | None, cls: str | None, *, min_score: float | None = None
                   ) -> tuple[Callable[[np.ndarray], np.ndarray] | None, dict | None]:
    """A picture -> (N, 4) boxes of `cls` the detector finds down to `min_score` (default: the cues' weak floor,
    what the second look gets to see), and what the card says of the detector; (None, None) for a task without
    one. A detector named but missing is an error: the look would train without its real crops."""
    if detector is None or cls is None:
        return None, None
    if not Path(detector).is_file():
        raise ValueError(f"expected the detector whose {cls} boxes are the hard negatives at {detector}, found "
                         f"{'a folder' if Path(detector).is_dir() else 'nothing'}")
    from vision.detector import file_sha256, load_detector
    from vision.fire_cues import CueSettings

    floor = CueSettings().weak_conf if min_score is None else min_score
    det = load_detector(detector, conf=floor, imgsz=320)

    def seen(img: np.ndarray) -> np.ndarray:
        d = det.detect([img])[0]
        return d.xyxy[np.asarray(d.data["class_name"], dtype=str) == cls]

    return seen, {"model": Path(detector).name, "sha256": file_sha256(detector)[:12], "class": cls,
                  "min_score": floor}


def at_runtime(path: Path, crops: np.ndarray, labels: np.ndarray, kinds: np.ndarray) -> dict:
    """What the exported look does at run time to each kind of real held-out crop (its task's outcomes: the pile
    look raises or drops a box, the activity look calls a person eating or smoking): the share of each."""
    clf = CropClassifier.load(path, threads=1)
    task = TASKS[clf.task]
    assert task.outcomes is not None, f"task {clf.task} has no real crops"
    done = task.outcomes(clf.probabilities(crops), clf.classes)
    out = {}
    for k, kind in enumerate(task.real_kinds):
        for label, name in enumerate(clf.classes):
            sel = (kinds == k) & (labels == label)
            if sel.any():
                out[f"{kind} {name}"] = {"crops": int(sel.sum()),
                                         **{o: round(float(v[sel].mean()), 3) for o, v in done.items()}}
    return out


def _real_sources(datasets_dir: Path | None) -> dict[str, dict[str, str]]:
    """The shared datasets' sources the real crops came from, as the card credits them."""
    from training.model_card import source_info

    if datasets_dir is None:
        return {}
    return {d.name: source_info(d.name, datasets_dir) for d in sorted(Path(datasets_dir).iterdir())
            if (d / "labels").is_dir()}


def _export(net, out: Path, task_name: str, task: Task) -> None:
    import onnx
    import torch

    net.eval()
    dummy = torch.zeros(1, 3, *task.crop_hw)
    torch.onnx.export(net, dummy, str(out), input_names=["crops"], output_names=["logits"], opset_version=17,
                      dynamic_axes={"crops": {0: "n"}, "logits": {0: "n"}}, dynamo=False)
    model = onnx.load(str(out))
    for k, v in {"vigil_task": task_name, "vigil_classes": ",".join(task.classes),
                 "vigil_crop_hw": ",".join(map(str, task.crop_hw))}.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = k, v
    onnx.save(model, str(out))


def _check_export(path: Path, crops: np.ndarray, loads: np.ndarray) -> tuple[float, float]:
    """Accuracy of the exported file through the runtime class, and its CPU ms per crop."""
    clf = CropClassifier.load(path, threads=1)
    t = time.perf_counter()
    probs = clf.probabilities(crops)
    ms = 1000 * (time.perf_counter() - t) / max(1, len(crops))
    return float((probs.argmax(1) == loads).mean()), ms


def write_card(onnx_path: Path, card: dict) -> tuple[Path, Path]:
    js, md = onnx_path.with_suffix(".json"), onnx_path.with_suffix(".md")
    js.write_text(json.dumps(card, indent=2) + "\n")
    h = card["heldout"]
    classes = card["classes"]
    rows = [f"| {t} | " + " | ".join(str(c) for c in row) + " |"
            for t, row in zip(classes, h["confusion"]["counts"])]
    real = card.get("heldout_real")
    task = TASKS[card["task"]]
    if "real_sources" in card["data"]:
        data = [f"- Data: {card['data']['train_crops']} rendered crops (seed {card['data']['train_seed']}), drawn "
                "the way the scenes draw them, boxes jittered like a detector's, and real crops of the shared "
                f"datasets' train split ({card['data']['real_train_counts']}): {task.real_text}; "
                f"{card['data']['train_counts']} in all.",
                "- Real sources (licence as stated; attribution): " + "; ".join(
                    f"{n} ({v['licence']}; {v['attribution']})" for n, v in card["data"]["real_sources"].items())
                + "."]
    else:
        data = [f"- Data: {card['data']['train_crops']} rendered crops (seed {card['data']['train_seed']}; per "
                f"class {card['data']['train_counts']}), drawn the way the demo scenes draw them, boxes jittered "
                "like a detector's. No real images: none with a usable licence were found."]
    real_rows = [] if not real else [
        f"- Held out, real ({task.real_heldout}, never trained on): {real['crops']} crops, accuracy "
        f"{real['accuracy']:.3f}; recall per class " + ", ".join(f"{c} {r:.3f}" for c, r in real["recall"].items())
        + " (confusion " + ", ".join(f"{t}: {row}" for t, row in zip(classes, real["confusion"]["counts"])) + ")."]
    hard = card["data"].get("real_crops_detector")
    if hard:
        data.append(f"- {task.detector_text.format(**hard)}.")
    if real and real.get("at_runtime"):
        real_rows.append(f"- At run time ({task.runtime_text}), on the real held-out crops: " + "; ".join(
            f"{k}: {v['crops']} crops, " + ", ".join(f"{100 * share:.1f} % {o}" for o, share in v.items()
                                                      if o != "crops")
            for k, v in real["at_runtime"].items()) + ".")
    md.write_text("\n".join([
        f"# {card['model']}: {card['what']}",
        "",
        f"A second-look classifier (vision/second_look.py, task `{card['task']}`): a small CNN (4 conv blocks, "
        f"~50k parameters) that looks at {card['looks_at']}, cut from the decoded frame at full resolution and "
        f"resized to {card['input']['crop_hw'][0]} x {card['input']['crop_hw'][1]}, and says "
        f"{', '.join(classes)}. At the detector's 320 px input the cue ({card.get('cue') or TASKS[card['task']].cue}) "
        "is a few pixels.",
        "",
        *data,
        f"- Held out: {card['data']['heldout_crops']} rendered crops from another seed "
        f"({card['data']['heldout_seed']}): "
        f"accuracy {h['accuracy']:.3f} (exported ONNX: {h['onnx_accuracy']:.3f}); recall per class "
        + ", ".join(f"{c} {r:.3f}" for c, r in h["recall"].items()) + ".",
        *real_rows,
        f"- CPU: {card['cpu_ms_per_crop']:.2f} ms per crop (batched, one thread). Trained in {card['train_s']:.0f} s "
        f"on this CPU ({card['options']['epochs']} epochs); rendering the crops took {card['render_s']:.0f} s.",
        f"- Limits: {card.get('limits') or TASKS[card['task']].limits}",
        "",
        "| true \\ predicted | " + " | ".join(classes) + " |",
        "|---|" + "---|" * len(classes),
        *rows,
        "",
        f"Made with `vigil recipe second-look --task {card['task']}` ({card['trained_at']}).",
        "",
    ]))
    return js, md
