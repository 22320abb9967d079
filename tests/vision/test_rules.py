"""Table-driven rule tests: scripted detector output through the real analyzer (masks, tracker, zones, rules)."""
from __future__ import annotations

import numpy as np
import pytest

from vigil.catalogue import DetClass
from tests.vision.scripted import H, W, Obj, analyzer_for, phases, run_script

FIRE, PERSON, COAT = DetClass.FIRE.value, DetClass.PERSON.value, DetClass.LAB_COAT.value
PILE, TRUCK = DetClass.DEBRIS_PILE.value, DetClass.DUMP_TRUCK.value
LOW_BOX = (100.0, 110.0, 150.0, 170.0)  # bottom half of a 320x180 frame
HIGH_BOX = (100.0, 10.0, 150.0, 60.0)  # top half
STRADDLE = (100.0, 40.0, 150.0, 100.0)  # bottom centre below y=0.5, centre above
BOTTOM_ZONE = "zones: {yard: {polygon: [[0, 0.5], [1, 0.5], [1, 1], [0, 1]]}}"
BOTTOM_ZONE_CENTER = "zones: {yard: {polygon: [[0, 0.5], [1, 0.5], [1, 1], [0, 1]], anchor: center}}"


def fire_when(pred, box=LOW_BOX, score=0.8):
    return lambda t: [Obj(FIRE, box, score)] if pred(t) else []


PRESENCE = [
    # id, camera yaml, script, seconds, expected (phase, time)
    ("persists", "", fire_when(lambda t: 1.0 <= t < 8.0), 20, [("open", 1.0), ("closed", 7.5)]),
    ("too-short", "", fire_when(lambda t: 1.0 <= t < 4.0), 20, []),
    ("low-score", "", fire_when(lambda t: t >= 1.0, score=0.3), 20, []),
    ("k-of-n-met", "", fire_when(lambda t: t >= 1.0 and int(t * 2) % 2 == 0), 6, [("open", 1.0)]),
    ("k-of-n-missed", "rules: {open_burning: {k: 4, n: 5}}",
     fire_when(lambda t: t >= 1.0 and int(t * 2) % 2 == 0), 20, []),
    ("in-zone", BOTTOM_ZONE + "\nrules: {open_burning: {zones: [yard]}}", fire_when(lambda t: t >= 1.0), 6,
     [("open", 1.0)]),
    ("outside-zone", BOTTOM_ZONE + "\nrules: {open_burning: {zones: [yard]}}",
     fire_when(lambda t: t >= 1.0, box=HIGH_BOX), 20, []),
    ("bottom-centre-anchor", BOTTOM_ZONE + "\nrules: {open_burning: {zones: [yard]}}",
     fire_when(lambda t: t >= 1.0, box=STRADDLE), 6, [("open", 1.0)]),
    ("centre-anchor", BOTTOM_ZONE_CENTER + "\nrules: {open_burning: {zones: [yard]}}",
     fire_when(lambda t: t >= 1.0, box=STRADDLE), 20, []),
    ("masked", "masks: [[[0, 0.5], [1, 0.5], [1, 1], [0, 1]]]", fire_when(lambda t: t >= 1.0), 20, []),
    ("mask-elsewhere", "masks: [[[0, 0], [1, 0], [1, 0.3], [0, 0.3]]]", fire_when(lambda t: t >= 1.0), 6,
     [("open", 1.0)]),
    ("rejoins-within-grace", "", fire_when(lambda t: 1.0 <= t < 6.0 or 10.0 <= t < 14.0), 30,
     [("open", 1.0), ("closed", 13.5)]),
    ("cooldown-same-track", "rules: {open_burning: {grace_s: 2}}",
     fire_when(lambda t: 1.0 <= t < 6.0 or 9.0 <= t < 16.0), 20, [("open", 1.0), ("closed", 5.5)]),
    ("no-cooldown", "rules: {open_burning: {grace_s: 2, cooldown_s: 0}}",
     fire_when(lambda t: 1.0 <= t < 6.0 or 9.0 <= t < 16.0), 20,
     [("open", 1.0), ("closed", 5.5), ("open", 9.0), ("closed", 15.5)]),
    ("cooldown-other-track", "rules: {open_burning: {grace_s: 2}}",
     lambda t: ([Obj(FIRE, LOW_BOX)] if 1.0 <= t < 6.0 else [])
     + ([Obj(FIRE, (250.0, 110.0, 300.0, 170.0))] if 9.0 <= t < 16.0 else []), 20,
     [("open", 1.0), ("closed", 5.5), ("open", 9.5), ("closed", 15.5)]),
    ("other-class", "", lambda t: [Obj(PERSON, LOW_BOX)], 20, []),
    # confirm_score: the run's median score must reach it; weak boxes above min_score alone never open an event
    ("weak-run-unconfirmed", "rules: {open_burning: {confirm_score: 0.5}}", fire_when(lambda t: t >= 1.0, score=0.45),
     30, []),
    ("confirmed-when-median-reaches", "rules: {open_burning: {confirm_score: 0.5}}",
     lambda t: [Obj(FIRE, LOW_BOX, 0.45 if t < 4.0 else 0.8)] if t >= 1.0 else [], 20, [("open", 1.0)]),
]


