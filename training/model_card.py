"""Model cards for the default detectors: `models/<profile>.md` (for people) and `models/<profile>.json`."""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Mapping

from vigil.errors import TrainingError
from vigil.types import iso_utc, utcnow

# Attribution the licences ask for (CC BY 4.0 needs it; the MIT grant is quoted as stated).
DATA_SOURCES: Mapping[str, dict[str, str]] = {
    "abonia1-fire-smoke-cctv": {
        "what": "CCTV/news/phone frames of fire and smoke (fire, smoke)",
        "licence": "CC BY 4.0",
        "attribution": "fire dataset by Roboflow user custom-thxhn (Roboflow Universe custom-thxhn/fire-wrpgm v8, "
                       "https://universe.roboflow.com/custom-thxhn/fire-wrpgm/dataset/8), via "
                       "github.com/Abonia1/YOLOv8-Fire-and-Smoke-Detection",
    },
    "atanu0023-garbage-piles": {
        "what": "street photos of dumped garbage (debris_pile)",
        "licence": "CC BY 4.0",
        "attribution": "公开数据集111 by Roboflow user project-shb1t (Roboflow Universe project-shb1t/-111-ehcfr v2, "
                       "https://universe.roboflow.com/project-shb1t/-111-ehcfr/dataset/2), via "
                       "github.com/ATANU0023/garbage_detection_dataset",
    },
    "huyhoclaptrinh-smoking": {
        "what": "photos of people smoking, boxes on cigarette/hand/mouth (smoking)",
        "licence": "MIT (repository LICENSE, Copyright (c) 2025 Huyhoclaptrinh); images via Roboflow, "
                   "third-party web photos: review before redistributing",
        "attribution": "github.com/Huyhoclaptrinh/smoking-detection (possibly Roboflow Universe "
                       "smoking-detection-2debl/my-first-project-n8hld, CC BY 4.0)",
    },
    "luizfrra-person-overhead-cctv": {
        "what": "overhead CCTV frames of one showroom (person)",
        "licence": "CC BY 4.0",
        "attribution": "PERSON MODEL TCC dataset by Roboflow user tcc-pivr8 (Roboflow Universe tcc-pivr8/"
                       "person-model-tcc v1, https://universe.roboflow.com/tcc-pivr8/person-model-tcc), via "
                       "github.com/LuizFrra/person_detector_yolo",
    },
    "scenes": {
        "what": "frames of Vigil's own rendered demo scenes (datasets.scenes), every profile class",
        "licence": "Apache-2.0 (this project); debris crops pasted from the CC BY 4.0 garbage set above",
        "attribution": "Vigil",
    },
}


def source_info(name: str, datasets_dir: Path | None) -> dict[str, str]:
    """What the card says of a source: the table above, else its README in the shared datasets (attribution line,
    licence as stated)."""
    if name in DATA_SOURCES:
        return dict(DATA_SOURCES[name])
    readme = Path(datasets_dir) / name / "README.md" if datasets_dir else None
    text = readme.read_text(errors="replace") if readme is not None and readme.is_file() else ""
    attribution = re.search(r"Attribution line:\s*(.+)", text)
    licence = re.search(r"licen[cs]e:\s*([A-Za-z][^\n)]*)", text, re.IGNORECASE)
    what = text.splitlines()[2].strip() if len(text.splitlines()) > 2 else ""
    return {"what": what[:160], "licence": licence.group(1).strip().strip("*") if licence else "?",
            "attribution": attribution.group(1).strip() if attribution else f"{name} (see ../shared/datasets)"}


DEFAULT_LIMITS = (
    "No real labelled images with a usable licence were found for dust, dump_truck, dump_truck_uncovered, lab_coat, "
    "goggles or eating_drinking: those classes are learned from rendered scenes only and will transfer poorly to "
    "real cameras until reviewed real footage is added. Gloves come from one close-up set (not CCTV).",
    "debris_pile, gloves and smoking have one real source each, so no held-out-source figure exists for them; "
    "their own-split figure flatters them. Real smoking images box hand/mouth, never the whole person.",
    "yolo11n trained from scratch (no pretrained weights can be had here) in two short timed rounds on a lent GPU "
    "(about 12 minutes of training in all): the held-out-source figures were still rising between the rounds, so "
    "more epochs are the cheapest next gain. yolo11s, trained beside it in round 1 on the same data and time, scores "
    "higher on held-out sources (the round table) at about three times the CPU per frame; yolo11n ships because "
    "the product's promise is many cameras on a 2-core box, and a longer yolo11n round closed most of the gap.",
    "Held-out-source AP50 is still far below what an agency needs (targets: fire 0.6, smoke 0.5, person 0.6): "
    "treat detections on a new camera as leads for review, keep the fire/smoke colour-and-change cues on, and add "
    "reviewed footage from each new camera to the training data.",
)


