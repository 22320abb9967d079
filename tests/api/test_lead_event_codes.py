"""Server-written lead history texts are recognised as codes with values (the page shows them in its language);
a person's own words are not."""
from __future__ import annotations

from api.ops.lead_event_codes import event_code


def test_known_history_texts_become_codes():
    assert event_code("note", "rectification notice #3 sent, deadline 2026-12-19T08:00:00Z") == (
        "notice_sent", {"notice": "3", "deadline": "2026-12-19T08:00:00Z"})
    assert event_code("note", "enterprise replied to notice #3: fixed\nthe fence") == (
        "notice_replied", {"notice": "3", "note": "fixed\nthe fence"})
    assert event_code("note", "enterprise replied to notice #4 (after the deadline): done") == (
        "notice_replied_late", {"notice": "4", "note": "done"})
    assert event_code("note", "rectification notice #5 overdue since 2026-12-01T00:00:00Z: escalated to the "
                      "officer") == ("notice_overdue", {"notice": "5", "deadline": "2026-12-01T00:00:00Z"})
    assert event_code("alert", "dust on gate") == ("alert", {"rule": "dust", "camera": "gate"})
    assert event_code("status", "lead opened") == ("opened", {})


def test_a_persons_words_have_no_code():
    assert event_code("note", "Called the site manager; rectification notice #1 sent by post") == (None, {})
    assert event_code("status", "the firm fixed it") == (None, {})
    assert event_code("note", "") == (None, {})