@pytest.mark.parametrize("camera_yaml, script, seconds, expected",
                         [p[1:] for p in PRESENCE], ids=[p[0] for p in PRESENCE])
def test_presence_rule(camera_yaml, script, seconds, expected):
    analyzer = analyzer_for("site", camera_yaml)
    assert phases(run_script(analyzer, script, seconds=seconds), "open_burning") == expected


def _flicker(t: float, box=LOW_BOX) -> np.ndarray:
    """A frame whose pixels inside `box` change from frame to frame, as flames do."""
    img = np.full((H, W, 3), 90, np.uint8)
    x1, y1, x2, y2 = (int(v) for v in box)
    img[y1:y2, x1:x2] = np.random.default_rng(int(t * 10)).integers(0, 255, (y2 - y1, x2 - x1, 3), dtype=np.uint8)
    return img


def test_lab_fire_needs_a_confident_flickering_run():
    # a hand by a beaker that looks like a flame for a second or two: weak (0.44), though it moves
    hand = lambda t: [Obj(FIRE, LOW_BOX, 0.44)] if 10.0 <= t < 12.0 or 30.0 <= t < 31.5 else []  # noqa: E731
    assert phases(run_script(analyzer_for("lab"), hand, seconds=40, image=_flicker), "lab_fire") == []
    # an orange beaker standing still: confident (0.7) for 30 s, but its pixels never change
    beaker = lambda t: [Obj(FIRE, LOW_BOX, 0.7)] if t >= 5.0 else []  # noqa: E731
    still = np.full((H, W, 3), 90, np.uint8)
    still[110:170, 100:150] = (40, 120, 230)
    assert phases(run_script(analyzer_for("lab"), beaker, seconds=40, image=lambda t: still), "lab_fire") == []
    # a flame: confident and flickering; reported within a second
    flame = lambda t: [Obj(FIRE, LOW_BOX, 0.44 if t < 10.5 else 0.7)] if t >= 10.0 else []  # noqa: E731
    fired = [v for v in run_script(analyzer_for("lab"), flame, seconds=20, image=_flicker) if v.rule == "lab_fire"]
    assert [(v.phase, v.start_s, v.end_s) for v in fired][:1] == [("open", 10.0, 11.0)]
    assert fired[0].thresholds["confirm_score"] == 0.5 and fired[0].thresholds["min_flicker"] == 3.0


def test_presence_event_carries_evidence_and_reannounces_a_better_frame():
    analyzer = analyzer_for("site")
    vs = run_script(analyzer, lambda t: [Obj(FIRE, LOW_BOX, 0.5 if t < 10 else 0.9)] if t >= 1 else [], seconds=16)
    opened, updated = vs[0], vs[1]
    assert (opened.phase, updated.phase) == ("open", "update")
    assert opened.event_id == updated.event_id
    assert opened.best_image is not None and opened.best_image.shape == (180, 320, 3)
    assert opened.best_score == pytest.approx(0.5) and updated.best_score == pytest.approx(0.9)
    assert updated.best_image is not None and updated.best_s == pytest.approx(10.0)
    assert opened.track_id is not None and opened.started_at < opened.ended_at
    assert [b.class_name for b in updated.detections] == [FIRE]
    assert updated.detections[0].track_id == updated.track_id
    assert opened.thresholds["min_s"] == 3.0 and opened.thresholds["k"] == 3
    assert analyzer.stats["detected"] == analyzer.stats["frames"] == 32


