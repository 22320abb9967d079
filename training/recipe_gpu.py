"""One training round on a lent GPU machine that cannot see ../shared: pack here, train there, adopt here.

The GPU machine gets a copy of the repository and nothing beside it, within a size limit, and gives back a few small
files. So the round has three steps:

1. `pack` (here): the recipe's built training data for each profile (``runs/<work>/<profile>/data``, made by
   ``build_dataset``) becomes one folder of unique images, shrunk to the training size, with each profile's labels,
   splits, balanced repeats and per-source class masks in a manifest.
2. `round` (there): the manifests become ultralytics folders again; every (profile, architecture) pair trains in
   parallel on the one GPU for a fixed time, with the recipe's masked loss and augmentation, then each best
   checkpoint is scored per source (own validation split and held-out sources) at the training size. A watchdog
   copies what exists to the output before the command's time runs out.
3. `adopt` (here): the checkpoints and results.csv go where ``vigil recipe train --no-train`` expects them, which
   then evaluates at every size on the full-resolution images, exports ONNX and writes the model card.

Usage (the ``.gpu`` folder is git-ignored locally via .git/info/exclude and carried to the machine):
    python -m training.recipe_gpu build --work runs/gpu --datasets ../shared/datasets [--extra-datasets DIR] \
        [--teacher-people models/people.onnx]
    python -m training.recipe_gpu pack --work runs/gpu --out .gpu/pack --tar
    (there) tar xf .gpu/pack.tar -C /tmp/pk && python -m training.recipe_gpu round --pack /tmp/pk/pack --out $OUT
    python -m training.recipe_gpu adopt --from <round 1 files> --from <round 2 files> --work runs/gpu
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

SPLITS_TRAIN, SPLITS_VAL = ("train",), ("val", "test_real")  # val: scenes val + own real val (checkpoint choice)
NOT_PACKED = ("test_scenes",)  # scored here, on the rendered videos, by the recipe and `vigil recipe scenario`
EXT = ".webp"  # about half a JPEG's bytes at the same look: the whole carried tree has a size limit


def _base(stem: str) -> str:
    """The image a (possibly repeated) training file shows: 'src__stem__r2' -> 'src__stem' (file names sans suffix)."""
    head, sep, tail = stem.rpartition("__r")
    return head if sep and tail.isdigit() and "__" in head else stem


def build(work: Path, profiles: list[str], datasets_dir: Path, extra: tuple[Path, ...] = (),
          teacher_people: Path | None = None) -> dict:
    """The recipe's data for each profile, as `vigil recipe train` builds it (runs/<work>/<profile>/data);
    `extra`: folders of extra source folders with manifests (``--extra-datasets``); `teacher_people`: a people
    detector labelling person where a source does not (``--teacher-people``)."""
    from training.recipe import RecipeOptions, _data_plan
    from training.recipe_data import build_dataset

    return {p: build_dataset(_data_plan(RecipeOptions(profile=p, datasets_dir=datasets_dir, work_dir=work,
                                                      extra_datasets=extra, teacher_people=teacher_people)),
                             work / p / "data").counts
            for p in profiles}


def pack(work: Path, profiles: list[str], out: Path, side: int = 320, quality: int = 60) -> dict:
    """Write out/img (unique images, long side <= side) and out/manifest_<profile>.json (splits, labels, masks)."""
    import cv2

    from training.recipe_data import SCENE_SOURCE, DataPlan, class_mask
    from vigil.catalogue import PROFILE_CLASSES

    if out.exists():
        shutil.rmtree(out)
    (out / "img").mkdir(parents=True)
    written: dict[str, Path] = {}
    summary: dict[str, object] = {}
    for profile in profiles:
        root = work / profile / "data"
        if not (root / "data.yaml").exists():
            raise SystemExit(f"expected built data at {root} (run the recipe's build_dataset first); found none")
        labels: dict[str, str] = {}  # base name -> label text (in the manifest: one file, not thousands)
        splits: dict[str, list[str]] = {}
        for split_dir in sorted((root / "images").iterdir()):
            if split_dir.name in NOT_PACKED:
                continue
            names = []
            for img in sorted(split_dir.iterdir()):
                base = _base(img.stem)
                if base not in written:
                    frame = cv2.imread(str(img.resolve()))
                    if frame is None:
                        raise SystemExit(f"expected an image at {img}; found one that does not decode")
                    h, w = frame.shape[:2]
                    scale = side / max(h, w)
                    if scale < 1:
                        frame = cv2.resize(frame, (max(1, round(w * scale)), max(1, round(h * scale))),
                                           interpolation=cv2.INTER_AREA)
                    dst = out / "img" / f"{base}{EXT}"
                    cv2.imwrite(str(dst), frame, [cv2.IMWRITE_WEBP_QUALITY, quality])
                    written[base] = dst
                lbl = root / "labels" / split_dir.name / f"{img.stem}.txt"
                if base not in labels:
                    labels[base] = lbl.read_text() if lbl.exists() else ""
                names.append(img.stem)
            splits[split_dir.name] = names
        sources = {n.split("__", 1)[0] for n in splits.get("train", [])}
        built_masks = json.loads((root / "masks.json").read_text()) if (root / "masks.json").exists() else {}
        masks = {s: list(built_masks[s]) if s in built_masks else list(class_mask(profile, s))
                 for s in sources if s != SCENE_SOURCE}
        # a build without masks.json: what the recipe's default plan teaches
        masks[SCENE_SOURCE] = list(built_masks.get(SCENE_SOURCE, DataPlan(profile, None).scene_mask()))
        manifest = {"profile": profile, "names": list(PROFILE_CLASSES[profile]), "splits": splits, "masks": masks,
                    "labels": labels}
        (out / f"manifest_{profile}.json").write_text(json.dumps(manifest))
        summary[profile] = {k: len(v) for k, v in splits.items()}
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    summary["images"], summary["bytes"] = len(written), size
    return summary


def _unpack(pack_dir: Path, profile: str, dst: Path) -> tuple[Path, dict[str, Path], dict]:
    """Rebuild ultralytics folders (symlinks to the packed images) from a manifest; returns data.yaml, eval yamls."""
    manifest = json.loads((pack_dir / f"manifest_{profile}.json").read_text())
    names = "\n".join(f"  {i}: {c}" for i, c in enumerate(manifest["names"]))
    for split, stems in manifest["splits"].items():
        target = "train" if split in SPLITS_TRAIN else ("val" if split in SPLITS_VAL else split)
        (dst / "images" / target).mkdir(parents=True, exist_ok=True)
        (dst / "labels" / target).mkdir(parents=True, exist_ok=True)
        for stem in stems:
            base = _base(stem)
            img = dst / "images" / target / f"{stem}{EXT}"
            if not img.exists():
                os.symlink((pack_dir / "img" / f"{base}{EXT}").resolve(), img)
                (dst / "labels" / target / f"{stem}.txt").write_text(manifest["labels"][base])
    data = dst / "data.yaml"
    data.write_text(f"path: {dst.resolve()}\ntrain: images/train\nval: images/val\nnames:\n{names}\n")
    evals = {}
    for split in manifest["splits"]:
        if split.startswith("eval_"):
            y = dst / f"data_{split}.yaml"
            y.write_text(f"path: {dst.resolve()}\ntrain: images/train\nval: images/{split}\nnames:\n{names}\n")
            evals[split] = y
    return data, evals, manifest


def _child(args) -> None:
    """One (profile, arch) training and its per-source scores, in its own process."""
    from training.offline import offline_env

    work = Path(args.work)
    offline_env(work / "ultralytics_config", 0)
    from ultralytics.engine.trainer import BaseTrainer

    try:
        import polars  # noqa: F401
    except ImportError:  # not on the GPU machine's image: read results.csv with the standard library instead
        def read_results_csv(self):
            try:
                with open(self.csv, newline="") as f:
                    rows = list(csv.DictReader(f))
                return {k.strip(): [r[k] for r in rows] for k in (rows[0] if rows else {})}
            except OSError:
                return {}
        BaseTrainer.read_results_csv = read_results_csv  # type: ignore[method-assign]

    from training import recipe_ultra as ultra

    ultra.offline_settings(work.resolve())
    data, evals, manifest = _unpack(Path(args.pack), args.profile, work / args.profile / "data")  # done: links
    masks = {k: tuple(v) for k, v in manifest["masks"].items()}
    tag = f"{args.profile}_{args.arch}"
    weights = ultra.train(data, work / tag, "train", epochs=args.epochs, imgsz=args.imgsz, device=args.device,
                          batch=args.batch, resume_from=None, masks=masks, time=args.minutes / 60, arch=args.arch,
                          workers=args.workers, init_from=Path(args.init) if args.init else None,
                          overrides={"fraction": args.fraction, "warmup_epochs": 1 if args.init else 3})
    scores = {split: ultra.validate(weights, y, split, args.imgsz, args.device, work / tag / "eval")
              for split, y in sorted(evals.items())}
    (work / tag / "scores.json").write_text(json.dumps({"profile": args.profile, "arch": args.arch,
                                                        "imgsz": args.imgsz, "weights": str(weights),
                                                        "scores": scores}, indent=1))


def _collect(work: Path, out: Path, jobs: list[tuple[str, str]], ship_arch: str, log: dict) -> None:
    """Copy what exists now: the shipped architecture's checkpoint and results.csv, and every job's scores."""
    out.mkdir(parents=True, exist_ok=True)
    summary: dict[str, object] = {"jobs": log}
    for profile, arch in jobs:
        d = work / f"{profile}_{arch}"
        sc = d / "scores.json"
        summary[f"{profile}_{arch}"] = json.loads(sc.read_text()) if sc.exists() else None
        res = d / "train" / "results.csv"
        if res.exists():
            shutil.copyfile(res, out / f"{profile}_{arch}_results.csv")
        if arch == ship_arch:
            for name in ("best.pt", "last.pt"):
                w = d / "train" / "weights" / name
                if w.exists():
                    shutil.copyfile(w, out / f"{profile}.pt")
                    break
    (out / "summary.json").write_text(json.dumps(summary, indent=1))


def run_round(args) -> int:
    work, out = Path(args.work), Path(args.out)
    work.mkdir(parents=True, exist_ok=True)
    jobs = [(p, a) for p in args.profiles.split(",") for a in args.archs.split(",")]
    started = time.time()
    deadline = started + args.deadline_s
    for profile in dict.fromkeys(p for p, _ in jobs):  # once per profile, before its jobs share the folders
        _unpack(Path(args.pack), profile, work / profile / "data")
    procs = {}
    for profile, arch in jobs:
        workers = args.workers if arch == args.ship_arch else max(1, args.workers // 2)
        cmd = [sys.executable, "-u", "-m", "training.recipe_gpu", "child", "--pack", args.pack, "--work", str(work),
               "--profile", profile, "--arch", arch, "--minutes", str(args.minutes), "--imgsz", str(args.imgsz),
               "--batch", str(args.batch), "--workers", str(workers), "--device", args.device,
               "--epochs", str(args.epochs), "--fraction", str(args.fraction)]
        init = Path(args.init_dir) / f"{profile}_{arch}.pt" if args.init_dir else None
        if init is not None and init.exists():  # a further round: that checkpoint's weights, a fresh schedule
            cmd += ["--init", str(init)]
        logf = open(work / f"{profile}_{arch}.log", "w")
        procs[(profile, arch)] = (subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT), logf)
    log: dict[str, object] = {}
    while any(p.poll() is None for p, _ in procs.values()) and time.time() < deadline:
        time.sleep(5)
    for (profile, arch), (p, logf) in procs.items():
        if p.poll() is None:
            p.kill()
            log[f"{profile}_{arch}"] = "killed at the deadline"
        else:
            log[f"{profile}_{arch}"] = f"exit {p.returncode}"
        logf.close()
        tail = [ln for ln in (work / f"{profile}_{arch}.log").read_text(errors="replace").splitlines()
                if "\x1b[K" not in ln and "\r" not in ln][-8:]
        res = work / f"{profile}_{arch}" / "train" / "results.csv"
        rows = res.read_text().splitlines() if res.exists() else []
        print(f"--- {profile} {arch}: {log[f'{profile}_{arch}']}, {max(0, len(rows) - 1)} epochs\n"
              + "\n".join(rows[:1] + rows[-2:] + tail), flush=True)
    log["seconds"] = round(time.time() - started)
    _collect(work, out, jobs, args.ship_arch, log)
    return 0 if all(str(v).startswith("exit 0") for k, v in log.items() if k != "seconds") else 1


def _heldout_means(scores: dict) -> dict[str, float]:
    """Mean AP50 per class over a job's held-out sources (each source only on the classes it labels)."""
    per: dict[str, list[float]] = {}
    for split, res in scores.items():
        if split.startswith("eval_heldout_"):
            for c, m in res["per_class"].items():
                if m is not None:
                    per.setdefault(c, []).append(m["mAP50"])
    return {c: round(sum(v) / len(v), 4) for c, v in sorted(per.items())}


