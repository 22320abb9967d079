"""Drop-oldest hand-off between a camera's reader and its consumer: the reader never blocks."""
from __future__ import annotations

import threading
from collections import deque
from typing import Generic, TypeVar

T = TypeVar("T")


class DropOldestQueue(Generic[T]):
    """A bounded queue whose `put` never blocks: when full, the oldest item is dropped and counted."""

    def __init__(self, maxsize: int = 2):
        if maxsize < 1:
            raise ValueError(f"expected maxsize >= 1, found {maxsize}")
        self._items: deque[T] = deque()
        self._maxsize = maxsize
        self._cond = threading.Condition()
        self.dropped = 0

    def put(self, item: T) -> int:
        """Add an item; returns how many old items it pushed out (0 or 1)."""
        with self._cond:
            dropped = 0
            while len(self._items) >= self._maxsize:
                self._items.popleft()
                dropped += 1
            self._items.append(item)
            self.dropped += dropped
            self._cond.notify()
            return dropped

    def get(self, timeout: float | None = None) -> T | None:
        """The oldest item, or None when nothing came within `timeout`."""
        with self._cond:
            if not self._cond.wait_for(lambda: bool(self._items), timeout=timeout):
                return None
            return self._items.popleft()

    def __len__(self) -> int:
        return len(self._items)
