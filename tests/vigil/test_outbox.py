"""The durable outbox: jobs survive a reopen, run first-in first-out per lane, are retried, bounded, and a job that
can never succeed is parked instead of holding up its lane."""
from __future__ import annotations

import pytest

from vigil.outbox import Backoff, Lane, Outbox, OutboxFullError

FAST = Backoff(0.01, 0.05)


def test_jobs_survive_a_reopen_and_run_in_order_once(tmp_path):
    box = Outbox(tmp_path / "o.sqlite", backoff=FAST)
    for i in range(3):
        box.put("db", "k", {"i": i}, {"blob": bytes([i]) * 10})
    box.close()  # nothing ran: a crash
    seen = []
    box = Outbox(tmp_path / "o.sqlite", backoff=FAST).start({"db": {"k": lambda j: seen.append((j.payload["i"],
                                                                                               j.blobs["blob"]))}})
    assert box.wait_idle(10)
    box.close()
    assert seen == [(i, bytes([i]) * 10) for i in range(3)]


def test_failures_are_retried_with_backoff_and_the_lane_waits(tmp_path):
    calls = []

    def flaky(job):
        calls.append(job.payload["i"])
        if job.payload["i"] == 0 and calls.count(0) < 3:
            raise ConnectionError("peer down")

    box = Outbox(tmp_path / "o.sqlite", backoff=FAST)
    box.put("db", "k", {"i": 0})
    box.put("db", "k", {"i": 1})
    box.start({"db": {"k": flaky}})
    assert box.wait_idle(10)
    box.close()
    assert calls == [0, 0, 0, 1]  # the second job waited for the first


def test_a_poison_job_is_parked_and_kick_puts_it_back(tmp_path):
    broken = {"on": True}
    done = []

    def handler(job):
        if job.payload["i"] == 0 and broken["on"]:
            raise ValueError("bad data")
        done.append(job.payload["i"])

    box = Outbox(tmp_path / "o.sqlite", backoff=FAST, park_after=3)
    box.put("db", "k", {"i": 0})
    box.put("db", "k", {"i": 1})
    box.start({"db": Lane({"k": handler}, transient=lambda e: not isinstance(e, ValueError))})
    assert box.wait_idle(10, lane="db")
    assert done == [1] and box.summary()["parked"] == 1
    assert box.summary()["lanes"]["parked:db"]["last_error"] == "ValueError: bad data"
    broken["on"] = False
    box.kick()
    assert box.wait_idle(10)
    box.close()
    assert done == [1, 0]


def test_bytes_are_bounded_but_small_jobs_always_get_in(tmp_path):
    box = Outbox(tmp_path / "o.sqlite", max_bytes=100_000, small_bytes=1_000, warn_fraction=0.5)
    box.put("store", "k", {}, {"b": b"x" * 60_000})
    assert box.summary()["filling"]
    with pytest.raises(OutboxFullError, match="expected room for"):
        box.put("store", "k", {}, {"b": b"x" * 60_000})
    box.put("db", "k", {"row": "small"})
    assert box.pending() == 2 and box.summary()["refused"] == 1
    box.close()
