"""Builds a profile's training set: shared real images remapped to the profile's classes, plus rendered scenes."""
from __future__ import annotations

import functools
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import av
import numpy as np

from datasets.scenes import render_scene
from training.recipe_sources import ExtraSource, remap_label
from vigil.catalogue import PROFILE_CLASSES, UNIFIED_CLASSES, DetClass
from vigil.errors import DatasetError
from vision.jpeg import encode_jpeg

_F, _S, _P, _D = DetClass.FIRE.value, DetClass.SMOKE.value, DetClass.PERSON.value, DetClass.DEBRIS_PILE.value

# Which shared sources feed which profile, and the unified classes each source labels *completely* (its README's
# "Classes LABELLED" line). A source is only used for the classes it labels; the others are masked out of its loss
# (see recipe_ultra), except the classes it is known to be free of (ABSENT), which it teaches as hard negatives.
SOURCES: dict[str, dict[str, tuple[str, ...]]] = {
    "site": {
        "abonia1-fire-smoke-cctv": (_F, _S),
        "atanu0023-garbage-piles": (_D,),
        "luizfrra-person-overhead-cctv": (_P,),
        "adiandrianto-clinic-cctv-person": (_P,),
        "thanhngan13-indoor-fire": (_F,),
        "adhyaksawp-indoor-fire-cctv": (_F,),
        "nkeh-fire-smoke-mixed": (_F, _S),
        "limjongun-small-flames": (_F, _S),
        "yundongjun-indoor-person-flame": (_F, _P),
        "kalinchenko23-hotfire-fire-smoke": (_F, _S),
        "runtueee-construction-site-person": (_P,),
    },
    "lab": {
        "abonia1-fire-smoke-cctv": (_F, _S),
        "huyhoclaptrinh-smoking": (DetClass.SMOKING.value,),
        "luizfrra-person-overhead-cctv": (_P,),
        "adiandrianto-clinic-cctv-person": (_P,),
        "hinahanan-gloved-hands": (DetClass.GLOVES.value,),
        "thanhngan13-indoor-fire": (_F,),
        "adhyaksawp-indoor-fire-cctv": (_F,),
        "nkeh-fire-smoke-mixed": (_F, _S),
        "limjongun-small-flames": (_F, _S),
        "runtueee-construction-site-person": (_P,),
        "yundongjun-indoor-person-flame": (_F, _P),
        "kalinchenko23-hotfire-fire-smoke": (_F, _S),
    },
}
# Classes a source is known to be free of: indoor CCTV of a showroom and a clinic shows no fire or smoke. These
# images teach "a lamp, a window, a red sign is not a fire" (hard negatives) instead of being masked out.
ABSENT: dict[str, tuple[str, ...]] = {
    "luizfrra-person-overhead-cctv": (_F, _S),
    "adiandrianto-clinic-cctv-person": (_F, _S),
}
# Whole sources the shipped models never train on: the card's headline is the model's AP50 on them (footage from
# cameras it has never seen). One per class where the shared data has a second source; a class with one source
# only (debris_pile, gloves, smoking) has no held-out-source figure, and the card says so.
HELD_OUT: dict[str, tuple[str, ...]] = {
    "site": ("kalinchenko23-hotfire-fire-smoke", "runtueee-construction-site-person"),
    "lab": ("yundongjun-indoor-person-flame", "kalinchenko23-hotfire-fire-smoke"),
}
# Balanced sampling: a small source's training images are repeated (at most MAX_REPEAT times) towards the median
# source size, so one large source does not decide what the model learns.
MAX_REPEAT = 3
SCENE_SOURCE = "scenes"
# Scene seeds: training, validation (checkpoint choice) and test (the card's held-out scenes) never overlap.
SEEDS = {"train": 1000, "val": 5000, "test": 9000}
RARE_SHARE = 0.2