def fmt(v) -> str:
    return "n/a" if v is None else (f"{v:.3f}" if isinstance(v, float) else str(v))


def _metrics_table(block: dict, classes: tuple[str, ...]) -> list[str]:
    lines = ["| class | precision | recall | mAP50 |", "|---|---|---|---|"]
    for c in classes:
        m = block.get("per_class", {}).get(c)
        if m is None:
            lines.append(f"| {c} | n/a | n/a | n/a (no instances in this split) |")
        else:
            lines.append(f"| {c} | {fmt(m['precision'])} | {fmt(m['recall'])} | {fmt(m['mAP50'])} |")
    lines.append(f"| **all present** | | | **{fmt(block.get('mAP50'))}** (mAP50-95 {fmt(block.get('mAP50_95'))}) |")
    return lines


def render_markdown(card: dict) -> str:
    classes = tuple(card["classes"])
    p = card["progress"]
    o = card["training"]
    out = [f"# Vigil default detector: `{card['profile']}`", "",
           f"Generated {card['generated_at']} by `vigil recipe train` (training/recipe.py). "
           "Architecture yolo11n trained from scratch (no pretrained weights), ultralytics offline, exported to "
           f"ONNX (dynamic batch, {card['onnx_bytes'] / 1e6:.1f} MB).", "",
           *([f"This run continued from `{o['init_from']}`, the weights of an earlier run of this recipe (itself "
              "from scratch), with a fresh learning-rate schedule; the epochs and wall time below are this run's "
              "only.", ""] if o.get("init_from") else []),
           "## Training", "",
           *_before(card),
           *(_rounds(card) if p.get("rounds") else [
             f"- {'then this run: ' if p.get('before') else ''}device `{o['device']}`, image size {o['imgsz']}, "
             f"batch {o['batch']}, epochs completed "
             f"**{p.get('epochs_completed')}** of {p.get('epochs_planned') or o['epochs']} planned"
             f"{'; time budget ' + str(o['max_hours']) + ' h' if o.get('max_hours') else ''}; "
             f"wall time {card['train_seconds']} s."]),
           f"- classes (model order): {', '.join(f'{i} {c}' for i, c in enumerate(classes))}.",
           "- partial labels: each real source only teaches the classes it labels completely; the others are "
           "masked out of its classification loss (mosaics take the mask of their first image).",
           *([f"- person where a source does not label it: the people detector `{Path(o['teacher_people']).name}` "
              f"labelled the people in its training images (boxes from {o.get('teacher_conf')}); those images teach "
              "person too (a flame or a lamp is not a person). Evaluation images keep their sources' own labels."]
             if o.get("teacher_people") else []),
           *([f"- rendered scenes teach only {', '.join(o['scene_classes'])}: the classes no real training source "
              "labels; their fire, smoke, people and other real classes are masked out of the classification loss, "
              "so those are learned from real images alone."] if o.get("scene_classes") is not None
             and len(o["scene_classes"]) < len(classes) else []),
           f"- CPU inference (ONNX Runtime, 2 threads, batch 1, {o['imgsz']}x{o['imgsz']}): "
           f"**{card['metrics'].get('cpu_ms_onnx')} ms**.", "",
           "## Data", "", "| source | split | images | licence | attribution |", "|---|---|---|---|---|"]
    for split, per in card["data"].items():
        for src, n in per.items():
            d = card.get("sources", {}).get(src) or DATA_SOURCES.get(src, {})
            out.append(f"| {src} | {split} | {n} | {d.get('licence', '?')} | {d.get('attribution', '?')} |")
    out += ["", *_headline(card), *(_people(card["metrics"]["people"]) if card["metrics"].get("people") else []),
            "Own-split images: the training sources' own validation splits (grouped by clip / photo / frame block, "
            "never trained on). They come from the same sources as the training images, so they flatter the "
            "model compared with other footage. Held-out scenes: rendered with seeds never used in training "
            f"(train from {card['scene_seeds']['train']}, checkpoint choice from {card['scene_seeds']['val']}, "
            f"test from {card['scene_seeds']['test']}).", "",
            "## Metrics: own-split real images (all training sources' validation images together)", "",
            *_metrics_table(card["metrics"]["real_heldout"], classes), "",
            "## Metrics: held-out scenes", "", *_metrics_table(card["metrics"]["scenes_heldout"], classes), ""]
    if card["metrics"].get("scenario"):
        s = card["metrics"]["scenario"]
        looks = ", ".join(s.get("second_look") or []) or "none"
        looks += f"; people detector beside it: {s['people']}" if s.get("people") else ""
        out += ["## Scenario check (violations vs ground truth on unseen scenes)", "",
                f"The detector and the camera analyzer (second-look classifiers: {looks}) over {len(s['seeds'])} "
                f"freshly rendered scenes, {s['camera_hours']} camera-hours (seeds {s['seeds'][0]}-{s['seeds'][-1]}, "
                f"never used in training or while tuning rules): recall **{s['recall']}** "
                f"({s['tp']}/{s['tp'] + s['miss']}), **{s['fp']}** false violations = "
                f"**{s['false_per_camera_hour']} per camera-hour**. Events on a violation the video's end cuts short "
                "count neither way.", "",
                *([_no_cues_line(s, card["metrics"]["scenario_no_cues"]), ""]
                  if card["metrics"].get("scenario_no_cues") else []),
                f"```\n{json.dumps(s, indent=1)}\n```", ""]
    if card["metrics"].get("int8"):
        out += _int8(card["metrics"]["int8"])
    out += ["## Known limits", "", *[f"- {x}" for x in card["limits"]], ""]
    return "\n".join(out)


