"""An S3 server for tests: moto's server in its own virtualenv, on 127.0.0.1, driven by the real minio client.

One moto process serves the whole session (it starts in a second or two); each test
gets its own ``S3Server`` front: a TCP relay on a free port of its own. ``stop()``
closes the relay and cuts every open connection (clients see connection refused and
resets, exactly as when the storage goes away) and ``start()`` opens it again on the
same port. moto keeps its objects in memory, so a relay is how "storage down, then
back" can be tested while the objects already uploaded stay in the bucket.

moto is found through ``CAMOPS_MOTO_SERVER``, else ``.moto-venv/bin/moto_server``
(``make test-deps`` builds it from scripts/moto-requirements.txt).
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import pytest

from camops_workers.contract import CredentialRef, StorageConfig

__all__ = ["MotoProcess", "S3Server", "moto_server_path", "s3_server", "s3_storage_config"]

_REPO = Path(__file__).resolve().parents[2]
ACCESS_KEY = "camops-test-access"
SECRET_KEY = "camops-test-secret-value"  # noqa: S105 - a throwaway key for the local test server


def moto_server_path() -> str:
    """The moto_server executable, or a failure that says how to get one."""
    candidates = [os.environ.get("CAMOPS_MOTO_SERVER", ""), str(_REPO / ".moto-venv" / "bin" / "moto_server")]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    pytest.fail(
        "moto_server not found: run `make test-deps` (builds .moto-venv from scripts/moto-requirements.txt) "
        "or set CAMOPS_MOTO_SERVER to a moto_server executable",
        pytrace=False,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_listening(port: int, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"moto_server exited with {proc.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


class MotoProcess:
    """moto_server as a subprocess on a free port of 127.0.0.1."""

    def __init__(self) -> None:
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MOTO_"))}
        self.proc = subprocess.Popen(
            [moto_server_path(), "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        _wait_listening(self.port, 30.0, self.proc)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None


class Upstream(Protocol):
    """What the relay forwards to: anything listening on a port of 127.0.0.1."""

    port: int


class S3Server:
    """What a test talks to: ``endpoint`` (host:port), credentials, ``stop()``/``start()`` on the same port."""

    access_key = ACCESS_KEY
    secret_key = SECRET_KEY

    def __init__(self, backend: Upstream) -> None:
        self.backend = backend
        self.port = free_port()
        self._listener: socket.socket | None = None
        self._conns: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self._listener is not None

    def start(self) -> None:
        if self._listener is not None:
            return
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        self._thread = threading.Thread(target=self._accept, args=(listener,), daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Storage gone: refuse new connections and reset the open ones."""
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        with self._lock:
            conns, self._conns = list(self._conns), set()
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                conn.close()
        if self._thread is not None:
            self._thread.join(5)

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.backend.port), timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                if self._listener is not listener:
                    client.close()
                    upstream.close()
                    return
                self._conns.update((client, upstream))
            threading.Thread(target=self._pipe, args=(client, upstream), daemon=True).start()

    def _pipe(self, a: socket.socket, b: socket.socket) -> None:
        peers = {a: b, b: a}
        try:
            while True:
                readable, _, _ = select.select([a, b], [], [], 1.0)
                if self._listener is None and not readable:
                    return
                for sock in readable:
                    data = sock.recv(65536)
                    if not data:
                        return
                    peers[sock].sendall(data)
        except (OSError, ValueError):
            return
        finally:
            with self._lock:
                self._conns.discard(a)
                self._conns.discard(b)
            for sock in (a, b):
                with contextlib.suppress(OSError):
                    sock.close()

    def client(self) -> object:
        """A minio client for assertions (typed loosely: minio ships no stubs)."""
        from minio import Minio

        return Minio(self.endpoint, access_key=self.access_key, secret_key=self.secret_key, secure=False)


def s3_storage_config(server: S3Server, bucket: str, prefix: str = "") -> StorageConfig:
    """A StorageConfig for ``server``; the credentials travel through environment variables, as in a pod."""
    os.environ["CAMOPS_TEST_S3_ACCESS_KEY"] = server.access_key
    os.environ["CAMOPS_TEST_S3_SECRET_KEY"] = server.secret_key
    return StorageConfig(
        kind="s3",
        endpoint=server.endpoint,
        secure=False,
        bucket=bucket,
        access_key=CredentialRef(env="CAMOPS_TEST_S3_ACCESS_KEY"),
        secret_key=CredentialRef(env="CAMOPS_TEST_S3_SECRET_KEY"),
        prefix=prefix,
    )


@pytest.fixture(scope="session")
def moto_backend() -> Iterator[MotoProcess]:
    backend = MotoProcess()
    backend.start()
    try:
        yield backend
    finally:
        backend.stop()


@pytest.fixture
def s3_server(moto_backend: MotoProcess) -> Iterator[S3Server]:
    """A running S3 endpoint for one test (its own port; stop()/start() do not affect other tests)."""
    if moto_backend.proc is None or moto_backend.proc.poll() is not None:
        moto_backend.start()
    server = S3Server(moto_backend)
    server.start()
    try:
        yield server
    finally:
        server.stop()
