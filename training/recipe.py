"""The default-detector recipe: build data, train from scratch offline, evaluate, export ONNX, write the card."""
from __future__ import annotations

import json
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from training.model_card import write_card
from training.offline import offline_env
from training.recipe_data import SCENE_SOURCE, SEEDS, SOURCES, DataPlan, build_dataset
from training.recipe_eval import ratio_table, score_sources
from training.recipe_sources import load_extra_sources
from vigil.catalogue import PROFILE_CLASSES
from vigil.errors import TrainingError

MAX_ONNX_BYTES = 15 * 1024 * 1024


@dataclass(frozen=True)
class RecipeOptions:
    """One run of the recipe for one profile."""

    profile: str
    device: str = "cpu"  # "cpu" or a CUDA index such as "0"
    epochs: int = 40
    imgsz: int = 320
    subset: int | None = None  # at most N real training images per source; also shrinks the scenes
    resume: bool = False  # continue from work_dir/<profile>/train/weights/last.pt
    work_dir: Path = Path("runs/recipe")
    models_dir: Path = Path("models")
    datasets_dir: Path | None = None  # the shared labelled datasets (config shared_dir/datasets)
    threads: int = 0  # torch CPU threads (0: library default)
    batch: int = 16
    max_hours: float | None = None  # stop training after this long (ultralytics fits the schedule to it)
    train: bool = True  # False: evaluate/export/card from the existing checkpoint only
    scenes: dict[str, int] | None = None  # scenes per split (train/val/test); default per profile (SCENE_PLAN)
    scene_s: float | None = None  # seconds per scene; default per profile
    scene_fps: float | None = None  # training frames per scene second; default per profile
    common_keep: float = 0.2  # share of training scene frames kept that show no rare class (see recipe_data)
    init_from: Path | None = None  # start from this checkpoint (.pt) or shipped export (.onnx) of the same classes
    held_out: tuple[str, ...] | None = None  # sources never trained on, scored as unseen cameras (None: HELD_OUT)
    balance: bool = True  # repeat small sources towards the median source size
    reference: Path | None = None  # another model (e.g. the shipped .onnx) scored on the same sources, for the card
    eval_sizes: tuple[int, ...] = ()  # also score the held-out sources at these input sizes (the CPU cost beside)
    extra_datasets: tuple[Path, ...] = ()  # folders of extra source folders, each with a vigil-source.yaml
    scenes_teach: str = "unlabelled"  # what rendered scenes teach: "unlabelled" (classes no real source has) or "all"
    warmup_epochs: float | None = None  # learning-rate warm-up (None: ultralytics' default)
    # with train=False, the checkpoint evaluated and exported: "best" (ultralytics' pick by the validation split,
    # which is rendered scenes only) or "last" (the last epoch; when scenes teach only the classes no real source
    # labels, the scene split says little about the real classes the held-out sources judge)
    checkpoint: str = "best"
    # a people detector labelling person in the training images of sources that do not (recipe_data.DataPlan)
    teacher_people: Path | None = None
    teacher_conf: float = 0.5


@dataclass(frozen=True)
class RecipeResult:
    profile: str
    weights: Path
    onnx: Path
    card_md: Path
    card_json: Path
    metrics: dict = field(default_factory=dict)


# Default rendered scenes per profile: many short scenes beat a few long ones (more layouts, people, weather).
# Site scenes are long enough (150 s) for a dumping episode (a baseline, a truck stop, a pile that stays) to fit.
SCENE_PLAN = {
    "site": {"scenes": {"train": 40, "val": 3, "test": 4}, "scene_s": 150.0, "scene_fps": 0.4},
    "lab": {"scenes": {"train": 60, "val": 4, "test": 4}, "scene_s": 60.0, "scene_fps": 1.0},
}


def _data_plan(opts: RecipeOptions) -> DataPlan:
    default = SCENE_PLAN[opts.profile]
    extra = load_extra_sources(opts.extra_datasets, reserved=tuple(SOURCES[opts.profile])) if opts.extra_datasets \
        else ()
    tiny = opts.subset is not None and opts.subset < 50
    scenes = opts.scenes or ({"train": 1, "val": 1, "test": 1} if tiny else default["scenes"])
    scene_s = opts.scene_s or (20.0 if tiny else default["scene_s"])
    return DataPlan(opts.profile, opts.datasets_dir, real_per_source=opts.subset, scenes=scenes, scene_s=scene_s,
                    scene_fps=opts.scene_fps or default["scene_fps"], common_keep=opts.common_keep,
                    held_out=opts.held_out, balance=opts.balance, extra=extra, scenes_teach=opts.scenes_teach,
                    teacher_people=opts.teacher_people, teacher_conf=opts.teacher_conf)


def onnx_cpu_ms(onnx_path: Path, imgsz: int, threads: int = 2, runs: int = 20) -> float:
    """Median ONNX Runtime latency (ms) of one 3x imgsz x imgsz frame on this CPU."""
    from vision.backends.onnx import cpu_session

    sess = cpu_session(str(onnx_path), threads)  # configured as the service runs it
    x = np.random.default_rng(0).random((1, 3, imgsz, imgsz), dtype=np.float32)
    name = sess.get_inputs()[0].name
    for _ in range(3):
        sess.run(None, {name: x})
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        sess.run(None, {name: x})
        times.append((time.perf_counter() - t0) * 1000)
    return round(float(np.median(times)), 2)


