"""`vigil scene ...` and `vigil recipe ...`: render demo scenes, train/evaluate/export the default detectors."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def _datasets_dir(config: Optional[Path]) -> Optional[Path]:
    """The shared labelled datasets: `<shared_dir>/datasets` from the config, else next to the repository."""
    from datasets.scenes.assets import default_datasets_dir
    from vigil.config_loader import load_config
    from vigil.settings import Settings

    settings = Settings.from_env(config_path=config)
    if config is not None or settings.config_path.exists():
        p = load_config(settings.config_path, settings.env).shared_dir / "datasets"
        if p.is_dir():
            return p
    return default_datasets_dir()


def register(app: typer.Typer) -> None:
    scene_app = typer.Typer(help="Synthetic demo scenes with ground truth.", no_args_is_help=True)
    recipe_app = typer.Typer(help="Train, evaluate and export the default site/lab detectors.", no_args_is_help=True)
    app.add_typer(scene_app, name="scene")
    app.add_typer(recipe_app, name="recipe")

    @scene_app.command("render")
    def scene_render(profile: str = typer.Option(..., help="site or lab"),
                     seed: int = typer.Option(0, help="scene seed (same seed, same scene)"),
                     duration: float = typer.Option(120.0, help="seconds"),
                     out: Path = typer.Option(..., help="output folder"),
                     fps: float = typer.Option(10.0), no_labels: bool = typer.Option(False, "--no-labels"),
                     config: Optional[Path] = typer.Option(None, "--config", "-c")) -> None:
        """Write OUT/video.mp4 (H.264), OUT/labels/NNNNNN.txt (YOLO, unified ids) and OUT/ground_truth.json."""
        from datasets.scenes import render_scene

        res = render_scene(profile, seed, duration, out, fps=fps, labels=not no_labels,
                           datasets_dir=_datasets_dir(config))
        typer.echo(f"{res.video} ({len(res.violations)} ground-truth violations -> {res.ground_truth})")
        for v in res.violations:
            typer.echo(f"  {v['rule']}: {v['start']:.1f}-{v['end']:.1f} s")

    @recipe_app.command("train")
    def recipe_train(profile: str = typer.Option("all", help="site, lab or all"),
                     device: str = typer.Option("cpu", help="cpu or a CUDA index such as 0"),
                     epochs: int = typer.Option(40), imgsz: int = typer.Option(320),
                     subset: Optional[int] = typer.Option(None, help="use at most N training images per source"),
                     resume: bool = typer.Option(False, help="continue from the last checkpoint"),
                     work_dir: Path = typer.Option(Path("runs/recipe"), help="datasets, checkpoints, metrics"),
                     models_dir: Path = typer.Option(Path("models"), help="where the ONNX model and card go"),
                     threads: int = typer.Option(0, help="torch CPU threads (0: library default)"),
                     max_hours: Optional[float] = typer.Option(None, help="stop training after this long"),
                     no_train: bool = typer.Option(False, "--no-train", help="evaluate/export the checkpoint only"),
                     checkpoint: str = typer.Option(
                         "best", help="with --no-train, the checkpoint to evaluate and export: 'best' (by the "
                                      "rendered-scene validation split) or 'last' (the last epoch)"),
                     init_from: Optional[str] = typer.Option(
                         None, help="start from an earlier checkpoint of this recipe (fresh schedule); with "
                                    "--profile all, '{profile}' in the path names each profile's"),
                     train_scenes: Optional[int] = typer.Option(None, help="rendered training scenes (default per "
                                                                           "profile)"),
                     common_keep: float = typer.Option(0.2, min=0.0, max=1.0,
                                                       help="share of scene frames kept that show no rare class"),
                     held_out: Optional[list[str]] = typer.Option(
                         None, "--held-out", help="a source never trained on, scored as an unseen camera "
                                                  "(repeatable; default: the recipe's held-out sources; 'none': none)"),
                     no_balance: bool = typer.Option(False, "--no-balance", help="do not repeat small sources"),
                     reference: Optional[str] = typer.Option(
                         None, help="also score this model on the same sources, e.g. the shipped "
                                    "models/{profile}.onnx, before training overwrites it"),
                     eval_sizes: Optional[list[int]] = typer.Option(
                         None, "--eval-size", help="also score the held-out sources at this input size (repeatable)"),
                     extra_datasets: Optional[list[Path]] = typer.Option(
                         None, "--extra-datasets", help="a folder of extra source folders, each with a "
                                                        "vigil-source.yaml (repeatable; see training/recipe_sources)"),
                     scenes_teach: str = typer.Option(
                         "unlabelled", help="the classes rendered scenes teach: 'unlabelled' (those no real training "
                                            "source labels) or 'all'"),
                     warmup_epochs: Optional[float] = typer.Option(
                         None, min=0.0, help="learning-rate warm-up (default: ultralytics' 3 epochs; 0 for a short "
                                             "round continuing a trained model)"),
                     teacher_people: Optional[Path] = typer.Option(
                         None, help="a people detector (models/people.onnx) that labels person in the training "
                                    "images of sources that do not label it"),
                     teacher_conf: float = typer.Option(0.5, min=0.05, max=0.95,
                                                        help="the people detector's boxes kept as labels from"),
                     config: Optional[Path] = typer.Option(None, "--config", "-c")) -> None:
        """Build the data, train, evaluate (own splits, held-out sources, unseen scenes), export ONNX, write the
        card."""
        from training.recipe import SCENE_PLAN, RecipeOptions, run_recipe

        if checkpoint not in ("best", "last"):
            raise typer.BadParameter(f"expected best or last, found {checkpoint!r}", param_hint="--checkpoint")
        if teacher_people is not None and not teacher_people.is_file():
            raise typer.BadParameter(f"expected a people detector .onnx file, found nothing at {teacher_people}",
                                     param_hint="--teacher-people")
        if scenes_teach not in ("unlabelled", "all"):
            raise typer.BadParameter(f"expected unlabelled or all, found {scenes_teach!r}", param_hint="--scenes-teach")
        profiles = ("site", "lab") if profile == "all" else (profile,)
        for p in profiles:
            scenes = {**SCENE_PLAN.get(p, {}).get("scenes", {}), "train": train_scenes} if train_scenes else None
            opts = RecipeOptions(profile=p, device=device, epochs=epochs, imgsz=imgsz, subset=subset, resume=resume,
                                 work_dir=work_dir, models_dir=models_dir, datasets_dir=_datasets_dir(config),
                                 threads=threads, max_hours=max_hours, train=not no_train, scenes=scenes,
                                 common_keep=common_keep,
                                 init_from=Path(init_from.replace("{profile}", p)) if init_from else None,
                                 held_out=_held_out(held_out), balance=not no_balance,
                                 reference=Path(reference.replace("{profile}", p)) if reference else None,
                                 eval_sizes=tuple(eval_sizes or ()), extra_datasets=tuple(extra_datasets or ()),
                                 scenes_teach=scenes_teach, warmup_epochs=warmup_epochs, checkpoint=checkpoint,
                                 teacher_people=teacher_people, teacher_conf=teacher_conf)
            res = run_recipe(opts)
            typer.echo(f"{p}: {res.onnx} ({res.card_md})")

    @recipe_app.command("loso")
    def recipe_loso(profile: str = typer.Option(..., help="site or lab"),
                    cls: str = typer.Option(..., "--class", help="the class to judge, e.g. fire or person"),
                    source: Optional[list[str]] = typer.Option(None, "--source", help="only this fold (repeatable)"),
                    device: str = typer.Option("cpu"), epochs: int = typer.Option(40), imgsz: int = typer.Option(320),
                    subset: Optional[int] = typer.Option(None, help="at most N training images per source"),
                    max_hours: Optional[float] = typer.Option(None, help="time budget per fold"),
                    init_from: Optional[Path] = typer.Option(None, help="start each fold from this .pt or .onnx"),
                    work_dir: Path = typer.Option(Path("runs/recipe")), threads: int = typer.Option(0),
                    config: Optional[Path] = typer.Option(None, "--config", "-c")) -> None:
        """Leave-one-source-out: train without each source that labels CLASS, score CLASS on it."""
        from training.recipe import RecipeOptions
        from training.recipe_loso import leave_one_source_out, write_loso

        base = RecipeOptions(profile=profile, device=device, epochs=epochs, imgsz=imgsz, subset=subset,
                             work_dir=work_dir, datasets_dir=_datasets_dir(config), threads=threads,
                             max_hours=max_hours, init_from=init_from)
        res = leave_one_source_out(base, cls, tuple(source or ()))
        path = write_loso(res, Path(work_dir) / "loso" / f"{profile}_{cls}.json")
        for s, fold in res["folds"].items():
            typer.echo(f"  without {s}: {cls} AP50 on it {fold['heldout_ap50']}, on own splits {fold['own_ap50']}")
        typer.echo(f"{profile} {cls}: held-out-source AP50 {res['mean_heldout_ap50']} vs own-split "
                   f"{res['mean_own_ap50']} ({path})")

    @recipe_app.command("second-look")
    def recipe_second_look(task: str = typer.Option(..., help="load_state (site trucks), pile (site debris piles), "
                                                              "activity (lab people), gloves (lab hands) or "
                                                              "goggles (lab heads)"),
                           out: Optional[Path] = typer.Option(None, help="the ONNX file, card beside it (default: "
                                                                         "the task's file under models/)"),
                           crops: int = typer.Option(6000, min=60, help="rendered training crops"),
                           heldout: int = typer.Option(1200, min=30, help="held-out crops (another seed)"),
                           epochs: int = typer.Option(14, min=1), threads: int = typer.Option(1, min=1),
                           detector: Optional[Path] = typer.Option(
                               None, help="pile: hard negatives are this detector's pile boxes on pictures without "
                                          "a pile label (default: models/site.onnx); activity: its person boxes "
                                          "frame the real smokers (default: models/lab.onnx)"),
                           real_pictures: Optional[int] = typer.Option(
                               None, min=1, help="pile, activity: at most N real pictures per source and split (a "
                                                 "quick run)"),
                           config: Optional[Path] = typer.Option(None, "--config", "-c")) -> None:
        """Train a second-look classifier on rendered crops (and real ones where the task has them); export ONNX
        and write its card."""
        from training.second_look import TASKS, SecondLookOptions, train_second_look

        if task not in TASKS:
            raise typer.BadParameter(f"expected one of {', '.join(TASKS)}, found {task!r}", param_hint="--task")
        datasets = _datasets_dir(config)
        if detector is not None and not detector.is_file():
            found = "a folder" if detector.is_dir() else "nothing"
            raise typer.BadParameter(f"expected a detector .onnx file, found {found} at {detector}",
                                     param_hint="--detector")
        if TASKS[task].real is not None and datasets is None:
            raise typer.BadParameter(f"the {task} look trains on real labelled pictures too: expected the shared "
                                     "datasets (../shared/datasets, or shared_dir in the config), found none",
                                     param_hint="--config")
        card = train_second_look(SecondLookOptions(task=task, out=out, train_crops=crops, heldout_crops=heldout,
                                                   epochs=epochs, threads=threads,
                                                   datasets_dir=datasets, detector=detector,
                                                   real_per_source=real_pictures), log=typer.echo)
        path = out or TASKS[task].out
        typer.echo(f"{path}: held-out accuracy {card['heldout']['accuracy']:.3f}, "
                   f"{card['cpu_ms_per_crop']:.2f} ms per crop ({path.with_suffix('.md')})")

    @recipe_app.command("scenario")
    def recipe_scenario(profile: str = typer.Option(..., help="site or lab"),
                        model: Optional[Path] = typer.Option(None, help="default: models/<profile>.onnx"),
                        seeds: Optional[str] = typer.Option(None, help="comma-separated unseen scene seeds"),
                        duration: float = typer.Option(150.0, help="seconds per scene"),
                        work_dir: Path = typer.Option(Path("runs/scenario")),
                        card: bool = typer.Option(False, help="record the result in models/<profile>.json/.md"),
                        second_look: Optional[str] = typer.Option(
                            None, help="comma-separated second-look classifiers (default: the shipped one of the "
                                       "profile; 'none' runs the detector alone)"),
                        no_cues: bool = typer.Option(False, "--no-cues", help="without the fire/smoke cues"),
                        people: Optional[str] = typer.Option(
                            None, help="the people detector run beside (default: the profile's shipped one, "
                                       "models/people.onnx for lab; 'none' runs without)"),
                        config: Optional[Path] = typer.Option(None, "--config", "-c")) -> None:
        """Run the detector and the camera analyzer over unseen rendered scenes; compare with ground truth."""
        from dataclasses import replace

        from training.model_card import add_scenario
        from training.recipe_scenario import Beside, scenario_check

        model = model or Path("models") / f"{profile}.onnx"
        beside = replace(Beside.shipped(profile), cues=not no_cues)
        if second_look is not None:
            beside = replace(beside, second_look=tuple(Path(c) for c in second_look.split(",") if c and c != "none"))
        if people is not None:
            beside = replace(beside, people=None if people == "none" else Path(people))
        seed_list = tuple(int(s) for s in seeds.split(",")) if seeds else None
        res = scenario_check(profile, model, work_dir, seeds=seed_list, duration_s=duration,
                             datasets_dir=_datasets_dir(config), beside=beside)
        typer.echo(f"{profile}: recall {res['recall']} ({res['tp']}/{res['tp'] + res['miss']}), "
                   f"{res['fp']} false violations = {res['false_per_camera_hour']} per camera-hour")
        for rule, c in res["per_rule"].items():
            typer.echo(f"  {rule}: {c}")
        if card:
            from training.quantize import is_int8

            add_scenario(model.parent, profile, res, int8=is_int8(model))

    @recipe_app.command("quantize")
    def recipe_quantize(profile: str = typer.Option(..., help="site or lab"),
                        model: Optional[Path] = typer.Option(None, help="default: models/<profile>.onnx"),
                        out: Optional[Path] = typer.Option(None, help="default: beside the model, <name>.int8.onnx"),
                        per_source: int = typer.Option(40, min=1, help="calibration images per training source"),
                        card: bool = typer.Option(False, help="record the comparison in models/<profile>.json/.md"),
                        config: Optional[Path] = typer.Option(None, "--config", "-c")) -> None:
        """An int8 copy of a detector, calibrated on training sources; scored beside the float one on held-out
        sources and CPU per frame."""
        from training.model_card import add_int8
        from training.quantize import QuantizeOptions, calibration_images, compare, quantize_detector

        model = model or Path("models") / f"{profile}.onnx"
        out = out or model.with_name(f"{model.stem}.int8.onnx")
        datasets = _datasets_dir(config)
        if datasets is None:
            raise typer.BadParameter("expected the shared datasets (../shared/datasets) for calibration images, "
                                     "found none", param_hint="--config")
        opts = QuantizeOptions(per_source=per_source)
        quantize_detector(model, out, calibration_images(profile, datasets, per_source), imgsz=opts.imgsz)
        res = compare(profile, model, out, datasets, opts)
        for tag in ("fp32", "int8"):
            row = res[tag]
            typer.echo(f"{tag}: {row['cpu_ms']} ms CPU per frame, held-out AP50 {row.get('heldout_ap50')}")
        typer.echo(f"{out}: {res['speedup']}x faster")
        if card:
            add_int8(model.parent, profile, res)

    @recipe_app.command("people")
    def recipe_people(onnx: Optional[Path] = typer.Option(
                          None, help="the float ONNX conversion of NanoDet-g 416 (see training/people_model.py for "
                                     "the commands); without it the people detector at --out is scored as it is"),
                      out: Path = typer.Option(Path("models/people.onnx")),
                      version: str = typer.Option("nanodet-g-416-coco-int8", help="recorded in the evidence"),
                      extra_datasets: Optional[Path] = typer.Option(
                          None, help="a folder of extra sources (each with a vigil-source.yaml) also scored"),
                      unseen_datasets: Optional[Path] = typer.Option(
                          None, help="a folder of extra sources no detector trains on, scored as held out for "
                                     "every profile"),
                      card: bool = typer.Option(False, help="write models/people.json/.md beside --out"),
                      config: Optional[Path] = typer.Option(None, "--config", "-c")) -> None:
        """The people detector that runs beside the lab detector: int8 copy of a COCO NanoDet, scored for person
        AP50 per source alone and joined with each profile's detector."""
        from training.people_model import build_people_model, calibration_images, evaluate_people, write_card

        datasets = _datasets_dir(config)
        if datasets is None:
            raise typer.BadParameter("expected the shared datasets (../shared/datasets) for calibration and "
                                     "scoring, found none", param_hint="--config")
        if onnx is not None:
            build_people_model(onnx, out, calibration_images(datasets), version)
        elif not out.is_file():
            raise typer.BadParameter(f"expected a people detector to score at {out}, found nothing (or give "
                                     "--onnx to build one)", param_hint="--out")
        res = evaluate_people(out, out.parent, datasets, extra_datasets, unseen_datasets)
        for name, row in res["sources"].items():
            typer.echo(f"{name}: " + ", ".join(f"{k} {v:.3f}" for k, v in row.items() if k != "held_out_for"))
        if card:
            from training.model_card import add_people
            from vigil.shipped import SHIPPED

            typer.echo(str(write_card(out.parent, out, res)))
            for profile in (p for p, entry in SHIPPED.items() if entry.get("people") == out.name):
                typer.echo(str(add_people(out.parent, profile, res, out.name)[0]))


def _held_out(values: Optional[list[str]]) -> tuple[str, ...] | None:
    """--held-out values: None (the recipe's default), () for 'none', else the named sources."""
    if not values:
        return None
    return () if values == ["none"] else tuple(values)
