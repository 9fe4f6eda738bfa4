"""One ``camops local`` session: start the workers, show live lines, stop cleanly, print a summary.

Ctrl-C (SIGINT) or SIGTERM asks every worker to stop gracefully — each finishes what it
holds, closes its segment and leaves anything not yet uploaded in its durable queue —
then the summary is printed. A second Ctrl-C stops waiting.
"""

from __future__ import annotations

import fcntl
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from logging.handlers import RotatingFileHandler
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, TextIO

from camops_operator.api.retention import RetentionPolicy
from camops_operator.local.display import LiveDisplay
from camops_operator.local.plan import STATE_DIR, LocalTarget, PlannedCamera
from camops_operator.local.runner import LocalRunner, PolicyView
from camops_operator.local.status import render_block, render_summary

if TYPE_CHECKING:
    from camops_operator.console.serve import LocalConsole

__all__ = [
    "LOCK_NAME",
    "LOG_NAME",
    "DataFolderBusyError",
    "SessionResult",
    "configure_logging",
    "data_lock",
    "policy_lines",
    "run_session",
]

LOG_NAME = "camops-local.log"
LOCK_NAME = "local.lock"


class DataFolderBusyError(Exception):
    """Another ``camops local`` runs on the same data folder (its cameras would be captured twice)."""


@contextmanager
def data_lock(data_dir: Path) -> Iterator[None]:
    """Hold ``<data>/.camops/local.lock`` for the session; :class:`DataFolderBusyError` when another holds it."""
    path = data_dir / STATE_DIR / LOCK_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise DataFolderBusyError(
                f"{data_dir} is in use by another camops local ({holder}); stop it or pass another --data"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


_LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


def configure_logging(data_dir: Path, *, verbose: bool, err: TextIO) -> Path:
    """Send log lines to ``<data>/.camops/camops-local.log`` (and to ``err`` with ``verbose``)."""
    path = data_dir / STATE_DIR / LOG_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_camops_local", False):
            root.removeHandler(handler)
            handler.close()
    # bounded: a laptop running for weeks keeps at most 4 × 5 MB of log
    handlers: list[logging.Handler] = [RotatingFileHandler(path, maxBytes=5 * 1024**2, backupCount=3, encoding="utf-8")]
    if verbose:
        handlers.append(logging.StreamHandler(err))
    for handler in handlers:
        handler.setFormatter(logging.Formatter(_LOG_FORMAT))
        handler._camops_local = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(logging.INFO)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request would bury the camera events
    return path


def policy_lines(policies: Sequence[PolicyView]) -> list[str]:
    """One line per RetentionPolicy: what it covers, when it runs next, what it did last."""
    lines = []
    for view in policies:
        covers = ", ".join(view.cameras) or "no cameras"
        when = f"next run {view.next_run_at:%Y-%m-%d %H:%M %Z}".rstrip() if view.next_run_at else "suspended"
        line = f"retention {view.name} ({covers}): {when}"
        if view.last_result:
            line += f"; last run: {view.last_result}"
        lines.append(line)
    return lines


@contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """SIGINT/SIGTERM set ``stop``; a second SIGINT raises KeyboardInterrupt. Only in the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

    def handler(signum: int, frame: FrameType | None) -> None:
        del frame
        if stop.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        stop.set()

    for sig in previous:
        signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _start_console(
    address: str | None, runner: LocalRunner, planned: Sequence[PlannedCamera], out: TextIO
) -> LocalConsole | None:
    """Serve the web console beside the run; a console that cannot start is said and skipped."""
    if address is None:
        return None
    from camops_operator.console.serve import LocalConsole

    try:
        web = LocalConsole(runner.views, planned, address)
    except ValueError as exc:
        out.write(f"console: off ({exc})\n")
        return None
    if web.start():
        out.write(f"console: {web.url}\n")
        out.flush()
        return web
    out.write(f"console: off ({web.error}); choose another address with --console ADDR\n")
    return None


class SessionResult:
    """What a session ended with (for the demo, which prints more afterwards)."""

    def __init__(self, code: int, runner: LocalRunner) -> None:
        self.code = code
        self.runner = runner


def run_session(
    planned: Sequence[PlannedCamera],
    policies: Sequence[RetentionPolicy],
    target: LocalTarget,
    *,
    seconds: float | None,
    out: TextIO,
    tick_s: float = 0.5,
    print_every_s: float = 5.0,
    clock: Callable[[], datetime] = lambda: datetime.now().astimezone(),
    console: str | None = None,
) -> SessionResult:
    """Run until ``seconds`` pass, a signal arrives, or every worker has ended; print the summary.

    ``console`` is the loopback address to serve the web console on (None: no console)."""
    runner = LocalRunner(planned, policies, target.data_dir, clock=clock)
    display = LiveDisplay(out, every_s=print_every_s)
    started = time.monotonic()
    deadline = started + seconds if seconds is not None else None
    active = sum(1 for p in planned if p.config is not None)
    out.write(
        f"camops local: {active} camera(s) running, storing to {target.where(planned)}; "
        + (f"stopping after {seconds:g}s" if seconds is not None else "Ctrl-C to stop")
        + "\n"
    )
    out.flush()

    def lines() -> list[str]:
        return render_block(runner.views(), clock(), width=display.width())

    def policy_block() -> list[str]:
        return policy_lines(runner.policy_views())

    with _stop_on_signals(runner.stop_event):
        runner.start()
        web = _start_console(console, runner, planned, out)
        try:
            while not runner.stop_event.is_set():
                now_s = time.monotonic()
                if deadline is not None and now_s >= deadline:
                    break
                if active and not runner.running():
                    break
                display.show(lines(), now_s=now_s, stamp=f"{clock():%H:%M:%S}", when_changed=policy_block())
                runner.stop_event.wait(tick_s)
            if display.tty:
                display.show(
                    [*lines(), *policy_block(), "stopping: closing open segments, uploading what is queued..."],
                    now_s=0,
                    stamp="",
                )
            stuck = runner.stop()
        finally:
            runner.stop_event.set()
            if web is not None:
                web.stop()
            runner.cleanup()
    display.finish([*lines(), *policy_block()], stamp=f"{clock():%H:%M:%S}")
    views = runner.views()
    out.write("\n".join(render_summary(views, elapsed_s=time.monotonic() - started, location=target.where(planned))))
    out.write("\n")
    for name in stuck:
        out.write(f"camera {name}: its worker did not stop in time\n")
    out.flush()
    failed = stuck or [v.name for v in views if v.exit_code not in (None, 0)]
    return SessionResult(1 if failed else 0, runner)