def person_with(*items, box=(100.0, 40.0, 160.0, 170.0)):
    def script(t):
        objs = [Obj(PERSON, box)] if t >= 1.0 else []
        return objs + [Obj(cls, b) for cls, b, until in items if 1.0 <= t < until]
    return script


COAT_ON = (105.0, 70.0, 155.0, 140.0)
COAT_AWAY = (250.0, 70.0, 300.0, 140.0)
ABSENCE = [
    ("bare", person_with(), 12, {"lab_no_coat", "lab_no_goggles", "lab_no_gloves"}),
    ("coat-worn", person_with((COAT, COAT_ON, 99)), 12, {"lab_no_goggles", "lab_no_gloves"}),
    ("coat-not-on-person", person_with((COAT, COAT_AWAY, 99)), 12, {"lab_no_coat", "lab_no_goggles", "lab_no_gloves"}),
    ("too-short", lambda t: [Obj(PERSON, (100.0, 40.0, 160.0, 170.0))] if 1 <= t < 5 else [], 12, set()),
    # a person box 40 px high (min_person_px 64): nobody can see what it wears (a bottle taken for a person)
    ("too-small-to-judge", person_with(box=(20.0, 120.0, 33.0, 160.0)), 12, set()),
    ("just-tall-enough", person_with(box=(20.0, 96.0, 45.0, 160.0)), 12,
     {"lab_no_coat", "lab_no_goggles", "lab_no_gloves"}),
]


@pytest.mark.parametrize("script, seconds, expected", [a[1:] for a in ABSENCE], ids=[a[0] for a in ABSENCE])
def test_absence_rules(script, seconds, expected):
    vs = run_script(analyzer_for("lab"), script, seconds=seconds)
    assert {v.rule for v in vs if v.phase == "open"} == expected
    assert all(v.track_id is not None for v in vs)


def test_absence_closes_when_the_item_appears_and_is_per_person():
    bare_box, coated_box = (20.0, 40.0, 80.0, 170.0), (200.0, 40.0, 260.0, 170.0)

    def script(t):
        objs = [Obj(PERSON, bare_box), Obj(PERSON, coated_box), Obj(COAT, (205.0, 70.0, 255.0, 140.0))]
        if t >= 10.0:
            objs.append(Obj(COAT, (25.0, 70.0, 75.0, 140.0)))  # the first person puts a coat on
        return objs if t >= 1.0 else []

    vs = [v for v in run_script(analyzer_for("lab"), script, seconds=25) if v.rule == "lab_no_coat"]
    assert [v.phase for v in vs] == ["open", "closed"]
    assert vs[0].event_id == vs[1].event_id and vs[1].end_s == pytest.approx(9.5)
    bare_track = [b.track_id for b in vs[0].detections if b.class_name == PERSON and b.xyxy[0] == 20.0]
    assert vs[0].track_id == bare_track[0]


def test_an_item_hidden_for_a_few_seconds_still_counts_as_worn():
    def script(t):  # the coat is hidden 6-12 s (an arm across it), then taken off for good at 20 s
        objs = [Obj(PERSON, (100.0, 40.0, 160.0, 170.0))] if t >= 1.0 else []
        return objs + ([Obj(COAT, COAT_ON)] if 1.0 <= t < 6.0 or 12.0 <= t < 20.0 else [])

    vs = [v for v in run_script(analyzer_for("lab"), script, seconds=45) if v.rule == "lab_no_coat"]
    assert [v.phase for v in vs if v.phase != "update"] == ["open"]
    opened = vs[0]
    # the coat was last seen at 19.5 s: bare from 30 s (after the 10 s memory), an event after min_s (5 s)
    assert opened.start_s == pytest.approx(30.0) and opened.end_s == pytest.approx(35.0)
    assert opened.thresholds["item_memory_s"] == 10.0


def test_a_second_box_on_an_already_reported_person_is_not_a_second_event():
    whole, upper = (100.0, 40.0, 160.0, 170.0), (104.0, 42.0, 158.0, 120.0)  # the same person, boxed twice

    def script(t):
        objs = [Obj(PERSON, whole)] if t >= 1.0 else []
        return objs + ([Obj(PERSON, upper)] if 12.0 <= t < 30.0 else [])

    vs = [v for v in run_script(analyzer_for("lab"), script, seconds=40) if v.rule == "lab_no_coat"]
    assert [v.phase for v in vs if v.phase != "update"] == ["open"]