def _people(q: dict) -> list[str]:
    """Person on its own: the detector alone and joined with the people detector run beside it, per source."""
    out = [f"## Person, on its own: the detector alone and with the people detector beside it ({q['model']})", "",
           "Every source that labels person, scored by the gate's held-out scorer (training.evaluate.source_metrics"
           "; it reads a little higher than the table above); a source not held out is one this detector trained on "
           "(the people detector trained on none of them). Details: models/people.md.", "",
           "| source | held out | detector alone | joined (what runs) |", "|---|---|---|---|"]
    out += [f"| {name} | {'yes' if r['held_out'] else 'no'} | {r['detector']:.3f} | **{r['joined']:.3f}** |"
            for name, r in q["sources"].items()]
    return out + [""]


def _int8(q: dict) -> list[str]:
    """The int8 copy beside the float model: what it costs in held-out AP50 and what it saves in CPU."""
    a, b = q["fp32"].get("heldout_ap50") or {}, q["int8"].get("heldout_ap50") or {}
    rows = [f"| {c} | {fmt(a.get(c))} | {fmt(b.get(c))} |" for c in sorted(set(a) | set(b))]
    return ["## INT8 copy", "",
            f"`{q['model']}`: the same weights quantized to int8 (`vigil recipe quantize`, training/quantize.py; "
            f"calibrated on {q['calibration_per_source']} training images per source, never the held-out ones; "
            "the detection head's decoding stays float). CPU per frame at "
            f"{q['imgsz']}, {q['threads']} ONNX Runtime thread: **{q['fp32']['cpu_ms']} ms** float, "
            f"**{q['int8']['cpu_ms']} ms** int8 ({q['speedup']}x); {q['fp32']['bytes'] / 1e6:.1f} MB vs "
            f"{q['int8']['bytes'] / 1e6:.1f} MB.", "",
            "| class | held-out-source AP50, float | int8 |", "|---|---|---|", *rows, "",
            *([f"Scenario check with the int8 copy (same scenes as above): recall **{q['scenario']['recall']}** "
               f"({q['scenario']['tp']}/{q['scenario']['tp'] + q['scenario']['miss']}), "
               f"**{q['scenario']['false_per_camera_hour']}** false violations per camera-hour.", ""]
              if q.get("scenario") else [])]


