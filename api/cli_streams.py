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
            second_look: Optional[list[Path]] = typer.Option(
                None, "--second-look", help="a second-look classifier, e.g. models/site_states.onnx (repeatable; "
                                            "default: the config detector's classifiers)"),
            config: Optional[Path] = typer.Option(None, "--config", "-c", help="config file (rules, detectors)"),
            out: Optional[Path] = typer.Option(None, "--out", help="write evidence (frames, clip, manifest) here"),
            duration: Optional[float] = typer.Option(None, "--duration", min=0.0,
                                                     help="analyse at most this many seconds of the source"),
            imgsz: Optional[int] = typer.Option(None, "--imgsz", help="inference size (default: config or 320)"),
            ground_truth: Optional[Path] = typer.Option(
                None, "--ground-truth", help="a rendered scene's ground_truth.json: also print recall and false "
                                             "violations per hour against it (to stderr)")) -> None:
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

    expected = _read_ground_truth(ground_truth) if ground_truth is not None else None
    previous = signal.signal(signal.SIGTERM, on_term)
    found: list[tuple[str, float, float]] = []
    try:
        for record in analyze_source(source, profile=profile, model=model, loaded=loaded, out_dir=out,
                                     duration=duration, resolve_source=_resolver(cache), imgsz=imgsz,
                                     second_look=second_look or None):
            found.append((record["rule"], record["start"], record["end"]))
            typer.echo(json.dumps(record, ensure_ascii=False))
    except KeyboardInterrupt:
        raise typer.Exit(130)
    finally:
        signal.signal(signal.SIGTERM, previous)
    if expected is not None:
        typer.echo(json.dumps(_score(found, expected, _media_seconds(source, duration))), err=True)


def _read_ground_truth(path: Path) -> list[dict]:
    """The scene's violations [{"rule", "start", "end"}, ...], or a clear error."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise typer.BadParameter(f"expected a readable JSON file, found {type(e).__name__}: {e}",
                                 param_hint="--ground-truth") from None
    ok = isinstance(data, list) and all(isinstance(e, dict) and isinstance(e.get("rule"), str) and
                                        all(isinstance(e.get(k), (int, float)) for k in ("start", "end"))
                                        for e in data)
    if not ok:
        raise typer.BadParameter('expected a JSON list of {"rule": str, "start": seconds, "end": seconds}, found '
                                 f"{json.dumps(data)[:80]}", param_hint="--ground-truth")
    return data


def _media_seconds(source: str, duration: float | None) -> float | None:
    """How long the analysed file is (at most `duration`); None for a stream."""
    import av

    try:
        with av.open(source, timeout=(5, 5)) as c:
            total = float(c.duration) / av.time_base if c.duration else None
    except (av.error.FFmpegError, OSError):
        return duration
    return min(total, duration) if total is not None and duration is not None else (total or duration)


def _score(found: list[tuple[str, float, float]], expected: list[dict], seconds: float | None) -> dict:
    from vision.replay import match_events

    tp, fp, miss = match_events(found, expected)
    required = sum(1 for e in expected if not e.get("optional"))
    return {"ground_truth": {"expected": required, "found": len(found), "tp": tp, "fp": fp, "miss": miss,
                             "recall": round(tp / max(1, tp + miss), 3), "seconds": seconds,
                             "false_per_hour": round(fp * 3600 / seconds, 2) if seconds else None}}


def register(app: typer.Typer) -> None:
    """Add `analyze` to the `vigil` command line."""
    app.command("analyze")(analyze)