@dataclass(frozen=True)
class DataPlan:
    """How much data to build for one profile."""

    profile: str
    datasets_dir: Path | None
    real_per_source: int | None = None  # cap on real training images per source (None: all)
    scenes: dict[str, int] = field(default_factory=lambda: {"train": 12, "val": 3, "test": 3})
    scene_s: float = 90.0
    scene_fps: float = 1.0  # frames kept per scene second (rendered at this rate)
    size: tuple[int, int] = (640, 360)
    # Training frames that show only common classes (each in >= RARE_SHARE of the split's frames) are kept with
    # this probability; frames showing a rare class (a fire, a cigarette, an uncovered load) are always kept.
    common_keep: float = 1.0
    held_out: tuple[str, ...] | None = None  # sources kept out of training for evaluation (None: HELD_OUT)
    balance: bool = True  # repeat small sources' images towards the median source size (at most MAX_REPEAT)
    extra: tuple[ExtraSource, ...] = ()  # sources beside datasets_dir, each with a manifest (recipe_sources)
    # "unlabelled": rendered scenes teach only the classes no training source labels (their other boxes are masked
    # out of the classification loss, so the real classes are not pulled towards the renders); "all": every class
    scenes_teach: str = "unlabelled"
    # A people detector (vision.backends.nanodet, COCO-trained) that labels the people in the training images of
    # sources that do not label person: those images then teach person too (a flame, a lamp, a candle is not a
    # person) instead of being masked out of it. Its boxes at `teacher_conf` or more become person labels.
    teacher_people: Path | None = None
    teacher_conf: float = 0.5

    def held_out_sources(self) -> tuple[str, ...]:
        return HELD_OUT.get(self.profile, ()) if self.held_out is None else tuple(self.held_out)

    def sources(self) -> dict[str, tuple[str, ...]]:
        """Every source of this profile -> the unified classes it labels: SOURCES, then the extra sources."""
        return {**SOURCES[self.profile], **{e.name: e.labelled for e in self.extra if self.profile in e.profiles}}

    def training_sources(self) -> tuple[str, ...]:
        return tuple(s for s in self.sources() if s not in self.held_out_sources())

    def scene_classes(self) -> tuple[str, ...]:
        """The profile classes the rendered scenes teach (see `scenes_teach`)."""
        classes = PROFILE_CLASSES[self.profile]
        if self.scenes_teach == "all":
            return classes
        if self.scenes_teach != "unlabelled":
            raise ValueError(f"scenes_teach: expected 'unlabelled' or 'all', found {self.scenes_teach!r}")
        real = {c for s in self.training_sources() for c in self.sources()[s]}
        return tuple(c for c in classes if c not in real)

    def scene_mask(self) -> tuple[int, ...]:
        """`scene_classes` as the profile class ids the scene frames' loss keeps."""
        taught = self.scene_classes()
        return tuple(i for i, c in enumerate(PROFILE_CLASSES[self.profile]) if c in taught)

    def _extra(self, source: str) -> ExtraSource | None:
        return next((e for e in self.extra if e.name == source), None)

    def source_dir(self, source: str) -> Path:
        extra = self._extra(source)
        return extra.root if extra is not None else Path(self.datasets_dir or ".") / source

    def absent(self, source: str) -> tuple[str, ...]:
        extra = self._extra(source)
        return extra.absent if extra is not None else ABSENT.get(source, ())

    def teacher_labels_person(self, source: str) -> bool:
        """The people detector labels this source's training images (it labels no person and is not known free
        of them, and the profile has a person class)."""
        return (self.teacher_people is not None and _P in PROFILE_CLASSES[self.profile]
                and _P not in self.sources()[source] and _P not in self.absent(source))

    def taught(self, source: str) -> tuple[int, ...]:
        """The profile class ids a source's training images teach: those it labels, those it is known to be free
        of, and person where the people detector labels it."""
        taught = set(self.sources()[source]) | set(self.absent(source))
        if self.teacher_labels_person(source):
            taught.add(_P)
        return tuple(i for i, c in enumerate(PROFILE_CLASSES[self.profile]) if c in taught)

    def class_map(self, source: str) -> dict[int, str]:
        extra = self._extra(source)
        return extra.class_map if extra is not None else dict(enumerate(UNIFIED_CLASSES))


