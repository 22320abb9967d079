"""`vigil analyze`: run the stream pipeline over a file or stream without the server, one JSON line per violation."""
from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Optional

import typer


def _resolver(cache_dir: Path):
    def resolve(spec: str) -> str:
        from datasets.scenes import demo_source_path

        return str(demo_source_path(spec, cache_dir))

    return resolve


def analyze(source: str = typer.Argument(..., help="video file, rtsp://... or demo:site|lab?seed=N"),
            profile: str = typer.Option("site", "--profile", help="detector profile: site or lab"),
            model: Optional[Path] = typer.Option(None, "--model", help="model file (.onnx or .pt)"),
            config: Optional[Path] = typer.Option(None, "--config", "-c", help="config file (rules, detectors)"),
            out: Optional[Path] = typer.Option(None, "--out", help="write evidence (frames, clip, manifest) here"),
            duration: Optional[float] = typer.Option(None, "--duration", min=0.0,
                                                     help="analyse at most this many seconds of the source"),
            imgsz: Optional[int] = typer.Option(None, "--imgsz", help="inference size (default: config or 320)")) -> None:
    """Analyse SOURCE and print one JSON line per violation (times in source seconds and UTC)."""
    from vigil.config_loader import load_config
    from vigil.settings import Settings
    from streams.analyze import analyze_source

    if profile not in ("site", "lab"):
        raise typer.BadParameter(f"expected site or lab, found {profile!r}", param_hint="--profile")
    loaded = load_config(config, Settings.from_env().env) if config is not None else None
    cache = (loaded.data_dir if loaded is not None else Path("data").resolve()) / "demo"

    def on_term(signum, frame):  # SIGTERM ends the run like Ctrl-C: the source is closed, partial clips dropped
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        for record in analyze_source(source, profile=profile, model=model, loaded=loaded, out_dir=out,
                                     duration=duration, resolve_source=_resolver(cache), imgsz=imgsz):
            typer.echo(json.dumps(record, ensure_ascii=False))
    except KeyboardInterrupt:
        raise typer.Exit(130)
    finally:
        signal.signal(signal.SIGTERM, previous)


def register(app: typer.Typer) -> None:
    """Add `analyze` to the `vigil` command line."""
    app.command("analyze")(analyze)
