"""The drop-oldest buffer keeps the newest frames and tells the producer what it dropped."""

import threading

from camops_workers.analysis.buffer import DropOldestBuffer


def test_full_buffer_drops_the_oldest_and_returns_it() -> None:
    buffer: DropOldestBuffer[int] = DropOldestBuffer(3)
    assert [buffer.put(i) for i in range(5)] == [None, None, None, 0, 1]
    assert [buffer.get(0) for _ in range(4)] == [2, 3, 4, None]


def test_get_waits_for_a_producer_and_close_wakes_consumers() -> None:
    buffer: DropOldestBuffer[str] = DropOldestBuffer(2)
    got: list[str | None] = []
    consumer = threading.Thread(target=lambda: got.append(buffer.get(10)))
    consumer.start()
    buffer.put("frame")
    consumer.join(5)
    assert got == ["frame"]
    waiting = threading.Thread(target=lambda: got.append(buffer.get(30)))
    waiting.start()
    buffer.close()
    waiting.join(5)
    assert not waiting.is_alive()
    assert got == ["frame", None]


def test_drain_empties_the_buffer() -> None:
    buffer: DropOldestBuffer[int] = DropOldestBuffer(4)
    for i in range(3):
        buffer.put(i)
    assert buffer.drain() == [0, 1, 2]
    assert len(buffer) == 0