def _before(card: dict) -> list[str]:
    """The stages that trained the weights this run continued from (`progress["before"]`, oldest first)."""
    out = []
    for stage in card["progress"].get("before", []):
        held = ", ".join(f"{c} {v:.3f}" for c, v in sorted((stage.get("heldout_ap50") or {}).items()))
        ref = stage.get("reference") or {}
        was = ", ".join(f"{c} {v:.3f}" for c, v in sorted((ref.get("heldout_ap50") or {}).items()))
        out.append(f"- before this run, `{stage['model']}` (card of {stage.get('generated_at')})"
                   + (f": held-out-source AP50 {held}" if held else "")
                   + (f" (the model it replaced, `{Path(ref['model']).name}`, on the same sources: {was})"
                      if was and ref.get("model") else "") + ":")
        if stage.get("rounds"):
            out += _rounds({"progress": stage, "metrics": {"cpu_ms_by_arch": stage.get("cpu_ms_by_arch", {})}})
        else:
            out.append(f"- {stage.get('epochs_completed')} epochs on `{stage.get('device')}` at "
                       f"{stage.get('imgsz')}, {stage.get('train_seconds')} s.")
    return out


def _rounds(card: dict) -> list[str]:
    """Training done in rounds on a lent GPU machine (training/recipe_gpu.py), and the architectures compared."""
    p, m = card["progress"], card["metrics"]
    rounds = p["rounds"]
    out = [f"- trained on a lent GPU (one NVIDIA H200, shared by the parallel jobs) in {len(rounds)} timed rounds "
           "(`python -m training.recipe_gpu`), each round from the last one's weights with a fresh schedule: "
           + "; ".join(f"round {r['round']}: {r['epochs']} epochs in {r['seconds']} s" for r in rounds)
           + f"; **{p.get('epochs_completed')} epochs** in all, image size {rounds[-1]['archs']['yolo11n']['imgsz']}"
           ", batch 64. The data went there as 320-pixel WebP copies (the machine cannot see ../shared).",
           "- architectures trained side by side in round 1 on the same data and time (held-out-source AP50 on the "
           "packed 320-pixel copies, close to full-resolution figures):", "",
           "| round | architecture | " + " | ".join(sorted({c for r in rounds for a in r["archs"].values()
                                                          for c in a["heldout_ap50"]})) + " | CPU ms per frame |",
           ]
    cls = sorted({c for r in rounds for a in r["archs"].values() for c in a["heldout_ap50"]})
    out.append("|---|---|" + "---|" * (len(cls) + 1))
    cpu = m.get("cpu_ms_by_arch", {})
    for r in rounds:
        for arch, a in sorted(r["archs"].items()):
            out.append(f"| {r['round']} | {arch} | " + " | ".join(fmt(a["heldout_ap50"].get(c)) for c in cls)
                       + f" | {fmt(cpu.get(arch))} |")
    return out + [""]


