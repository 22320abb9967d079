"""`vigil dataset build|list|show|export|import`, `vigil train` and `vigil model list|promote|rollback|evaluate`."""
from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, List, Optional

import typer

ConfigOpt = typer.Option(None, "--config", "-c", help="config file (default: $VIGIL_CONFIG)")
UserOpt = typer.Option("cli", "--user", "-u", help="who does this (recorded in the audit log)")


def _services(config: Optional[Path]):
    from api.cli import open_services

    return open_services(config)


@contextmanager
def _bars() -> Iterator:
    """A progress callback `(stage, n)` drawing one bar per stage."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), transient=False) as bar:
        tasks: dict[str, int] = {}

        def progress(stage: str, n: int, total: int | None = None) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], advance=n, total=total if total is not None else bar.tasks[tasks[stage]].total)
        yield progress


def _role(services, user: str) -> str:
    from sqlalchemy import select

    from vigil.db.models import User

    with services.sessions() as s:
        row = s.scalars(select(User).where(User.username == user)).first()
    return row.role if row else "data_staff"


def _print_version(v) -> None:
    typer.echo(f"{v.name}  profile={v.profile}  images={v.stats.get('images')}  boxes={v.stats.get('boxes')}  "
               f"hash={v.content_hash[:12]}  parent={v.parent or '-'}  by={v.created_by or '-'}  "
               f"{v.created_at:%Y-%m-%d %H:%M}")


def _dataset_commands(ds: typer.Typer) -> None:
    @ds.command("build")
    def build(profile: str = typer.Option(..., help="site or lab"), name: Optional[str] = typer.Option(None),
              reviews: bool = typer.Option(True, help="include reviewed labels"),
              scene_seed: List[int] = typer.Option([], help="rendered demo scene seed (repeatable)"),
              scene_duration: float = typer.Option(20.0), include: List[str] = typer.Option([], help="other version"),
              user: str = UserOpt, config: Optional[Path] = ConfigOpt) -> None:
        """Build a new immutable version from reviewed labels, scenes and other versions."""
        from datasets.versions import BuildSpec, build_dataset

        services = _services(config)
        spec = BuildSpec(profile, name=name, reviews=reviews, scene_seeds=tuple(scene_seed),
                         scene_duration_s=scene_duration, include=tuple(include), created_by=user)
        with _bars() as progress:
            v = build_dataset(services.sessions, services.store, services.data_dir, spec, progress)
        typer.echo(("built " if v.created else "unchanged, same content as ") + v.name)
        _print_version(v)

    @ds.command("list")
    def list_(profile: Optional[str] = typer.Option(None), config: Optional[Path] = ConfigOpt) -> None:
        """Every dataset version, oldest first."""
        from datasets.versions import list_versions

        for v in list_versions(_services(config).sessions, profile):
            _print_version(v)

    @ds.command("show")
    def show(name: str, config: Optional[Path] = ConfigOpt) -> None:
        """A version's class statistics, splits and sources (JSON)."""
        from datasets.versions import get_version

        v = get_version(_services(config).sessions, name)
        typer.echo(json.dumps({"name": v.name, "profile": v.profile, "path": str(v.path), "hash": v.content_hash,
                               "parent": v.parent, "stats": v.stats, "sources": v.sources}, indent=1))


def _dataset_io_commands(ds: typer.Typer) -> None:
    @ds.command("export")
    def export(name: str, out: Path = typer.Option(..., help="zip file to write"),
               fmt: str = typer.Option("yolo", "--format", help="yolo or coco"),
               config: Optional[Path] = ConfigOpt) -> None:
        """Write a version as a YOLO or COCO zip (CVAT and Label Studio import these)."""
        from datasets.interchange import export_dataset

        with _bars() as progress:
            path = export_dataset(_services(config).sessions, name, out, fmt, progress)
        typer.echo(f"wrote {path}")

    @ds.command("import")
    def import_(archive: Path, profile: str = typer.Option(..., help="site or lab"),
                name: Optional[str] = typer.Option(None), fmt: Optional[str] = typer.Option(None, "--format"),
                user: str = UserOpt, config: Optional[Path] = ConfigOpt) -> None:
        """Check and import a YOLO or COCO zip (or folder); a bad archive is refused whole."""
        from datasets.interchange import import_dataset

        services = _services(config)
        with _bars() as progress:
            v = import_dataset(services.sessions, services.data_dir, archive, profile=profile, name=name, fmt=fmt,
                               created_by=user, progress=progress)
        typer.echo(("imported as " if v.created else "same content as existing ") + v.name)
        _print_version(v)


def _print_model(m) -> None:
    ev = (m.metrics.get("evaluation") or {}).get("candidate") or {}
    typer.echo(f"{m.id:>4}  {m.name} {m.version:<5} {m.profile:<4} {m.status:<9} mAP50={ev.get('map50', '-')}  "
               f"fv/h={ev.get('false_violations_per_hour', '-')}  dataset={m.dataset_version or '-'}  "
               f"by={m.trained_by or '-'}  promoted_by={m.promoted_by or '-'}")