@dataclass(frozen=True)
class BuiltData:
    root: Path
    data_yaml: Path
    classes: tuple[str, ...]
    class_masks: dict[str, tuple[int, ...]]  # source name -> profile class ids it teaches (labelled or absent)
    counts: dict[str, dict[str, int]]  # split -> source -> images
    test_scenes: tuple[Path, ...]  # rendered test scene folders (video + labels + ground truth)
    # Per-source evaluation sets: "own" (a training source's val split) and "heldout" (a held-out source, all of
    # it): source -> (data yaml, the profile classes that source labels).
    own_eval: dict[str, tuple[Path, tuple[str, ...]]] = field(default_factory=dict)
    heldout_eval: dict[str, tuple[Path, tuple[str, ...]]] = field(default_factory=dict)
    extra: tuple[ExtraSource, ...] = ()  # the extra sources this profile used (for the card's credits)


def _remap(label_text: str, classes: tuple[str, ...], keep: tuple[str, ...]) -> str:
    """Unified-id label text -> `classes` ids, keeping only the classes in `keep`."""
    return remap_label(label_text, dict(enumerate(UNIFIED_CLASSES)), keep, classes)


def _link(src: Path, dst: Path) -> None:
    if dst.exists() or dst.is_symlink():
        dst.unlink()
    os.symlink(src.resolve(), dst)


@functools.lru_cache(maxsize=1)
def mislabelled() -> frozenset[str]:
    """Shared images whose labels are wrong (training/mislabelled.txt: `<source>/images/<split>/<file>`), left out
    of training and of every evaluation."""
    text = (Path(__file__).with_name("mislabelled.txt")).read_text()
    return frozenset(x.strip() for x in text.splitlines() if x.strip() and not x.startswith("#"))


def is_mislabelled(image: Path) -> bool:
    """`image` as <source>/images/<split>/<file> is on the mislabelled list."""
    return "/".join(image.parts[-4:]) in mislabelled()


def _source_images(plan: DataPlan, source: str, split: str, limit: int | None) -> list[Path]:
    src = plan.source_dir(source)
    images = [p for p in sorted((src / "images" / split).glob("*.jpg")) if not is_mislabelled(p)]
    if not images:
        raise DatasetError(f"expected images in {src / 'images' / split}; found none")
    if limit is not None and len(images) > limit:
        idx = np.random.default_rng(len(source)).choice(len(images), limit, replace=False)
        images = [images[i] for i in sorted(idx)]
    return images


@functools.lru_cache(maxsize=1)
def _teacher(path: Path, conf: float):
    from vision.backends.nanodet import NanoDetPeople

    return NanoDetPeople.load(path, conf=conf, threads=2)


def teacher_person_lines(plan: DataPlan, image: Path) -> list[str]:
    """YOLO label lines (profile class ids) for the people the teacher finds in `image`."""
    import cv2

    frame = cv2.imread(str(image))
    if frame is None:
        raise DatasetError(f"{image}: expected an image the people detector can read, found none")
    if plan.teacher_people is None:
        raise DatasetError("expected a people detector (teacher_people) in the plan, found none")
    h, w = frame.shape[:2]
    dets = _teacher(Path(plan.teacher_people).resolve(), plan.teacher_conf).detect([frame])[0]
    k = PROFILE_CLASSES[plan.profile].index(_P)
    return [f"{k} {(x0 + x1) / 2 / w:.6f} {(y0 + y1) / 2 / h:.6f} {(x1 - x0) / w:.6f} {(y1 - y0) / h:.6f}"
            for x0, y0, x1, y1 in np.clip(dets.xyxy, 0, [w, h, w, h])]


