"""Fixture ``rtsp_server``: a real GStreamer RTSP camera on 127.0.0.1 (gst-rtsp-server, /usr/bin/python3).

``rtsp_server(gop=25, width=320, height=240, fps=25, ...)`` starts one and returns an
``RtspServer`` with ``.url(path)``, ``.stop()`` and ``.start()`` (restarts on the same port,
so a worker can reconnect to the same URL). Every server started is stopped at teardown.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

import pytest

__all__ = ["SYSTEM_PYTHON", "RtspServer", "rtsp_server"]

SYSTEM_PYTHON = os.environ.get("CAMOPS_GST_PYTHON", "/usr/bin/python3")
_SCRIPT = Path(__file__).with_name("gst_rtsp_server.py")


class RtspServer:
    def __init__(self, **options: object) -> None:
        self.options = options
        self.port = 0
        self._proc: subprocess.Popen[str] | None = None
        self._log: IO[str] | None = None

    def url(self, path: str = "/live") -> str:
        return f"rtsp://127.0.0.1:{self.port}{path if path.startswith('/') else '/' + path}"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self, timeout: float = 15.0) -> RtspServer:
        if self.running:
            return self
        argv = [SYSTEM_PYTHON, str(_SCRIPT), "--port", str(self.port)]
        for name, value in self.options.items():
            flag = "--" + name.replace("_", "-")
            if value is True:
                argv.append(flag)
            elif value not in (False, None):
                argv += [flag, str(value)]
        deadline = time.monotonic() + timeout
        while True:
            # stderr goes to a file: a pipe nobody reads would block the server once GStreamer fills it.
            log = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 - lives as long as the server
            proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=log, text=True)
            line = _read_line(proc, deadline)
            if line.startswith("READY "):
                self.port = int(line.split()[1])
                self._proc = proc
                self._log = log
                return self
            _kill(proc)
            log.seek(0)
            err = log.read()
            log.close()
            # The port of a restarted server may still be held for a moment: retry until the deadline.
            if time.monotonic() > deadline or self.port == 0:
                raise RuntimeError(
                    f"GStreamer RTSP server did not start ({line!r}); stderr: {err[-2000:]}\n"
                    "Needs Debian packages: run scripts/system-deps.sh"
                )
            time.sleep(0.2)

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            _kill(proc)
        log, self._log = self._log, None
        if log is not None:
            log.close()

    def stderr(self) -> str:
        """What the server wrote to stderr so far (for failure messages)."""
        if self._log is None:
            return ""
        self._log.flush()
        with open(self._log.fileno(), closefd=False) as reader:
            reader.seek(0)
            return reader.read()


def _read_line(proc: subprocess.Popen[str], deadline: float) -> str:
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.2)
        if ready:
            return proc.stdout.readline().strip()
        if proc.poll() is not None:
            return ""
    return ""


def _kill(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    if proc.stdout is not None:
        proc.stdout.close()


@pytest.fixture
def rtsp_server() -> Iterator[Callable[..., RtspServer]]:
    started: list[RtspServer] = []

    def factory(**options: object) -> RtspServer:
        server = RtspServer(**options).start()
        started.append(server)
        return server

    yield factory
    for server in started:
        server.stop()
