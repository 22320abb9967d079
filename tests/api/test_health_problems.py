"""The service's problems: a code and parameters for the UI, and the same English text API users had before; every
code worded in Chinese too, with the same parameters."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import api.i18n

from api.i18n import catalogue
from api.problems import CODES, KEY, problem, problem_identity

CASES = [  # (code, params, the English text /healthz lists)
    ("database_unreachable", {}, "database unreachable"),
    ("disk_low", {"disk": "evidence", "free_mb": 12, "min_mb": 500},
     "evidence: 12 MB free, under the 500 MB watermark"),
    ("outbox_waiting", {"lane": "store", "jobs": 3, "oldest_s": 61.5, "error": "S3 down"},
     "outbox store: 3 job(s) waiting, oldest 61.5 s (S3 down)"),
    ("outbox_filling", {"bytes": 900, "max_bytes": 1000}, "outbox filling: 900 of 1000 bytes"),
    ("instance_lock", {"error": "instance lock: database unreachable (x)"}, "instance lock: database unreachable (x)"),
    ("camera", {"camera": "gate", "state": "offline", "error": ""}, "camera gate: offline"),
    ("camera", {"camera": "gate", "state": "stalled", "error": "no packets for 10 s"},
     "camera gate: stalled (no packets for 10 s)"),
    ("recording_dropped", {"camera": "gate", "dropped": 2, "error": "disk full"},
     "recording gate: 2 segment(s) dropped (disk full)"),
]


@pytest.mark.parametrize("code, params, text", CASES)
def test_a_problem_keeps_its_english_text_and_carries_code_and_parameters(code, params, text):
    p = problem(code, **params)
    assert p.text == text
    assert p.as_dict() == {"code": code, "params": params, "text": text}


def test_every_code_is_in_the_cases_and_worded_in_both_languages_with_the_same_parameters():
    assert {c for c, _, _ in CASES} == set(CODES)
    en = catalogue("en")
    zh = json.loads((Path(api.i18n.__file__).parent / "zh.json").read_text(encoding="utf-8"))  # no English filling
    keys = [k for k in en if k.startswith(KEY)]
    assert {k[len(KEY):].split(".")[0] for k in keys} == set(CODES)
    for key in keys:
        assert key in zh and zh[key] != en[key], f"{key} has no Chinese message"
        assert sorted(re.findall(r"{(\w+)}", zh[key])) == sorted(re.findall(r"{(\w+)}", en[key])), key


def test_an_unknown_code_is_refused_with_the_known_ones():
    with pytest.raises(ValueError, match="expected a health problem code .*disk_low.*found 'disk_full'"):
        problem("disk_full")


@pytest.mark.parametrize("a, b, same", [
    (("disk_low", {"disk": "evidence", "free_mb": 12, "min_mb": 500}),
     ("disk_low", {"disk": "evidence", "free_mb": 9, "min_mb": 500}), True),
    (("disk_low", {"disk": "evidence", "free_mb": 12, "min_mb": 500}),
     ("disk_low", {"disk": "data_dir", "free_mb": 12, "min_mb": 500}), False),
    (("outbox_waiting", {"lane": "store", "jobs": 3, "oldest_s": 61.5, "error": "S3 down"}),
     ("outbox_waiting", {"lane": "store", "jobs": 4, "oldest_s": 90.0, "error": "timed out"}), True),
    (("outbox_waiting", {"lane": "store", "jobs": 3, "oldest_s": 61.5, "error": "S3 down"}),
     ("outbox_waiting", {"lane": "webhook", "jobs": 3, "oldest_s": 61.5, "error": "S3 down"}), False),
    (("recording_dropped", {"camera": "gate", "dropped": 2, "error": "disk full"}),
     ("recording_dropped", {"camera": "yard", "dropped": 2, "error": "disk full"}), False),
    (("outbox_filling", {"bytes": 900, "max_bytes": 1000}), ("disk_low", {"disk": "evidence", "free_mb": 1,
                                                                          "min_mb": 500}), False),
])
def test_a_problem_stays_the_same_while_only_its_figures_or_error_change(a, b, same):
    """The runtime logs a problem once and its resolution once: by identity, never by its English text."""
    ida, idb = (problem_identity(problem(code, **params).as_dict()) for code, params in (a, b))
    assert (ida == idb) is same