def _real_split(plan: DataPlan, root: Path, source: str, images: list[Path], dst_split: str,
                repeats: int = 1) -> int:
    """Link `images` of `source` into `root/images/dst_split` (`repeats` times) with their remapped labels (and, in
    the training split only, the people detector's person labels where the plan has one for this source; the
    evaluation splits keep the source's own truth)."""
    classes = PROFILE_CLASSES[plan.profile]
    src, keep, class_map = plan.source_dir(source), plan.sources()[source], plan.class_map(source)
    img_dir, lbl_dir = root / "images" / dst_split, root / "labels" / dst_split
    img_dir.mkdir(parents=True, exist_ok=True)
    lbl_dir.mkdir(parents=True, exist_ok=True)
    teach = dst_split == "train" and plan.teacher_labels_person(source)
    for img in images:
        lbl = src / "labels" / img.parent.name / (img.stem + ".txt")
        text = remap_label(lbl.read_text() if lbl.exists() else "", class_map, keep, classes)
        if teach:
            text = "".join(f"{line}\n" for line in [*text.splitlines(), *teacher_person_lines(plan, img)])
        for r in range(repeats):
            name = f"{source}__{img.stem}" + (f"__r{r}" if r else "")
            _link(img, img_dir / f"{name}.jpg")
            (lbl_dir / f"{name}.txt").write_text(text)
    return len(images) * repeats


def balance_repeats(sizes: dict[str, int], enabled: bool = True) -> dict[str, int]:
    """How often each source's training images are repeated: towards the median size, at most MAX_REPEAT."""
    if not enabled or not sizes:
        return {s: 1 for s in sizes}
    median = float(np.median(list(sizes.values())))
    return {s: int(min(MAX_REPEAT, max(1, round(median / max(n, 1))))) for s, n in sizes.items()}


def _scene_split(plan: DataPlan, root: Path, split: str, dst_split: str) -> tuple[int, list[Path]]:
    classes = PROFILE_CLASSES[plan.profile]
    img_dir, lbl_dir = root / "images" / dst_split, root / "labels" / dst_split
    img_dir.mkdir(parents=True, exist_ok=True)
    lbl_dir.mkdir(parents=True, exist_ok=True)
    folders, frames = [], []
    for k in range(plan.scenes.get(split, 0)):
        seed = SEEDS[split] + k + (0 if plan.profile == "site" else 500)
        folder = root / "scenes" / f"{plan.profile}_{seed}_{plan.scene_s:g}s_{plan.scene_fps:g}fps"
        if not (folder / "ground_truth.json").exists():
            render_scene(plan.profile, seed, plan.scene_s, folder, fps=plan.scene_fps, size=plan.size,
                         gop_s=4.0, datasets_dir=plan.datasets_dir)
        folders.append(folder)
        for i in range(len(list((folder / "labels").glob("*.txt")))):
            frames.append((seed, folder, i, _remap((folder / "labels" / f"{i:06d}.txt").read_text(), classes,
                                                   classes)))
    keep = _keep_frames([f[3] for f in frames], plan.common_keep if split == "train" else 1.0, len(classes))
    by_folder: dict[Path, dict[int, tuple[int, str]]] = {}
    for (seed, folder, i, text), kept in zip(frames, keep):
        if kept:
            by_folder.setdefault(folder, {})[i] = (seed, text)
    for folder, wanted in by_folder.items():
        with av.open(str(folder / "video.mp4"), timeout=(5, 5)) as c:
            for i, frame in enumerate(c.decode(c.streams.video[0])):
                if i not in wanted:
                    continue
                seed, text = wanted[i]
                name = f"{SCENE_SOURCE}__{plan.profile}_{seed}_{i:05d}"
                (img_dir / f"{name}.jpg").write_bytes(encode_jpeg(frame.to_ndarray(format="bgr24"), 88))
                (lbl_dir / f"{name}.txt").write_text(text)
    return sum(len(w) for w in by_folder.values()), folders


def _keep_frames(labels: list[str], common_keep: float, n_classes: int) -> list[bool]:
    """Which frames to keep: all that show a rare class, and `common_keep` of the rest (seeded, reproducible)."""
    if common_keep >= 1.0 or not labels:
        return [True] * len(labels)
    present = [{int(row.split()[0]) for row in text.splitlines() if row.strip()} for text in labels]
    share = np.zeros(n_classes)
    for classes in present:
        for c in classes:
            share[c] += 1
    rare = {c for c in range(n_classes) if share[c] / len(labels) < RARE_SHARE}
    draws = np.random.default_rng(len(labels)).random(len(labels))
    return [bool(classes & rare) or bool(d < common_keep) for classes, d in zip(present, draws)]


