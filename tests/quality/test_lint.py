"""Lint, layers and types run as tests, so `make test` and CI check them on a fresh clone (no ../shared needed).

ruff and mypy each have a baseline of the problems the code had when they were added: a new problem fails, and
so does a fixed one still listed (the baseline may only shrink). `python -m tests.quality.test_lint --update`
rewrites both baselines after fixing some. import-linter has no baseline: its contracts (pyproject.toml) hold.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
HERE = Path(__file__).resolve().parent
RUFF_BASELINE = HERE / "ruff-baseline.json"
MYPY_BASELINE = HERE / "mypy-baseline.json"
MYPY_PACKAGES = ("vigil", "vision", "streams", "datasets", "training", "api")


def _run(tool: str, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    exe = BIN / tool
    assert exe.exists(), f"{tool} is not installed next to {sys.executable}: pip install -e '.[test]'"
    return subprocess.run([str(exe), *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def ruff_problems() -> tuple[Counter, dict[tuple[str, str], list[str]]]:
    r = _run("ruff", "check", "--output-format", "json", "--exit-zero", "--no-cache", ".")
    assert r.returncode == 0, r.stderr
    counts: Counter = Counter()
    lines: dict[tuple[str, str], list[str]] = {}
    for item in json.loads(r.stdout):
        key = (Path(item["filename"]).resolve().relative_to(ROOT).as_posix(), item["code"] or "syntax")
        counts[key] += 1
        lines.setdefault(key, []).append(f"{key[0]}:{item['location']['row']}: {key[1]} {item['message']}")
    return counts, lines


_MYPY_LINE = re.compile(r"^(?P<path>[^:]+):\d+: error: .*\[(?P<code>[a-z0-9-]+)\]$")


def mypy_problems() -> tuple[Counter, dict[tuple[str, str], list[str]]]:
    r = _run("mypy", *MYPY_PACKAGES, timeout=1200)
    assert r.returncode in (0, 1), r.stdout[-3000:] + r.stderr[-3000:]
    counts: Counter = Counter()
    lines: dict[tuple[str, str], list[str]] = {}
    for line in r.stdout.splitlines():
        m = _MYPY_LINE.match(line)
        if m:
            key = (m["path"], m["code"])
            counts[key] += 1
            lines.setdefault(key, []).append(line)
    return counts, lines


def _load(path: Path) -> Counter:
    data = json.loads(path.read_text()) if path.exists() else {}
    return Counter({(f, code): n for f, codes in data.items() for code, n in codes.items()})


def _save(path: Path, counts: Counter) -> None:
    data: dict[str, dict[str, int]] = {}
    for (f, code), n in sorted(counts.items()):
        data.setdefault(f, {})[code] = n
    path.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")


def _compare(tool: str, counts: Counter, lines: dict, baseline: Counter) -> None:
    new = [line for key, n in counts.items() if n > baseline.get(key, 0) for line in lines[key]]
    assert not new, (f"{tool} found problems beyond its baseline ({len(new)} lines in the files and codes below "
                     f"that have more than the baseline allows); fix them:\n" + "\n".join(new[:60]))
    fixed = {f"{f} {code}: {baseline[(f, code)]} -> {counts.get((f, code), 0)}"
             for f, code in baseline if counts.get((f, code), 0) < baseline[(f, code)]}
    assert not fixed, (f"{tool}: fewer problems than its baseline lists (well done): shrink the baseline with "
                       f"`python -m tests.quality.test_lint --update`:\n" + "\n".join(sorted(fixed)[:60]))


def test_ruff_finds_nothing_beyond_its_baseline():
    counts, lines = ruff_problems()
    _compare("ruff", counts, lines, _load(RUFF_BASELINE))


def test_import_layers_hold():
    r = _run("lint-imports", "--no-cache")
    assert r.returncode == 0, "import-linter (contracts in pyproject.toml):\n" + r.stdout[-4000:] + r.stderr[-2000:]
    assert "BROKEN" not in r.stdout and " 0 broken" in r.stdout


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_mypy_finds_nothing_beyond_its_baseline():  # ~4 minutes on 2 cores without its cache, seconds with it
    counts, lines = mypy_problems()
    _compare("mypy", counts, lines, _load(MYPY_BASELINE))


if __name__ == "__main__":
    if sys.argv[1:] != ["--update"]:
        sys.exit("usage: python -m tests.quality.test_lint --update   (rewrites the ruff and mypy baselines)")
    _save(RUFF_BASELINE, ruff_problems()[0])
    _save(MYPY_BASELINE, mypy_problems()[0])
    print(f"wrote {RUFF_BASELINE.relative_to(ROOT)} and {MYPY_BASELINE.relative_to(ROOT)}")