def _headline(card: dict) -> list[str]:
    """The card's headline: AP50 per class on whole sources the model never trained on, beside its own splits, the
    reference (previously shipped) model on the same images, and what other input sizes buy."""
    m = card["metrics"]
    by = m.get("by_source")
    if not by:
        return []
    held, own = by["heldout"]["per_class"], by["own"]["per_class"]
    ref = (m.get("reference") or {}).get("heldout", {}).get("per_class", {})
    ref_name = Path((m.get("reference") or {}).get("model") or "reference").name
    lines = ["## Headline: AP50 on whole sources never trained on", "",
             "Each source is scored alone, only on the classes it labels; a class's figure is the mean over the "
             "sources that label it. Held-out sources: " + ", ".join(f"`{s}` ({', '.join(v) or 'none'})" for s, v in
                                                                    by["heldout"]["per_source"].items()) + ".", "",
             f"| class | held-out-source AP50 | own-split AP50 | {ref_name} before, held-out | ratio |",
             "|---|---|---|---|---|"]
    for c in card["classes"]:
        if c not in held and c not in own:
            continue
        r = ref.get(c)
        ratio = f"{held[c] / r:.1f}x" if c in held and r else "n/a"
        lines.append(f"| {c} | {fmt(held.get(c)) if c in held else 'no held-out source'} | {fmt(own.get(c))} | "
                     f"{fmt(r)} | {ratio} |")
    lines += ["", "Per source (AP50 of each class it labels):", "", "| source | kind | AP50 by class |",
              "|---|---|---|"]
    for kind in ("heldout", "own"):
        for src, row in by[kind].get("per_source", {}).items():
            lines.append(f"| {src} | {'held out' if kind == 'heldout' else 'own split'} | "
                         f"{', '.join(f'{c} {v:.3f}' for c, v in row.items()) or 'n/a'} |")
    if m.get("camera_view"):
        from training.camera_view import card_section

        lines += card_section(m["camera_view"])
    sizes = by.get("heldout_by_size")
    if sizes:
        cpu = m.get("cpu_ms_by_size", {})
        cls = sorted({c for row in sizes.values() for c in row})
        lines += ["", "### Input size: held-out-source AP50 and CPU cost (the same weights, another input size)", "",
                  "| input | " + " | ".join(cls) + " | ms per frame (ONNX Runtime, 2 threads) |",
                  "|---|" + "---|" * (len(cls) + 1)]
        for sz, row in sizes.items():
            lines.append(f"| {sz} | " + " | ".join(fmt(row.get(c)) for c in cls) + f" | {fmt(cpu.get(sz))} |")
    if m.get("tiling"):
        t = m["tiling"]
        cls = sorted({c for g in t["grids"].values() for c in g["per_class"]})
        lines += ["", f"### Tiling: the whole frame alone, or with overlapping tiles (each at {t['imgsz']})", "",
                  "| tiles | " + " | ".join(cls) + " | detector calls per frame |", "|---|" + "---|" * (len(cls) + 1)]
        for grid, g in t["grids"].items():
            name = "whole frame" if grid == "1" else f"whole frame + {grid}x{grid}"
            lines.append(f"| {name} | " + " | ".join(fmt(g["per_class"].get(c)) for c in cls)
                         + f" | {g['calls_per_frame']} |")
        lines += ["", "(`python -m training.tiling_eval`: held-out sources through the service's own ONNX pipeline "
                  "and evaluator (one label per box, as cameras run), so the whole-frame row differs a little from "
                  "the ultralytics figures above; tile boxes are mapped back and merged per class, and each tile is "
                  "another detector call per analysed frame.)"]
    if m.get("loso"):
        lines += ["", "### Leave-one-source-out", ""]
        for key, res in m["loso"].items():
            lines.append(f"- {key}: held-out-source AP50 {res['mean_heldout_ap50']} vs own-split "
                         f"{res['mean_own_ap50']} over {len(res['folds'])} folds ({res['epochs']} epochs each)")
    return lines + [""]


def rerender(models_dir: Path, profile: str, datasets_dir: Path | None = None,
             limits: tuple[str, ...] | None = None) -> Path:
    """Rewrite `<profile>.md` from `<profile>.json` (and refresh its source attributions); returns the .md."""
    js = Path(models_dir) / f"{profile}.json"
    card = json.loads(js.read_text())
    old = card.get("sources", {})
    fresh = {k: source_info(k, datasets_dir) for k in sorted({src for per in card["data"].values() for src in per})}
    # an extra source (--extra-datasets) has no README in the shared datasets: keep what its manifest said
    card["sources"] = {k: old[k] if v.get("licence") == "?" and k in old else v for k, v in fresh.items()}
    if limits is not None:
        card["limits"] = list(limits)
    js.write_text(json.dumps(card, indent=1, ensure_ascii=False) + "\n")
    md = js.with_suffix(".md")
    md.write_text(render_markdown(card))
    return md