def test_someone_at_the_spot_of_an_earlier_report_is_reported_once_its_cooldown_is_over():
    def script(t):  # one person 1-12 s, another at the same place from 90 s
        return [Obj(PERSON, (100.0, 40.0, 160.0, 170.0))] if 1.0 <= t < 12.0 or t >= 90.0 else []

    opened = [v for v in run_script(analyzer_for("lab"), script, seconds=105) if v.rule == "lab_no_coat"
              and v.phase == "open"]
    assert len(opened) == 2 and opened[0].start_s < 3.0 and 90.0 <= opened[1].start_s < 92.0


def test_the_next_person_at_the_spot_of_an_earlier_report_is_reported_within_its_cooldown():
    """Someone who left 20 s ago is not the person now standing at their place (two people at one bench station
    made one event for both: the second one's bare hands went unreported until the first one's cooldown was over);
    a second box or track on a person still there is them (the tests above)."""
    def script(t):  # one person 1-12 s, they leave; another at the same place from 32 s
        return [Obj(PERSON, (100.0, 40.0, 160.0, 170.0))] if 1.0 <= t < 12.0 or t >= 32.0 else []

    opened = [v for v in run_script(analyzer_for("lab"), script, seconds=45) if v.rule == "lab_no_coat"
              and v.phase == "open"]
    assert len(opened) == 2 and opened[0].start_s < 3.0 and 32.0 <= opened[1].start_s < 34.0
    assert opened[0].track_id != opened[1].track_id


@pytest.mark.parametrize("p_gloves, reported", [(None, True), (0.05, True), (0.4, False), (0.9, False)])
def test_no_gloves_needs_hands_a_second_look_judged_bare(p_gloves, reported):
    """Where the gloves classifier looked at the person (p_gloves), not seeing gloves is not seeing bare hands:
    only a low probability of gloves counts as bare; in between the frame says nothing (white gloves on a white
    coat). Without a second look the detector alone decides, as before; other items are not affected."""
    extra = (("p_gloves", p_gloves),) if p_gloves is not None else ()

    def script(t):
        return [Obj(PERSON, (100.0, 40.0, 160.0, 170.0), 0.8, extra)] if t >= 1.0 else []

    vs = [v for v in run_script(analyzer_for("lab"), script, seconds=12) if v.phase == "open"]
    opened = {v.rule for v in vs}
    assert ("lab_no_gloves" in opened) == reported
    assert {"lab_no_coat", "lab_no_goggles"} <= opened
    gloves = [v for v in vs if v.rule == "lab_no_gloves"]
    assert all(v.thresholds["bare_max_p"] == 0.15 for v in gloves)  # the evidence says what counted as bare


NO_DUMP_ZONE = "zones: {lot: {polygon: [[0, 0.5], [0.5, 0.5], [0.5, 1], [0, 1]], no_dumping: DUMP}}"
PILE_A, PILE_B = (40.0, 120.0, 100.0, 170.0), (200.0, 120.0, 260.0, 170.0)


def piles(*spans):
    return lambda t: [Obj(PILE, box) for box, start, end in spans if start <= t < end]


def truck(path, start, end):
    return lambda t: [Obj(TRUCK, path(t))] if start <= t < end else []


def parked(t):
    return (20.0, 100.0, 120.0, 170.0)


def driving(t):
    return (5.0 + 12 * t, 100.0, 105.0 + 12 * t, 170.0)


DUMPING = [
    ("baseline-pile", "", piles((PILE_A, 0, 99)), 80, []),
    ("new-pile-persists", "", piles((PILE_B, 25, 99)), 80, [("open", 25.0)]),
    ("new-pile-too-short", "", piles((PILE_B, 25, 45)), 80, []),
    ("new-pile-on-baseline-place", "", piles((PILE_A, 0, 99), ((44.0, 118.0, 104.0, 170.0), 30, 99)), 80, []),
    ("new-pile-beside-baseline", "", piles((PILE_A, 0, 99), (PILE_B, 30, 99)), 80, [("open", 30.0)]),
    ("truck-stops-in-zone", NO_DUMP_ZONE.replace("DUMP", "true"), truck(parked, 5, 40), 30, [("open", 5.5)]),
    ("truck-passes-zone", NO_DUMP_ZONE.replace("DUMP", "true"), truck(driving, 0, 12), 30, []),
    ("truck-stops-outside", NO_DUMP_ZONE.replace("DUMP", "true"),
     truck(lambda t: (200.0, 100.0, 300.0, 170.0), 5, 40), 30, []),
    ("truck-stops-zone-allows", NO_DUMP_ZONE.replace("DUMP", "false"), truck(parked, 5, 40), 30, []),
]