def adopt(rounds: list[Path], work: Path, profiles: list[str], ship_arch: str = "yolo11n") -> None:
    """Put the last round's checkpoints where `vigil recipe train --no-train --work-dir <work>` looks for them, with
    every round's results.csv (epochs numbered on) and rounds.json (per round: epochs, time, architectures' held-out
    AP50 on the packed images), which the model card shows."""
    for profile in profiles:
        pt = rounds[-1] / f"{profile}.pt"
        if not pt.exists():
            raise SystemExit(f"expected {pt} from the GPU round; found none")
        dst = work / profile / "train"
        (dst / "weights").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(pt, dst / "weights" / "best.pt")
        header: str | None = None
        rows: list[str] = []
        info: list[dict] = []
        for i, src in enumerate(rounds, 1):
            summary = json.loads((src / "summary.json").read_text())
            res = src / f"{profile}_{ship_arch}_results.csv"
            lines = res.read_text().strip().splitlines() if res.exists() else []
            if lines:
                header = header or lines[0]
                for ln in lines[1:]:
                    rows.append(",".join([str(len(rows) + 1), *ln.split(",")[1:]]))
            archs = {k.split("_", 1)[1]: {"heldout_ap50": _heldout_means(v["scores"]), "imgsz": v["imgsz"]}
                     for k, v in summary.items() if k.startswith(f"{profile}_") and v}
            info.append({"round": i, "epochs": max(0, len(lines) - 1), "seconds": summary["jobs"].get("seconds"),
                         "jobs": {k: v for k, v in summary["jobs"].items() if k.startswith(f"{profile}_")},
                         "archs": archs})
        if header:
            (dst / "results.csv").write_text("\n".join([header, *rows]) + "\n")
        (dst / "rounds.json").write_text(json.dumps(info, indent=1))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m training.recipe_gpu", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("build")
    d.add_argument("--work", default="runs/gpu")
    d.add_argument("--profiles", default="site,lab")
    d.add_argument("--datasets", default="../shared/datasets")
    d.add_argument("--extra-datasets", action="append", default=[],
                   help="a folder of extra source folders with vigil-source.yaml manifests (repeatable)")
    d.add_argument("--teacher-people", default=None,
                   help="a people detector (models/people.onnx) labelling person where a source does not")
    a = sub.add_parser("pack")
    a.add_argument("--work", default="runs/gpu")
    a.add_argument("--out", default=".gpu/pack")
    a.add_argument("--profiles", default="site,lab")
    a.add_argument("--side", type=int, default=320)
    a.add_argument("--quality", type=int, default=60)
    a.add_argument("--tar", action="store_true", help="leave only <out>.tar (what the GPU machine is sent)")
    for name in ("round", "child"):
        b = sub.add_parser(name)
        b.add_argument("--pack", required=True)
        b.add_argument("--work", default="/tmp/vigil_gpu")
        b.add_argument("--minutes", type=float, default=6.0)
        b.add_argument("--imgsz", type=int, default=320)
        b.add_argument("--batch", type=int, default=64)
        b.add_argument("--workers", type=int, default=5)
        b.add_argument("--device", default="0")
        b.add_argument("--fraction", type=float, default=1.0)  # of the training images (a dry run here)
        b.add_argument("--epochs", type=int, default=60)  # time mode re-fits the count after the first epoch
        if name == "round":
            b.add_argument("--out", required=True)
            b.add_argument("--profiles", default="site,lab")
            b.add_argument("--archs", default="yolo11n,yolo11s")
            b.add_argument("--ship-arch", default="yolo11n")
            b.add_argument("--deadline-s", type=float, default=500.0)
            b.add_argument("--init-dir", default=None)  # <profile>_<arch>.pt from an earlier round
        else:
            b.add_argument("--profile", required=True)
            b.add_argument("--arch", default="yolo11n")
            b.add_argument("--init", default=None)
    c = sub.add_parser("adopt")
    c.add_argument("--from", dest="src", action="append", required=True, help="a round's files (repeat, in order)")
    c.add_argument("--work", default="runs/gpu")
    c.add_argument("--profiles", default="site,lab")
    args = ap.parse_args(argv)
    if args.cmd == "build":
        print(json.dumps(build(Path(args.work), args.profiles.split(","), Path(args.datasets).resolve(),
                               tuple(Path(d).resolve() for d in args.extra_datasets),
                               Path(args.teacher_people).resolve() if args.teacher_people else None)))
        return 0
    if args.cmd == "pack":
        out = Path(args.out)
        print(json.dumps(pack(Path(args.work), args.profiles.split(","), out, args.side, args.quality)))
        if args.tar:  # one file: the upload limit counts every small file by its disk blocks
            import tarfile

            with tarfile.open(out.with_suffix(".tar"), "w") as tar:
                tar.add(out, arcname=out.name)
            shutil.rmtree(out)
        return 0
    if args.cmd == "child":
        _child(args)
        return 0
    if args.cmd == "round":
        return run_round(args)
    adopt([Path(x) for x in args.src], Path(args.work), args.profiles.split(","))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