def build_dataset(plan: DataPlan, root: Path) -> BuiltData:
    """Write `root/{images,labels}/{train,val,test_real,test_scenes,eval_*}` and the data yamls (idempotent)."""
    if plan.datasets_dir is None or not Path(plan.datasets_dir).is_dir():
        raise DatasetError(f"expected the shared labelled datasets folder (config shared_dir/datasets); "
                           f"found {plan.datasets_dir!r}")
    unknown = set(plan.held_out_sources()) - set(plan.sources())
    if unknown:
        raise DatasetError(f"held-out sources must be {plan.profile} sources ({', '.join(plan.sources())}); "
                           f"found {', '.join(sorted(unknown))}")
    classes = PROFILE_CLASSES[plan.profile]
    root.mkdir(parents=True, exist_ok=True)
    for stale in ("images", "labels"):  # scenes/ (the rendered videos) is kept as a cache
        shutil.rmtree(root / stale, ignore_errors=True)
    for stale in root.glob("data_*.yaml"):
        stale.unlink()
    counts: dict[str, dict[str, int]] = {"train": {}, "val": {}, "test_real": {}, "test_scenes": {},
                                         "test_heldout_source": {}}
    names = "\n".join(f"  {i}: {c}" for i, c in enumerate(classes))

    def eval_yaml(split: str) -> Path:  # one yaml per evaluation split (ultralytics validates 'val')
        path = root / f"data_{split}.yaml"
        path.write_text(f"path: {root.resolve()}\ntrain: images/train\nval: images/{split}\nnames:\n{names}\n")
        return path

    train_images = {s: _source_images(plan, s, "train", plan.real_per_source) for s in plan.training_sources()}
    repeats = balance_repeats({s: len(v) for s, v in train_images.items()}, plan.balance)
    own_eval, heldout_eval = {}, {}
    for source, images in train_images.items():
        counts["train"][source] = _real_split(plan, root, source, images, "train", repeats[source])
        val = _source_images(plan, source, "val", None)
        counts["test_real"][source] = _real_split(plan, root, source, val, "test_real")
        _real_split(plan, root, source, val, f"eval_own_{source}")
        own_eval[source] = (eval_yaml(f"eval_own_{source}"), _labelled(plan, source))
    for source in plan.held_out_sources():
        every = _source_images(plan, source, "train", plan.real_per_source) + _source_images(plan, source, "val", None)
        counts["test_heldout_source"][source] = _real_split(plan, root, source, every, f"eval_heldout_{source}")
        heldout_eval[source] = (eval_yaml(f"eval_heldout_{source}"), _labelled(plan, source))
    counts["train"][SCENE_SOURCE], _ = _scene_split(plan, root, "train", "train")
    counts["val"][SCENE_SOURCE], _ = _scene_split(plan, root, "val", "val")
    counts["test_scenes"][SCENE_SOURCE], test_folders = _scene_split(plan, root, "test", "test_scenes")
    masks = {s: plan.taught(s) for s in plan.training_sources()}
    masks[SCENE_SOURCE] = plan.scene_mask()
    (root / "masks.json").write_text(json.dumps(masks))  # read by recipe_gpu.pack (extra sources' masks too)
    data_yaml = root / "data.yaml"
    data_yaml.write_text(f"path: {root.resolve()}\ntrain: images/train\nval: images/val\nnames:\n{names}\n")
    for split in ("test_real", "test_scenes"):
        eval_yaml(split)
    (root / "counts.json").write_text(json.dumps({**counts, "repeats": repeats}, indent=1))
    used = tuple(e for e in plan.extra if plan.profile in e.profiles)
    return BuiltData(root, data_yaml, classes, masks, counts, tuple(test_folders), own_eval, heldout_eval, used)


def _labelled(plan: DataPlan, source: str) -> tuple[str, ...]:
    return tuple(c for c in plan.sources()[source] if c in PROFILE_CLASSES[plan.profile])


def class_mask(profile: str, source: str, extra: tuple[ExtraSource, ...] = ()) -> tuple[int, ...]:
    """The profile class ids a source's images teach: those it labels, and those it is known to be free of."""
    return DataPlan(profile, None, extra=extra).taught(source)