def _train(opts: RecipeOptions, ultra, built, run_dir: Path) -> Path:
    last = run_dir / "train" / "weights" / "last.pt"
    best = run_dir / "train" / "weights" / "best.pt"
    if not opts.train:
        if opts.checkpoint not in ("best", "last"):
            raise TrainingError(f"checkpoint: expected 'best' or 'last', found {opts.checkpoint!r}")
        for p in ((best, last) if opts.checkpoint == "best" else (last,)):
            if p.exists():
                return p
        raise TrainingError(f"--no-train needs a checkpoint; expected {best if opts.checkpoint == 'best' else last}"
                            f"{' or ' + str(last) if opts.checkpoint == 'best' else ''}, found none")
    if opts.resume and last.exists():
        try:
            return ultra.train(built.data_yaml, run_dir, "train", epochs=opts.epochs, imgsz=opts.imgsz,
                               device=opts.device, batch=opts.batch, resume_from=last, masks=built.class_masks)
        except AssertionError:  # already finished: nothing to resume
            return best if best.exists() else last
    kwargs: dict = {"time": opts.max_hours} if opts.max_hours else {}
    if opts.warmup_epochs is not None:
        kwargs["overrides"] = {"warmup_epochs": opts.warmup_epochs}
    if opts.init_from is not None:
        if not Path(opts.init_from).is_file():
            raise TrainingError(f"--init-from expects a checkpoint (.pt) or a shipped export (.onnx) of this recipe; "
                                f"found no file at {opts.init_from}")
        init = Path(opts.init_from)
        if init.suffix == ".onnx":  # a shipped model: rebuild its trainable checkpoint first
            from training.onnx_init import checkpoint_from_onnx

            init = checkpoint_from_onnx(init, run_dir / "init" / f"{init.stem}.pt")
        kwargs["init_from"] = init
    return ultra.train(built.data_yaml, run_dir, "train", epochs=opts.epochs, imgsz=opts.imgsz, device=opts.device,
                       batch=opts.batch, resume_from=None, masks=built.class_masks, **kwargs)


def run_recipe(opts: RecipeOptions) -> RecipeResult:
    """Build data, train (or resume), evaluate on held-out real images and unseen scenes, export, write the card."""
    if opts.profile not in PROFILE_CLASSES:
        raise TrainingError(f"profile must be one of {', '.join(PROFILE_CLASSES)}; got {opts.profile!r}")
    work = Path(opts.work_dir)
    run_dir = work / opts.profile
    offline_env(work / "ultralytics_config", opts.threads)
    from training import recipe_ultra as ultra

    ultra.offline_settings(work.resolve())
    started = time.time()
    built = build_dataset(_data_plan(opts), run_dir / "data")
    ev = run_dir / "eval"
    reference = None
    if opts.reference is not None:  # scored before training: the run may overwrite the reference file
        reference = _score(ultra, Path(opts.reference), built, opts, ev, tag="reference", sizes=())
    weights = _train(opts, ultra, built, run_dir)
    train_s = time.time() - started
    metrics = {f"{kind}_heldout": ultra.validate(weights, built.root / f"data_test_{kind}.yaml", f"test_{kind}",
                                                 opts.imgsz, opts.device, ev) for kind in ("real", "scenes")}
    metrics["by_source"] = _score(ultra, weights, built, opts, ev, tag="model", sizes=opts.eval_sizes)
    if reference is not None:
        metrics["reference"] = {"model": str(opts.reference), **reference,
                                "heldout_vs_reference": ratio_table(metrics["by_source"]["heldout"]["per_class"],
                                                                    reference["heldout"]["per_class"])}
    exported = ultra.export_onnx(weights, opts.imgsz)
    if exported.stat().st_size > MAX_ONNX_BYTES:
        raise TrainingError(f"exported model {exported} is {exported.stat().st_size} bytes; the limit is "
                            f"{MAX_ONNX_BYTES}")
    Path(opts.models_dir).mkdir(parents=True, exist_ok=True)
    onnx = Path(opts.models_dir) / f"{opts.profile}.onnx"
    shutil.copyfile(exported, onnx)
    metrics["cpu_ms_onnx"] = onnx_cpu_ms(onnx, opts.imgsz)
    if opts.eval_sizes:
        metrics["cpu_ms_by_size"] = {str(sz): onnx_cpu_ms(onnx, sz) for sz in opts.eval_sizes}
    progress = {**_progress(run_dir / "train"), **_lineage(opts.init_from, opts.profile)}
    archs = sorted({a for r in progress.get("rounds", []) for a in r["archs"]} - {"yolo11n"})
    if archs:  # other architectures were trained beside this one (a GPU round): their CPU cost, for the card
        metrics["cpu_ms_by_arch"] = {"yolo11n": metrics["cpu_ms_onnx"], **{
            a: onnx_cpu_ms(ultra.untrained_onnx(a, opts.imgsz, run_dir / "arch"), opts.imgsz) for a in archs}}
    card_md, card_json = write_card(opts.models_dir, opts.profile, classes=PROFILE_CLASSES[opts.profile],
                                    options={**card_options(opts),
                                             "scene_classes": [PROFILE_CLASSES[opts.profile][i]
                                                               for i in built.class_masks.get(SCENE_SOURCE, ())]},
                                    data_counts=built.counts, metrics=metrics, progress=progress,
                                    scene_seeds={k: SEEDS[k] for k in SEEDS},
                                    train_seconds=round(train_s) if opts.train else progress.get(
                                        "trained_seconds", round(train_s)),
                                    onnx_bytes=onnx.stat().st_size, datasets_dir=opts.datasets_dir,
                                    extra_sources={e.name: e.card_info() for e in built.extra})
    return RecipeResult(opts.profile, weights, onnx, card_md, card_json, metrics)


