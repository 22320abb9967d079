"""Group splits: stable, never splitting a group, frozen assignments honoured."""
from __future__ import annotations

import pytest

from datasets.splits import assign_splits


def test_same_groups_same_splits_every_time():
    groups = [f"cam:{c}/event:{e}" for c in range(3) for e in range(40)]
    a = assign_splits(groups)
    assert a == assign_splits(list(reversed(groups)))
    assert set(a.values()) == {"train", "val", "test"}


def test_frozen_assignment_wins_and_new_groups_extend():
    groups = [f"g{i}" for i in range(60)]
    first = assign_splits(groups)
    second = assign_splits(groups + [f"new{i}" for i in range(60)], frozen=first)
    assert all(second[g] == first[g] for g in groups)
    assert {g for g, s in first.items() if s == "test"} <= {g for g, s in second.items() if s == "test"}


def test_small_sets_still_get_a_test_and_val_group():
    a = assign_splits(["a", "b", "c", "d"], val=0.1, test=0.1)
    assert sorted(a.values()).count("train") == 2 and "test" in a.values() and "val" in a.values()


@pytest.mark.parametrize("val,test,frozen", [(0.6, 0.5, None), (-0.1, 0.1, None), (0.1, 0.1, {"a": "holdout"})])
def test_bad_arguments_are_refused(val, test, frozen):
    with pytest.raises(ValueError):
        assign_splits(["a", "b"], val=val, test=test, frozen=frozen)


def test_the_forced_test_group_has_boxes():
    groups = ["a", "b", "c", "d", "e"]
    a = assign_splits(groups, val=0.0, test=0.0001, labelled={"d", "e"})
    assert any(s == "test" for g, s in a.items() if g in {"d", "e"})


def test_a_test_group_is_taken_from_val_when_train_has_none_to_spare():
    groups = ["a", "b", "c", "d", "e"]  # with val at 0.94, the hash puts nearly every group in val
    a = assign_splits(groups, val=0.94, test=0.01)
    assert list(a.values()).count("test") == 1 and "val" in a.values()
