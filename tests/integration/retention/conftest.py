"""A moto bucket seeded once per module with 20,000 dated objects over 10 cameras and 40 days.

Nothing depends on today's date: the key dates are laid out back from a fixed ``now``
(tests.support.clock) and the seeded objects' ``LastModified`` is stamped 41 days
before it (moto would stamp the wall clock), so every object is old by
``LastModified`` and the key dates decide, exactly as in a bucket whose objects were
uploaded as they were captured. Tests pass ``--now`` to plan as of that time.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from camops_workers.storage.keys import latest_key, object_key
from tests.servers.s3 import ACCESS_KEY, SECRET_KEY, free_port, moto_server_path
from tests.support.clock import NOW

CAMERAS = [f"cam{i}" for i in range(1, 11)]  # cam1 is a string prefix of cam10
DAYS = 40
PER_DAY = 50
PREFIX = "site"
SPACING_S = 1700  # 50 captures a day, all inside their day folder
ARCHIVE = "cameras-archive"
#: How long before ``now`` the seeded objects were uploaded (older than every key date).
UPLOADED_BEFORE = timedelta(days=41)


@dataclass
class Seeded:
    endpoint: str
    bucket: str
    now: datetime
    #: key -> size of everything uploaded (latest.jpg and the neighbour prefix included)
    objects: dict[str, int] = field(default_factory=dict)

    def client(self) -> Any:
        from minio import Minio

        return Minio(self.endpoint, access_key=ACCESS_KEY, secret_key=SECRET_KEY, secure=False)

    def listing(self, prefix: str = "", bucket: str | None = None) -> dict[str, int]:
        found = self.client().list_objects(bucket or self.bucket, prefix=prefix or None, recursive=True)
        return {o.object_name: int(o.size) for o in found}

    def under(self, prefix: str) -> dict[str, int]:
        return {k: v for k, v in self.objects.items() if k.startswith(prefix)}

    def captured(self, camera: str, day: int, index: int) -> datetime:
        return self.now - timedelta(days=day, seconds=60 + index * SPACING_S)


@contextlib.contextmanager
def seeded_moto(
    buckets: dict[str, dict[str, int]], *, modified: datetime | None = None, enforce_auth: bool = False
) -> Iterator[str]:
    """A moto S3 server of its own whose buckets hold ``buckets`` ({bucket: {key: size}}); yields host:port.

    ``modified``: the ``LastModified`` of every seeded object (default: moto's clock, the wall clock).
    ``enforce_auth``: moto checks credentials against its (empty) IAM, so every request is refused with 403.
    """
    with seeded_moto_users(buckets, {}, modified=modified, enforce_auth=enforce_auth) as (endpoint, _):
        yield endpoint


@contextlib.contextmanager
def seeded_moto_users(
    buckets: dict[str, dict[str, int]],
    users: dict[str, list[str]],
    *,
    modified: datetime | None = None,
    enforce_auth: bool = True,
) -> Iterator[tuple[str, dict[str, tuple[str, str]]]]:
    """``seeded_moto`` with IAM users allowed only on their buckets; yields (host:port, {user: (access, secret)})."""
    python = Path(moto_server_path()).parent / "python"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MOTO_"))}
    if enforce_auth:
        env["INITIAL_NO_AUTH_ACTION_COUNT"] = "0"
    proc = subprocess.Popen(
        [str(python), str(Path(__file__).with_name("moto_seeded.py")), str(port)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
        text=True,
    )
    try:
        assert proc.stdin is not None
        assert proc.stdout is not None
        seed = {"buckets": buckets, "modified": modified.isoformat() if modified else None, "users": users}
        proc.stdin.write(json.dumps(seed) + "\n")
        proc.stdin.flush()
        line = proc.stdout.readline()  # bounded: the process exits (EOF) if seeding fails
        word, _, keys = line.strip().partition(" ")
        assert word == "ready", f"seeded moto did not start (exit {proc.poll()})"
        credentials = {user: (pair[0], pair[1]) for user, pair in json.loads(keys or "{}").items()}
        yield f"127.0.0.1:{port}", credentials
    finally:
        proc.kill()
        proc.wait(10)


def camera_objects(now: datetime, camera: str, prefix: str = PREFIX) -> dict[str, int]:
    out: dict[str, int] = {}
    for day in range(DAYS):
        for index in range(PER_DAY):
            when = now - timedelta(days=day, seconds=60 + index * SPACING_S)
            out[object_key("dated", prefix, camera, when, "jpg")] = 20 + (index * 7 + day) % 40
    return out


@pytest.fixture(scope="module")
def seeded() -> Iterator[Seeded]:
    """20,000 objects over 10 cameras and 40 days (+ latest.jpg each, + a neighbour prefix), module-wide."""
    bucket = "cameras"
    now = NOW
    data = Seeded(endpoint="", bucket=bucket, now=now)
    for camera in CAMERAS:
        data.objects.update(camera_objects(now, camera))
        data.objects[latest_key(PREFIX, camera)] = 33
    # A neighbouring prefix with a camera of the same name: never selected.
    neighbour = camera_objects(now, "cam1", prefix="site-b")
    data.objects.update(dict(list(neighbour.items())[-200:]))  # its oldest days
    with seeded_moto({bucket: data.objects, ARCHIVE: {}}, modified=now - UPLOADED_BEFORE) as endpoint:
        data.endpoint = endpoint
        yield data
