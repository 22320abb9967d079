"""`demo:site?seed=N&duration=S` sources: parse the spec, render once into a cache folder, return the mp4."""
from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from datasets.scenes.render import PROFILES, render_scene
from vigil.errors import InputError

SCENE_VERSION = 3  # bump when the generator's output changes, so cached renders are not reused


@dataclass(frozen=True)
class DemoSpec:
    profile: str
    seed: int = 0
    duration: float = 120.0
    fps: float = 10.0


def parse_demo_spec(spec: str) -> DemoSpec:
    """`demo:<profile>?seed=N&duration=S&fps=F` (seed, duration, fps optional)."""
    parts = urlsplit(spec)
    if parts.scheme != "demo" or parts.path not in PROFILES:
        raise InputError(f"demo source must look like 'demo:site?seed=3&duration=120' (profile "
                         f"{' or '.join(PROFILES)}); got {spec!r}")
    q = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    unknown = set(q) - {"seed", "duration", "fps"}
    if unknown:
        raise InputError(f"demo source {spec!r}: unknown parameter(s) {', '.join(sorted(unknown))}; "
                         "expected seed, duration, fps")
    try:
        out = DemoSpec(parts.path, int(q.get("seed", 0)), float(q.get("duration", 120)), float(q.get("fps", 10)))
    except ValueError:
        raise InputError(f"demo source {spec!r}: seed must be an integer, duration and fps numbers") from None
    if not (0 < out.duration <= 3600 and 0 < out.fps <= 30):
        raise InputError(f"demo source {spec!r}: need 0 < duration <= 3600 s and 0 < fps <= 30")
    return out


def demo_source_path(spec: str, cache_dir: Path, *, datasets_dir: Path | None = None) -> Path:
    """Render the demo scene named by `spec` into `cache_dir` (once) and return its video path."""
    d = parse_demo_spec(spec)
    cache_dir = Path(cache_dir)
    folder = cache_dir / f"demo_{d.profile}_seed{d.seed}_{d.duration:g}s_{d.fps:g}fps_v{SCENE_VERSION}"
    video = folder / "video.mp4"
    if video.exists() and (folder / "ground_truth.json").exists():
        return video
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".render-", dir=cache_dir))
    try:
        render_scene(d.profile, d.seed, d.duration, tmp, fps=d.fps, labels=False, datasets_dir=datasets_dir)
        try:
            tmp.rename(folder)
        except OSError:  # another caller finished first: use theirs
            if not video.exists():
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return video
