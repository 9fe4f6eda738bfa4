"""A bounded, thread-safe FIFO that never blocks the producer: when full, the oldest item goes.

The capture thread puts frames (analysis) and events (outboxes) here; a consumer thread takes
them. ``put`` returns the item it pushed out so the caller can count the drop.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Generic, TypeVar

__all__ = ["DropOldestBuffer"]

T = TypeVar("T")


class DropOldestBuffer(Generic[T]):
    """At most ``capacity`` items; ``put`` is O(1) and never waits for the consumer."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self._items: deque[T] = deque()
        self._cond = threading.Condition(threading.Lock())
        self._closed = False

    def put(self, item: T) -> T | None:
        """Append ``item``; return the oldest item when it had to make room, else None."""
        with self._cond:
            dropped = self._items.popleft() if len(self._items) >= self.capacity else None
            self._items.append(item)
            self._cond.notify()
        return dropped

    def get(self, timeout: float) -> T | None:
        """The oldest item, waiting up to ``timeout`` seconds; None on timeout or once closed and empty."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not self._items:
                remaining = deadline - time.monotonic()
                if self._closed or remaining <= 0:
                    return None
                self._cond.wait(remaining)
            return self._items.popleft()

    def drain(self) -> list[T]:
        """Remove and return everything buffered."""
        with self._cond:
            items = list(self._items)
            self._items.clear()
            return items

    def close(self) -> None:
        """Wake every waiting consumer; ``get`` returns None once the buffer is empty."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed

    def __len__(self) -> int:
        return len(self._items)