def write_card(models_dir: Path, profile: str, *, classes: tuple[str, ...], options: dict, data_counts: dict,
               metrics: dict, progress: dict, scene_seeds: dict, train_seconds: int, onnx_bytes: int,
               limits: tuple[str, ...] = (), datasets_dir: Path | None = None,
               extra_sources: Mapping[str, dict[str, str]] | None = None) -> tuple[Path, Path]:
    """Write `<profile>.json` and `<profile>.md` under `models_dir`; returns both paths. `extra_sources`: what
    the card says of sources from --extra-datasets (their manifests), by name."""
    extra_sources = extra_sources or {}
    limits = limits or DEFAULT_LIMITS
    card = {"profile": profile, "generated_at": iso_utc(utcnow()), "classes": list(classes), "training": options,
            "progress": progress, "data": data_counts, "metrics": metrics, "scene_seeds": scene_seeds,
            "train_seconds": train_seconds, "onnx_bytes": onnx_bytes, "limits": list(limits),
            "sources": {k: dict(extra_sources[k]) if k in extra_sources else source_info(k, datasets_dir) for k in
                        sorted({src for per in data_counts.values() if isinstance(per, dict) for src in per})}}
    models_dir = Path(models_dir)
    models_dir.mkdir(parents=True, exist_ok=True)
    js, md = models_dir / f"{profile}.json", models_dir / f"{profile}.md"
    js.write_text(json.dumps(card, indent=1, ensure_ascii=False) + "\n")
    md.write_text(render_markdown(card))
    return md, js


def _update_card(models_dir: Path, profile: str, keys: tuple[str, ...], value: dict) -> tuple[Path, Path]:
    """Set `metrics[keys...]` in an existing card and re-render its markdown."""
    js, md = Path(models_dir) / f"{profile}.json", Path(models_dir) / f"{profile}.md"
    card = json.loads(js.read_text())
    at = card["metrics"]
    for k in keys[:-1]:
        if not isinstance(at.get(k), dict):
            raise TrainingError(f"{js}: expected metrics.{'.'.join(keys[:-1])} in the card (for the int8 copy: "
                                f"vigil recipe quantize --card first), found none")
        at = at[k]
    at[keys[-1]] = value
    js.write_text(json.dumps(card, indent=1, ensure_ascii=False) + "\n")
    md.write_text(render_markdown(card))
    return md, js


def add_int8(models_dir: Path, profile: str, comparison: dict) -> tuple[Path, Path]:
    """Record the int8 copy's comparison with the float model in an existing card."""
    return _update_card(models_dir, profile, ("int8",), comparison)


def add_people(models_dir: Path, profile: str, res: dict, people_model: str) -> tuple[Path, Path]:
    """Record person AP50 per source of the detector alone and joined with the people detector
    (training.people_model.evaluate_people) in the profile's card."""
    rows = {name: {"held_out": profile in r["held_out_for"], "detector": r[profile], "joined": r[f"{profile}+people"]}
            for name, r in res["sources"].items()}
    return _update_card(models_dir, profile, ("people",), {"model": people_model, "sources": rows})


def _no_cues_line(with_cues: dict, without: dict) -> str:
    """The same scenes without the fire/smoke cues, per rule where the two differ."""
    rules = sorted(set(with_cues.get("per_rule", {})) | set(without.get("per_rule", {})))
    diff = [f"{r} {without['per_rule'].get(r, {}).get('tp', 0)} found / {without['per_rule'].get(r, {}).get('fp', 0)} "
            f"false (with the cues {with_cues['per_rule'].get(r, {}).get('tp', 0)} / "
            f"{with_cues['per_rule'].get(r, {}).get('fp', 0)})" for r in rules
            if without.get("per_rule", {}).get(r) != with_cues.get("per_rule", {}).get(r)]
    return (f"Without the fire/smoke cues (`--no-cues`, same scenes): recall **{without['recall']}** "
            f"({without['tp']}/{without['tp'] + without['miss']}), **{without['false_per_camera_hour']}** false "
            f"violations per camera-hour" + (f"; {'; '.join(diff)}." if diff else "; no rule differs."))


def add_scenario(models_dir: Path, profile: str, scenario: dict, *, int8: bool = False) -> tuple[Path, Path]:
    """Record a scenario check (violations vs ground truth on unseen scenes) in an existing card: the float
    model's, or (`int8`) beside the int8 copy's comparison; a check without the fire cues goes beside the one with
    them (`scenario_no_cues`), never over it."""
    summary = {k: v for k, v in scenario.items() if k != "scenes"}
    if int8:
        return _update_card(models_dir, profile, ("int8", "scenario"), summary)
    if scenario.get("fire_cues") is False:
        return _update_card(models_dir, profile, ("scenario_no_cues",), summary)
    return _update_card(models_dir, profile, ("scenario",), summary | {
        "per_scene": [{k: sc[k] for k in ("seed", "expected", "tp", "fp", "miss")} for sc in scenario["scenes"]]})