def card_options(opts: RecipeOptions) -> dict:
    """The run's options as the card's JSON holds them: paths as text, in lists too (--extra-datasets)."""
    def plain(v):
        if isinstance(v, Path):
            return str(v)
        if isinstance(v, (tuple, list)):
            return [plain(x) for x in v]
        return v

    return {k: plain(v) for k, v in asdict(opts).items()}


def _score(ultra, weights: Path, built, opts: RecipeOptions, out: Path, *, tag: str, sizes: tuple[int, ...]) -> dict:
    """Per-source AP50: own validation splits and held-out sources at the training size, held-out at `sizes`."""
    kw = dict(device=opts.device, out=out)
    res = {"own": score_sources(ultra.validate, weights, built.own_eval, imgsz=opts.imgsz, tag=f"{tag}_own", **kw),
           "heldout": score_sources(ultra.validate, weights, built.heldout_eval, imgsz=opts.imgsz,
                                    tag=f"{tag}_heldout", **kw)}
    if sizes:
        res["heldout_by_size"] = {str(sz): score_sources(ultra.validate, weights, built.heldout_eval, imgsz=sz,
                                                         tag=f"{tag}_heldout", **kw)["per_class"] for sz in sizes}
    return res


def _progress(train_dir: Path) -> dict:
    """Epochs reached and the last validation row, from ultralytics' results.csv."""
    csv = train_dir / "results.csv"
    if not csv.exists():
        return {"epochs_completed": 0}
    rows = [r.split(",") for r in csv.read_text().strip().splitlines()]
    head = [h.strip() for h in rows[0]]
    last = dict(zip(head, (v.strip() for v in rows[-1])))
    args = train_dir / "args.yaml"
    planned = None
    if args.exists():
        for line in args.read_text().splitlines():
            if line.startswith("epochs:"):
                planned = line.split(":", 1)[1].strip()
    rounds = train_dir / "rounds.json"  # written by training.recipe_gpu adopt: the GPU rounds behind these weights
    trained = last.get("time")  # ultralytics' cumulative training seconds (a --no-train pass only evaluates)
    return {"epochs_completed": len(rows) - 1, "epochs_planned": planned,
            **({"trained_seconds": round(float(trained))} if trained else {}),
            "last_val_mAP50_scenes": last.get("metrics/mAP50(B)"), "results_csv": str(csv),
            **({"rounds": json.loads(rounds.read_text())} if rounds.exists() else {})}


def _lineage(init_from: Path | None, profile: str) -> dict:
    """A run continued from a shipped model (`--init-from models/site.onnx`) keeps what trained those weights:
    the card beside it (its training stages, GPU rounds and architecture comparison) goes into this card's
    ``progress["before"]``, oldest first, so a continuation's card still tells the whole history."""
    if init_from is None:
        return {}
    js = Path(init_from).with_suffix(".json")
    try:
        old = json.loads(js.read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(old, dict) or old.get("profile") != profile or not isinstance(old.get("progress"), dict):
        return {}
    p, o, m = old["progress"], old.get("training") or {}, old.get("metrics") or {}
    ref = m.get("reference") or {}  # the model the shipped one replaced, scored on the same held-out sources
    stage = {"model": str(init_from), "generated_at": old.get("generated_at"),
             "epochs_completed": p.get("epochs_completed"), "device": o.get("device"), "imgsz": o.get("imgsz"),
             "train_seconds": old.get("train_seconds"), "rounds": p.get("rounds", []),
             "cpu_ms_by_arch": m.get("cpu_ms_by_arch", {}),
             "heldout_ap50": ((m.get("by_source") or {}).get("heldout") or {}).get("per_class", {}),
             "reference": {"model": ref.get("model"), "heldout_ap50": (ref.get("heldout") or {}).get("per_class", {})}
             if ref else {}}
    return {"before": [*p.get("before", []), stage]}


def results_json(result: RecipeResult) -> str:
    return json.dumps({"profile": result.profile, "onnx": str(result.onnx), "metrics": result.metrics}, indent=1)
