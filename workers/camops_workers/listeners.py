"""Build the capture listeners (analysis hand-off, event publishing) a worker config asks for."""

from __future__ import annotations

from camops_workers.contract import WorkerConfig
from camops_workers.items import CaptureListener

__all__ = ["build_listeners"]


def build_listeners(config: WorkerConfig) -> list[CaptureListener]:
    """The listeners for ``config``; each owns its threads and is closed through ``close()`` if it has one."""
    del config
    return []