@pytest.mark.parametrize("camera_yaml, script, seconds, expected",
                         [d[1:] for d in DUMPING], ids=[d[0] for d in DUMPING])
def test_dumping_rule(camera_yaml, script, seconds, expected):
    vs = run_script(analyzer_for("site", camera_yaml), script, seconds=seconds)
    assert phases(vs, "dumping") == expected
    if expected:
        assert vs[0].thresholds["trigger"] in ("new_pile", "truck_stopped")


def _dumping_opens(script, seconds: float, *, memory_s: float | None = None) -> list[float]:
    analyzer = analyzer_for("site")
    if memory_s is not None:
        next(r for r in analyzer.rules if r.spec.name == "dumping").reported_memory_s = memory_s
    return [v.start_s for v in run_script(analyzer, script, seconds=seconds)
            if v.rule == "dumping" and v.phase == "open"]


def test_a_reported_pile_hidden_past_the_grace_is_not_reported_again():
    """Smoke or a parked truck hid the heap for 40 s (grace 30 s): its event closed; when it shows again at its
    place, whole or in part, it is the same heap, not a second dumping."""
    part = (215.0, 135.0, 245.0, 170.0)  # a part of the heap (inside PILE_B, IoU 0.35)

    def shown(t: float) -> list[Obj]:
        if 25 <= t < 70 or 110 <= t < 200 and int(t) % 2:
            return [Obj(PILE, PILE_B)]
        return [Obj(PILE, part)] if 110 <= t < 200 else []

    assert _dumping_opens(shown, 200) == [25.0]
    # a part of the heap boxed on alternate frames is that heap, not a new one beside it
    half = (200.0, 150.0, 230.0, 170.0)  # IoU 0.2 with PILE_B, all of it inside
    assert _dumping_opens(lambda t: [Obj(PILE, PILE_B if int(t * 2) % 2 else half)] if t >= 25 else [], 80) == [25.0]


def test_a_reported_place_is_forgotten_after_its_memory():
    """A place not seen for `reported_memory_s`: the heap there now is a new dumping."""
    def shown(t: float) -> list[Obj]:
        return [Obj(PILE, PILE_B)] if 25 <= t < 70 or 130 <= t < 200 else []

    assert _dumping_opens(shown, 200, memory_s=20.0) == [25.0, 130.0]
    assert _dumping_opens(shown, 200) == [25.0]  # 600 s by default


def test_a_pile_glimpsed_while_learning_the_baseline_does_not_hide_a_heap_dumped_there_later():
    """A smoke plume boxed as a heap for 3 s of the 20 s baseline window was not a heap that was there: the heap
    dumped at that place at 40 s is new. A heap boxed through most of the window (hidden for a while) was there."""
    plume = piles((PILE_B, 5, 8), (PILE_B, 40, 120))
    assert _dumping_opens(plume, 120) == [40.0]
    hidden_a_while = piles((PILE_B, 0, 6), (PILE_B, 14, 120))  # a truck hid it from 6 s to 14 s
    assert _dumping_opens(hidden_a_while, 120) == []


def test_a_new_heap_hidden_for_a_few_seconds_stays_a_candidate():
    """A truck drives past a heap dumped at 25 s and hides it from 40 s to 44 s: it is still the heap seen since
    25 s (the event opens at 55 s, 30 s after), not a new candidate from 44 s. Hidden for longer than
    `pile_hidden_s` (10 s), it must be seen anew for min_s."""
    passer_by = piles((PILE_B, 25, 40), (PILE_B, 44, 120))
    assert _dumping_opens(passer_by, 120) == [25.0]
    long_gone = piles((PILE_B, 25, 40), (PILE_B, 52, 120))
    assert _dumping_opens(long_gone, 120) == [52.0]