def _model_commands(md: typer.Typer) -> None:
    @md.command("list")
    def list_(profile: Optional[str] = typer.Option(None), config: Optional[Path] = ConfigOpt) -> None:
        """Registered models with their status and headline metrics."""
        from training.registry import list_models

        for m in list_models(_services(config).sessions, profile):
            _print_model(m)

    @md.command("promote")
    def promote(model_id: int, force: bool = typer.Option(False, help="admin only: promote past the gate"),
                user: str = UserOpt, config: Optional[Path] = ConfigOpt) -> None:
        """Promote a candidate if the gate allows (running pipelines hot-reload it)."""
        from training.compare import make_evaluator, policy_and_options
        from training.registry import promote as do_promote

        services = _services(config)
        policy, options = policy_and_options(services.loaded)
        res = do_promote(services.sessions, model_id, user, role=_role(services, user), force=force, policy=policy,
                         evaluator=make_evaluator(services.sessions, services.data_dir, options))
        typer.echo(f"gate: {res.decision.reason}")
        if not res.promoted:
            typer.echo(f"refused: {res.model.version} was not promoted (an admin may --force)", err=True)
            raise typer.Exit(1)
        typer.echo(f"promoted {res.model.name} {res.model.version}" + (" (forced)" if res.forced else ""))

    @md.command("rollback")
    def rollback(profile: str = typer.Option(..., help="site or lab"), user: str = UserOpt,
                 config: Optional[Path] = ConfigOpt) -> None:
        """Return a profile to the model promoted before the current one."""
        from training.registry import rollback as do_rollback

        now = do_rollback(_services(config).sessions, profile, user)
        typer.echo(f"{profile} now runs {now.version if now else 'the config model'}")

    @md.command("evaluate")
    def evaluate(model_id: int, config: Optional[Path] = ConfigOpt) -> None:
        """Measure a model against the promoted one on its dataset's frozen test split (JSON)."""
        from training.compare import make_evaluator, policy_and_options
        from training.registry import get_model, promoted_model

        services = _services(config)
        _policy, options = policy_and_options(services.loaded)
        model = get_model(services.sessions, model_id)
        base = promoted_model(services.sessions, model.profile)
        base = None if base is not None and base.id == model.id else base
        cand, baseline = make_evaluator(services.sessions, services.data_dir, options)(model, base)
        typer.echo(json.dumps({"candidate": cand, "baseline": baseline,
                               "baseline_version": base.version if base else None}, indent=1))


def _train_command(app: typer.Typer) -> None:
    @app.command("train")
    def train(dataset: str = typer.Option(..., help="dataset version name or id"),
              epochs: int = typer.Option(30), imgsz: int = typer.Option(320), batch: int = typer.Option(16),
              device: str = typer.Option("cpu", help="cpu or a CUDA index such as 0"),
              base: str = typer.Option("", help="fine-tune: \"promoted\" or a .pt path (default: from scratch)"),
              lr0: Optional[float] = typer.Option(None, help="initial learning rate"),
              queue_only: bool = typer.Option(False, help="only queue it for the service's runner"),
              user: str = UserOpt, config: Optional[Path] = ConfigOpt) -> None:
        """Train on a dataset version, export ONNX, evaluate against the promoted model, register the candidate."""
        from training.compare import policy_and_options
        from training.jobs import run_job, submit_job

        services = _services(config)
        job = submit_job(services.sessions, dataset=dataset, created_by=user,
                         params={"epochs": epochs, "imgsz": imgsz, "batch": batch, "device": device,
                                 "base_weights": base, "lr0": lr0})
        typer.echo(f"job {job.id} queued ({job.profile}, dataset {job.dataset_version})")
        if queue_only:
            return
        _policy, options = policy_and_options(services.loaded)
        with _bars() as progress:
            def on_progress(rec) -> None:
                if rec.status == "running" and rec.epoch:
                    progress(f"job {rec.id} epochs", 1, rec.epochs)
            job = run_job(services.sessions, services.data_dir, job.id, options=options, on_progress=on_progress)
        if job.status != "done":
            typer.echo(f"job {job.id} failed: {job.error}", err=True)
            raise typer.Exit(1)
        ev = job.metrics["evaluation"]
        typer.echo(f"job {job.id} done: model {job.metrics['model']['version']} (id {job.model_version_id}); "
                   f"candidate {json.dumps({k: ev['candidate'].get(k) for k in ('map50', 'map50_95', 'false_violations_per_hour')})}"
                   f"; promoted {ev['baseline_version'] or 'none'}")


def register(app: typer.Typer) -> None:
    ds = typer.Typer(help="Dataset versions: build, list, show, export, import.", no_args_is_help=True)
    md = typer.Typer(help="The model registry: list, promote, roll back, evaluate.", no_args_is_help=True)
    app.add_typer(ds, name="dataset")
    app.add_typer(md, name="model")
    _dataset_commands(ds)
    _dataset_io_commands(ds)
    _model_commands(md)
    _train_command(app)
