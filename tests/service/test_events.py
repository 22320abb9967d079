"""The live-update bus: fan-out to every subscriber, bounded queues that drop the oldest, unsubscribe."""
from __future__ import annotations

import threading

import pytest

from api.service.events import EventBus


def test_fan_out_drop_oldest_and_close():
    bus = EventBus()
    fast, slow = bus.subscribe(100), bus.subscribe(3)
    for i in range(5):
        bus.publish("alert.new", {"i": i})
    assert [fast.get(0.1)[1]["i"] for _ in range(5)] == [0, 1, 2, 3, 4]
    assert [slow.get(0.1)[1]["i"] for _ in range(3)] == [2, 3, 4] and slow.dropped == 2
    assert slow.get(0.01) is None
    slow.close()
    assert bus.subscribers == 1
    bus.publish("camera.state", {"camera_id": "gate"})
    assert fast.get(0.1) == ("camera.state", {"camera_id": "gate"})


def test_publishers_on_many_threads_never_block():
    bus = EventBus()
    sub = bus.subscribe(10)
    threads = [threading.Thread(target=lambda: [bus.publish("job.progress", {}) for _ in range(500)])
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert not any(t.is_alive() for t in threads)
    assert sub.dropped == 2000 - 10


@pytest.mark.parametrize("kind,size", [("alert.bogus", 10), ("alert.new", 0)])
def test_bad_kind_or_size_is_refused(kind, size):
    bus = EventBus()
    with pytest.raises(ValueError):
        bus.subscribe(size) if size < 1 else bus.publish(kind, {})
