"""The fire cues, on and off, over real clips assembled from the shared datasets: events raised and when.

Run: .venv/bin/python -m bench.bench_cues [--profile site] [--model models/site.onnx]
Prints one row per clip and setting. Not a pass/fail test (tests/streams/test_real_clips.py is).
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

CLIPS = {  # name -> (shared source, frame-name pattern, what a right answer is)
    "highway fire": ("adhyaksawp-indoor-fire-cctv", r"fireVid_009_mp4-(\d+)_jpg", "open_burning"),
    "clinic CCTV": ("adiandrianto-clinic-cctv-person", r"^2-(\d+)-_jpg", None),
}


def run(profile: str, model: Path | None) -> list[dict]:
    from datasets.clips import assemble_clip, frame_sequence
    from datasets.scenes.assets import default_datasets_dir
    from streams.analyze import analyze_source
    from vigil.config import VigilConfig
    from vigil.config_loader import LoadedConfig
    from vigil.shipped import shipped_detector

    datasets = default_datasets_dir()
    if datasets is None:
        raise SystemExit("the shared datasets (../shared/datasets) hold the frames of these clips; not found")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, (source, pattern, expected) in CLIPS.items():
            clip = assemble_clip(frame_sequence(datasets / source, pattern), Path(tmp) / f"{source}.mp4", fps=2.0)
            for cues in (True, False):
                det = dict(shipped_detector(profile) or {})
                if model is not None:
                    det["model"] = str(Path(model).resolve())
                det["cues"] = {"enabled": cues}
                cfg = VigilConfig.model_validate({"detectors": {profile: det}})
                loaded = LoadedConfig(config=cfg, path=None, base_dir=Path.cwd().resolve())
                events = list(analyze_source(str(clip), profile=profile, loaded=loaded))
                right = [e for e in events if e["rule"] == expected]
                rows.append({"clip": name, "cues": cues, "events": len(events),
                             "right": len(right), "false": len(events) - len(right),
                             "first_right_s": min((e["start"] for e in right), default=None),
                             "rules": sorted({e["rule"] for e in events})})
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="site")
    ap.add_argument("--model", type=Path, default=None, help="default: the shipped model of the profile")
    args = ap.parse_args(argv)
    rows = run(args.profile, args.model)
    print("| clip | fire cues | events | right | false | first right event (s) | rules |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['clip']} | {'on' if r['cues'] else 'off'} | {r['events']} | {r['right']} | {r['false']} | "
              f"{r['first_right_s'] if r['first_right_s'] is not None else '-'} | {', '.join(r['rules']) or '-'} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