def test_a_heap_boxed_whole_and_in_parts_is_one_dumping():
    """The detector boxes a heap whole with its top part on one frame and its bottom part alone on the next: the
    top part lies nowhere near the bottom part, but inside the heap's extent: one heap, one event."""
    whole, top, bottom = (200.0, 100.0, 280.0, 170.0), (205.0, 100.0, 275.0, 130.0), (200.0, 140.0, 280.0, 170.0)

    def shown(t: float) -> list[Obj]:
        if t < 25:
            return []
        return [Obj(PILE, whole), Obj(PILE, top)] if int(t * 2) % 2 == 0 else [Obj(PILE, bottom)]

    assert _dumping_opens(shown, 120) == [25.0]


def test_disabled_rule_never_fires():
    analyzer = analyzer_for("site", "rules: {open_burning: {enabled: false}}")
    assert "open_burning" not in {r.spec.name for r in analyzer.rules}
    assert run_script(analyzer, fire_when(lambda t: True), seconds=10) == []


def test_a_truck_boxed_as_covered_and_uncovered_keeps_only_its_more_confident_state():
    uncovered = DetClass.DUMP_TRUCK_UNCOVERED.value
    box = (20.0, 100.0, 140.0, 170.0)

    def script(t):  # one truck: mostly "covered", a weaker "uncovered" box on top of it; a second, bare truck
        if t < 1.0:
            return []
        return [Obj(TRUCK, box, 0.6), Obj(uncovered, (22.0, 98.0, 141.0, 171.0), 0.4),
                Obj(uncovered, (200.0, 100.0, 300.0, 170.0), 0.8)]

    vs = [v for v in run_script(analyzer_for("site"), script, seconds=10) if v.phase == "open"]
    assert [v.rule for v in vs] == ["uncovered_truck"]
    assert {b.xyxy[0] for b in vs[0].detections if b.class_name == uncovered} == {200.0}


def test_still_frames_neither_extend_nor_end_a_run():
    """With the motion gate on and nothing moving, the detector runs every idle_check_s; the frames between only
    repeat its last output, so an event ends at the last detector frame that saw the fire, not up to
    idle_check_s later (which made two bursts closer than grace + idle_check one endless event)."""
    from vigil.config_loader import parse_config
    from vision.analyzer import CameraAnalyzer
    from tests.vision.scripted import camera_config

    cfg = camera_config("site").replace("motion: {enabled: false}", "motion: {enabled: true, idle_check_s: 5}")
    analyzer = CameraAnalyzer.from_config(parse_config(cfg), "cam")
    # the detector sees it on every frame from 0 to 3 s (a candidate forming), then at 8 and 13 s, not at 18
    fire = fire_when(lambda t: t < 18.0)
    got = phases(run_script(analyzer, fire, seconds=40), "open_burning")
    assert got == [("open", 0.0), ("closed", 13.0)], got


def test_a_candidate_seen_at_an_idle_check_gets_every_frame_until_it_is_an_event():
    """Faint smoke drifts too slowly to count as motion: the detector saw it only at the idle checks (every 5 s),
    never k of n detector frames in a row, and a 13 s fire went unreported. Once seen, a forming candidate gets
    the detector on every frame until it is an event (then the gate saves the CPU again) or fades."""
    from vigil.config_loader import parse_config
    from vision.analyzer import CameraAnalyzer
    from tests.vision.scripted import camera_config

    cfg = camera_config("site").replace("motion: {enabled: false}", "motion: {enabled: true, idle_check_s: 5}")
    analyzer = CameraAnalyzer.from_config(parse_config(cfg), "cam")
    vs = run_script(analyzer, fire_when(lambda t: t >= 2.0), seconds=60)
    opened = [v for v in vs if v.phase != "update"]
    # first seen at the 5 s idle check, an event 3 s (min_s) later
    assert [v.phase for v in opened] == ["open"] and opened[0].start_s == 5.0 and opened[0].end_s == 8.0
    # 120 frames: the first, 6 while forming (5.5-8 s), then an idle check every 5 s
    assert analyzer.stats["detected"] == 1 + 1 + 6 + 10
    gated = CameraAnalyzer.from_config(parse_config(cfg), "cam")
    run_script(gated, lambda t: [Obj(FIRE, LOW_BOX, 0.8)] if 5.0 <= t < 5.5 else [], seconds=60)
    assert gated.stats["detected"] <= 1 + 12 + 5  # a blip: a few frames to see it fade, then the gate again
