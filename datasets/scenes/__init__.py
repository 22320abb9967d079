"""Synthetic demo scenes (site, lab) rendered to H.264 with per-frame YOLO labels and ground truth."""
from datasets.scenes.demo import demo_source_path, parse_demo_spec
from datasets.scenes.render import SceneResult, iter_frames, render_scene

__all__ = ["SceneResult", "demo_source_path", "iter_frames", "parse_demo_spec", "render_scene"]
