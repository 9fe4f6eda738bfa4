"""Fault: HTTP cameras that answer 401 without a ``WWW-Authenticate`` challenge (the HTTP test
camera in its no-challenge mode), next to the ones that challenge properly.

camops sends Basic to a camera that refuses without a challenge, then up front on every
request; it still answers Digest challenges with Digest (never Basic first over plain HTTP);
and when the camera refuses anyway, the error says what the camera answered (status, the
challenge or its absence, what was sent) and never the credentials.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from camops_workers.capture.http_source import HttpSnapshotSource, SnapshotError
from camops_workers.capture.worker import CaptureWorker
from camops_workers.contract import CredentialRef, WorkerConfig
from camops_workers.queue.durable import DurableQueue
from tests.servers.http_camera import HttpCamera

USER, PASSWORD, WRONG = "viewer", "c0rrect-H0rse", "Wr0ng-Batt3ry"
FETCHES = 10


def _config(tmp_path: Path, url: str) -> WorkerConfig:
    return WorkerConfig.model_validate(
        {
            "camera": "bare401",
            "source": {"url": url, "username": {"env": "CAM_USER"}, "password": {"env": "CAM_PASS"}},
            "snapshots": {"interval_s": 0.1},
            "storage": {"kind": "local", "directory": str(tmp_path / "store")},
            "queue": {"directory": str(tmp_path / "queue")},
        }
    )


def test_camera_without_challenge_gets_basic_and_every_snapshot_is_stored(
    tmp_path: Path, http_camera: Callable[..., HttpCamera], monkeypatch: pytest.MonkeyPatch
) -> None:
    camera = http_camera(["jpeg"], auth="basic", challenge=False, username=USER, password=PASSWORD)
    monkeypatch.setenv("CAM_USER", USER)
    monkeypatch.setenv("CAM_PASS", PASSWORD)
    config = _config(tmp_path, camera.url)
    queue = DurableQueue(config.queue.directory)
    worker = CaptureWorker(config, queue)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,))
    thread.start()
    deadline = time.monotonic() + 15
    while worker.state().snapshots < FETCHES and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    thread.join(10)
    queue.close()
    state = worker.state()
    print(
        f"\nno-challenge camera: {state.snapshots} snapshots stored, {camera.challenges} bare 401, "
        f"{state.source_errors} errors"
    )
    assert state.snapshots >= FETCHES
    assert state.source_errors == 0
    assert camera.challenges == 1  # refused once without credentials, then Basic up front
    assert state.last_error is None


@pytest.mark.parametrize("scheme", ["basic", "digest"])
def test_challenging_cameras_still_get_their_scheme(scheme: str, http_camera: Callable[..., HttpCamera]) -> None:
    camera = http_camera(["jpeg"], auth=scheme, username=USER, password=PASSWORD)
    source = HttpSnapshotSource(camera.url, username=USER, password=PASSWORD)
    try:
        shots = [source.fetch() for _ in range(3)]
    finally:
        source.close()
    assert len(shots) == 3
    assert camera.challenges == 1


@pytest.mark.parametrize(
    ("options", "password", "says"),
    [
        (
            {"auth": "basic", "challenge": False},
            WRONG,
            "camera answered 401 with no WWW-Authenticate challenge to Basic",
        ),
        ({"auth": "basic"}, WRONG, "camera answered 401 with a Basic challenge (realm 'camera') to Basic"),
        ({"auth": "digest"}, WRONG, "camera answered 401 with a Digest challenge (realm 'camera') to Digest"),
        ({"auth": "basic", "challenge": False}, None, "no WWW-Authenticate challenge; no credentials are configured"),
    ],
)
def test_refusals_say_what_the_camera_answered_and_never_the_credentials(
    http_camera: Callable[..., HttpCamera], options: dict[str, object], password: str | None, says: str
) -> None:
    camera = http_camera(["jpeg"], username=USER, password=PASSWORD, **options)
    source = HttpSnapshotSource(camera.url, username=USER if password else None, password=password)
    try:
        with pytest.raises(SnapshotError) as info:
            source.fetch()
    finally:
        source.close()
    message = str(info.value)
    print(f"\n{options} -> {message}")
    assert info.value.reason == "unauthorized"
    assert says in message
    assert WRONG not in message
    assert USER not in message


def test_a_corrected_password_is_used_at_once_and_the_error_clears(
    tmp_path: Path, http_camera: Callable[..., HttpCamera], monkeypatch: pytest.MonkeyPatch
) -> None:
    camera = http_camera(["jpeg"], auth="basic", challenge=False, username=USER, password=PASSWORD)
    secret = tmp_path / "password"
    secret.write_text(WRONG)
    monkeypatch.setenv("CAM_USER", USER)
    config = _config(tmp_path, camera.url)
    source = config.source.model_copy(update={"password": CredentialRef(file=str(secret))})
    config = config.model_copy(update={"source": source})
    queue = DurableQueue(config.queue.directory)
    worker = CaptureWorker(config, queue)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,))
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while worker.state().source_errors < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        refused = worker.state()
        secret.write_text(PASSWORD)  # the Secret is corrected
        fixed_at = time.monotonic()
        while worker.state().snapshots < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        recovered_s = time.monotonic() - fixed_at
        state = worker.state()
    finally:
        stop.set()
        thread.join(10)
        queue.close()
    print(f"\nwrong password: {refused.source_errors} refusals; corrected: 3 snapshots {recovered_s:.2f}s later")
    assert refused.last_error is not None
    assert "camera answered 401 with no WWW-Authenticate challenge to Basic credentials" in refused.last_error
    assert WRONG not in refused.last_error
    assert state.snapshots >= 3
    assert state.last_error is None  # cleared once pictures came again
