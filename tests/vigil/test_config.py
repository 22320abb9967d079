"""Config validation: the example passes; each kind of mistake gets one clear message with its key path."""
from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from vigil.config_loader import load_config, parse_config
from vigil.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]

BASE = """
sites:
  s1: {name: Site one, kind: site}
  lab1: {name: Lab one, kind: lab}
cameras:
  c1:
    site: s1
    source: rtsp://viewer:${CAM_PW}@10.0.0.5/stream
    zones:
      yard: {polygon: [[0, 0.5], [1, 0.5], [1, 1]]}
"""


def test_example_and_demo_configs_are_valid():
    for name in ("vigil.example.yaml", "demo.yaml"):
        loaded = load_config(ROOT / "config" / name, {})
        assert loaded.config.cameras and loaded.config.sites


def test_env_substitution_and_effective_rules():
    loaded = parse_config(BASE + "    rules: {dust: {min_s: 9, zones: [yard]}}\n", env={"CAM_PW": "s3cret"})
    cam = loaded.config.cameras["c1"]
    assert cam.source == "rtsp://viewer:s3cret@10.0.0.5/stream"
    dust = loaded.config.rule_spec("c1", "dust")
    assert dust.min_s == 9 and dust.zones == ("yard",) and dust.severity == 2
    assert {r.profile for r in loaded.config.camera_rules("c1")} == {"site"}


MISTAKES = [
    # (what, config text, expected fragments of the message)
    ("yaml syntax", "sites: [unclosed", ["not valid YAML", "line"]),
    ("top level not a mapping", "- a\n- b\n", ["expected a mapping", "found list"]),
    ("unknown top-level key", BASE + "detectorz: {}\n", ["detectorz", "unknown key"]),
    ("unknown camera key", BASE.replace("site: s1\n", "site: s1\n    fps: 5\n"), ["cameras.c1.fps", "unknown key"]),
    ("missing source", BASE.replace("    source: rtsp://viewer:${CAM_PW}@10.0.0.5/stream\n", ""),
     ["cameras.c1.source", "missing"]),
    ("unknown site reference", BASE.replace("site: s1", "site: nowhere"), ["'nowhere'", "not under sites"]),
    ("fps out of range", BASE + "    detect: {fps: 0}\n", ["cameras.c1.detect.fps", "greater than 0", "found 0"]),
    ("fps wrong type", BASE + "    detect: {fps: fast}\n", ["cameras.c1.detect.fps", "found 'fast'"]),
    ("polygon coordinate out of 0-1", BASE.replace("[1, 1]]", "[1.5, 1]]"), ["zones.yard.polygon", "1.5"]),
    ("polygon too short", BASE.replace("[[0, 0.5], [1, 0.5], [1, 1]]", "[[0, 0.5], [1, 0.5]]"),
     ["at least 3 points"]),
    ("unknown rule override", BASE + "    rules: {burning: {min_s: 3}}\n", ["unknown rule 'burning'"]),
    ("rule of the wrong profile", BASE + "    rules: {lab_no_coat: {min_s: 3}}\n", ["profile 'site'", "lab_no_coat"]),
    ("rule names missing zone", BASE + "    rules: {dust: {zones: [gate]}}\n", ["zone 'gate'"]),
    ("k greater than n", BASE + "    rules: {dust: {k: 5, n: 3}}\n", ["k must be at most n"]),
    ("bad camera id", BASE.replace("  c1:\n", "  Cam 1:\n"), ["cameras.Cam 1", "pattern"]),
    ("grading out of order", BASE + "grading: {yellow: 5, orange: 2, red: 10}\n", ["yellow <= orange <= red"]),
    ("bad s3 bucket", BASE + "storage: {evidence: {backend: s3, endpoint: 'x:9000', bucket: 'A_B'}}\n",
     ["storage.evidence", "bucket"]),
    ("unknown store backend", BASE + "storage: {evidence: {backend: ftp}}\n", ["storage.evidence", "ftp"]),
    ("webhook not http", BASE + "notifications: {webhooks: {w: {url: 'ftp://x'}}}\n", ["notifications.webhooks.w.url"]),
    ("bad source scheme", BASE.replace("rtsp://viewer", "gopher://viewer"), ["gopher"]),
]


@pytest.mark.parametrize("what,text,fragments", MISTAKES, ids=[m[0] for m in MISTAKES])
def test_mistakes_give_clear_messages(what, text, fragments):
    with pytest.raises(ConfigError) as info:
        parse_config(text, file="site.yaml", env={"CAM_PW": "hunter2pw"})
    message = str(info.value)
    assert message.startswith("site.yaml:"), message
    for fragment in fragments:
        assert fragment in message, f"{what}: {fragment!r} not in {message!r}"
    assert "hunter2pw" not in message
    assert "Traceback" not in message


def test_unset_env_variable_is_named():
    with pytest.raises(ConfigError, match=r"cameras\.c1\.source: expected environment variable CAM_PW"):
        parse_config(BASE, file="site.yaml", env={})


def test_secret_never_echoed_in_errors():
    text = BASE.replace("site: s1", "site: nowhere").replace("${CAM_PW}", "${CAM_PW}")
    with pytest.raises(ConfigError) as info:
        parse_config(text + "    detect: {fps: -1}\n", file="x.yaml", env={"CAM_PW": "topsecretpw"})
    assert "topsecretpw" not in str(info.value)


def _cli(*args: str, env_extra: dict | None = None) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).parent / "vigil"
    return subprocess.run([str(exe), *args], capture_output=True, text=True, cwd=ROOT, timeout=60)


def test_cli_config_check(tmp_path):
    ok = _cli("config", "check", "config/vigil.example.yaml")
    assert ok.returncode == 0, ok.stderr
    assert "ok" in ok.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text(textwrap.dedent(BASE.replace("${CAM_PW}", "pw")) + "    detect: {fps: 0, width: 10}\n")
    res = _cli("config", "check", str(bad))
    assert res.returncode != 0
    assert "Traceback" not in res.stderr + res.stdout
    assert "cameras.c1.detect.fps" in res.stderr and "cameras.c1.detect.width" in res.stderr
    missing = _cli("config", "check", str(tmp_path / "nope.yaml"))
    assert missing.returncode != 0 and "expected a YAML config file, found nothing" in missing.stderr


def test_config_docs_cover_every_model():
    from vigil.config_docs import config_reference

    doc = config_reference()
    for key in ("cameras.<id>.detect", "cameras.<id>.zones.<id>", "storage", "notifications.webhooks.<id>",
                "idle_check_s", "object_lock_days", "pre_roll_s"):
        assert key in doc
    committed = (ROOT / "docs" / "CONFIG.md").read_text()
    assert committed == doc, "docs/CONFIG.md is stale: run `vigil config docs > docs/CONFIG.md`"
