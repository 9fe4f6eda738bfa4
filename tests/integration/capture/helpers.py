"""Helpers for the capture integration tests: contracts, a running worker, what reached the store."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from camops_workers.contract import WorkerConfig
from camops_workers.queue.durable import DurableQueue
from camops_workers.queue.uploader import UploaderPool
from camops_workers.runtime import WorkerStatus, run_worker
from camops_workers.storage.local import LocalStore


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def contract(tmp_path: Path, url: str, **sections: Any) -> WorkerConfig:
    """A worker contract storing into ``tmp_path/store`` through the queue in ``tmp_path/queue``."""
    data: dict[str, Any] = {
        "camera": "cam1",
        "source": {"url": url, "connect_timeout_s": 5.0, "stall_timeout_s": 5.0},
        "snapshots": {"interval_s": 0.5, "quality": 80},
        "storage": {"kind": "local", "directory": str(tmp_path / "store"), "bucket": "unused"},
        "queue": {"directory": str(tmp_path / "queue"), "uploaders": 1},
        "http_host": "127.0.0.1",
        "http_port": 0,
    }
    for name, value in sections.items():
        if isinstance(value, dict) and isinstance(data.get(name), dict):
            data[name] = {**data[name], **value}
        else:
            data[name] = value
    return WorkerConfig.model_validate(data)


class RunningWorker:
    """``run_worker`` on a thread; ``statuses`` collects what it reports each 0.2 s."""

    def __init__(self, config: WorkerConfig) -> None:
        self.config = config
        self.stop_event = threading.Event()
        self.statuses: list[WorkerStatus] = []
        self.code: int | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        self.code = run_worker(
            self.config, self.stop_event, serve_http=False, on_status=self.statuses.append, status_interval_s=0.2
        )

    def __enter__(self) -> RunningWorker:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def last(self) -> WorkerStatus | None:
        return self.statuses[-1] if self.statuses else None

    def wait_for(self, predicate: Callable[[WorkerStatus], bool], timeout: float) -> WorkerStatus:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            last = self.last
            if last is not None and predicate(last):
                return last
            time.sleep(0.1)
        raise AssertionError(f"condition not met within {timeout}s; last status: {self.last}")

    def stop(self, timeout: float = 30.0) -> int | None:
        self.stop_event.set()
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "run_worker did not return"
        return self.code


def drain(config: WorkerConfig) -> LocalStore:
    """Upload whatever the worker left queued, and return the store."""
    queue = DurableQueue(config.queue.directory)
    store = LocalStore(str(config.storage.directory))
    try:
        UploaderPool(queue, store, workers=1).drain(max_seconds=20)
    finally:
        queue.close()
    return store


def stored(config: WorkerConfig, suffix: str) -> list[Path]:
    """Stored objects of the camera with ``suffix``, oldest first (``latest.jpg`` and its thumbnail excluded)."""
    root = Path(str(config.storage.directory))
    return sorted(p for p in root.rglob(f"*{suffix}") if not p.name.startswith("latest."))
