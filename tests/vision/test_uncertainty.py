"""The active-learning sampler: near-threshold scores and flickering tracks are sampled, at most once a minute."""
from __future__ import annotations

import pytest

from vision.uncertainty import FLICKER, NEAR_THRESHOLD, SamplerSettings, Seen, UncertaintySampler

THRESHOLDS = {"person": 0.25, "smoke": 0.4}


def sampler(**kw) -> UncertaintySampler:
    return UncertaintySampler(THRESHOLDS, 0.3, SamplerSettings(**kw))


@pytest.mark.parametrize("seen, reason", [
    ([Seen("person", 0.9)], None),                      # confident
    ([Seen("person", 0.26)], NEAR_THRESHOLD),           # just above the threshold
    ([Seen("person", 0.16)], NEAR_THRESHOLD),           # below, within 0.6x (a weak box the model kept)
    ([Seen("person", 0.14)], None),                     # below the band
    ([Seen("person", 0.2875)], NEAR_THRESHOLD),         # the band's top edge (1.15x) is inside
    ([Seen("person", 0.30)], None),                     # above the band
    ([Seen("smoke", 0.45)], NEAR_THRESHOLD),            # per-class threshold (0.4)
    ([Seen("truck", 0.33)], NEAR_THRESHOLD),            # no class threshold: the default (0.3)
    ([Seen("person", 0.9), Seen("smoke", 0.42)], NEAR_THRESHOLD),  # one doubtful box is enough
    ([], None),
])
def test_near_threshold_table(seen, reason):
    d = sampler().observe(0.0, seen)
    assert (d.reason if d else None) == reason


def test_detail_names_the_closest_box_to_its_threshold():
    d = sampler().observe(0.0, [Seen("person", 0.18), Seen("smoke", 0.41)])
    assert d.detail == "smoke 0.41 (threshold 0.40)"
    assert d.facts == {"class_name": "smoke", "score": 0.41, "threshold": 0.4}


@pytest.mark.parametrize("times, sampled", [
    ([0, 1, 59.9, 60, 61, 130], [0, 60, 130]),
    ([0, 30, 90, 120], [0, 90]),
])
def test_rate_limit_per_camera(times, sampled):
    s = sampler(min_interval_s=60)
    got = [t for t in times if s.observe(t, [Seen("person", 0.26)])]
    assert got == sampled


def test_no_rate_limit_when_zero():
    s = sampler(min_interval_s=0)
    assert all(s.observe(t, [Seen("person", 0.26)]) for t in (0, 0.5, 1))


# presence of track 7 per detected frame (confident, so only a flicker can sample)
@pytest.mark.parametrize("presence, first_sample", [
    ([1, 1, 1, 1, 1, 1, 1, 1], None),                  # steady
    ([1, 0, 1, 0, 1, 1, 1, 1], 4),                     # gone, back, gone, back: 4 changes by frame 4
    ([1, 0, 0, 0, 1, 1, 1, 1], None),                  # one dropout: 2 changes
    ([1, 0, 1, 0, 0, 0, 0, 0], None),                  # 3 changes then gone
])
def test_flicker_table(presence, first_sample):
    s = sampler(flicker_changes=4, flicker_window_s=10, min_interval_s=0)
    got = None
    for i, here in enumerate(presence):
        seen = [Seen("person", 0.9, 7)] if here else []
        d = s.observe(float(i), seen)
        if d and got is None:
            got = i
            assert d.reason == FLICKER and "track 7 (person)" in d.detail
            assert d.facts == {"track_id": 7, "class_name": "person", "changes": 4, "window_s": 10}
    assert got == first_sample


def test_flicker_changes_outside_the_window_do_not_count():
    s = sampler(flicker_changes=4, flicker_window_s=3, min_interval_s=0)
    got = [t for t, here in zip(range(0, 40, 5), [1, 0, 1, 0, 1, 0, 1, 0]) if s.observe(float(t),
           [Seen("person", 0.9, 3)] if here else [])]
    assert got == []  # one change every 5 s never makes 4 within 3 s


@pytest.mark.parametrize("track_id", [None, -1])  # -1: the tracker's "no track took it"
def test_untracked_boxes_never_flicker(track_id):
    s = sampler(min_interval_s=0)
    assert not any(s.observe(float(i), [Seen("person", 0.9, track_id)] if i % 2 else []) for i in range(20))


@pytest.mark.parametrize("kw", [dict(band=(1.1, 1.2)), dict(band=(0.5, 0.9)), dict(band=(0, 1.1)),
                                dict(min_interval_s=-1), dict(flicker_changes=1), dict(flicker_window_s=0)])
def test_bad_settings_are_refused(kw):
    with pytest.raises(ValueError, match="expected"):
        SamplerSettings(**kw)
