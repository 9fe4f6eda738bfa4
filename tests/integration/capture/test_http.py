"""HTTP snapshot cameras: only valid JPEGs are stored; HTML, truncated, empty, 401 and 500 are counted errors."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import simplejpeg

from camops_workers.capture.http_source import HttpSnapshotSource, SnapshotError
from camops_workers.capture.worker import CaptureWorker
from camops_workers.queue.durable import DurableQueue
from tests.integration.capture.helpers import contract, drain, stored
from tests.servers.http_camera import HttpCamera

pytestmark = pytest.mark.slow

PASSWORD = "Very$ecret1"  # noqa: S105 - the test camera's
WRONG = "Wr0ng-Secret"

BAD = ("html", "truncated", "short", "empty", "401", "500")


def _run(worker: CaptureWorker, until: Callable[[], bool], timeout: float) -> None:
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,))
    thread.start()
    deadline = time.monotonic() + timeout
    while not until() and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    thread.join(10)
    assert not thread.is_alive()


def test_only_valid_jpegs_are_stored_and_errors_counted(
    tmp_path: Path, http_camera: Callable[..., HttpCamera], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="camops")
    camera = http_camera(["jpeg", *BAD, "jpeg"])
    config = contract(tmp_path, camera.url, snapshots={"interval_s": 0.1})
    queue = DurableQueue(config.queue.directory)
    worker = CaptureWorker(config, queue)
    try:
        _run(worker, lambda: camera.requests >= 16, timeout=20)
    finally:
        queue.close()
    drain(config)

    answers = dict(camera.answers)
    jpegs = stored(config, ".jpg")
    assert len(jpegs) == answers["jpeg"] >= 4
    for path in jpegs:
        assert simplejpeg.decode_jpeg_header(path.read_bytes())[:2] == (240, 320)
    state = worker.state()
    assert state.snapshots == answers["jpeg"]
    assert state.source_errors == sum(answers.get(k, 0) for k in BAD)
    metrics = worker.metrics.registry
    for reason, answer in [("html", "html"), ("unauthorized", "401"), ("server_error", "500"), ("empty", "empty")]:
        value = metrics.get_sample_value("camops_capture_source_errors_total", {"camera": "cam1", "reason": reason})
        assert value == answers[answer], reason
    truncated = metrics.get_sample_value(
        "camops_capture_source_errors_total", {"camera": "cam1", "reason": "truncated"}
    )
    assert truncated == answers["truncated"] + answers["short"]
    # failures alternate with successes: one line per change of state, not one per request
    failed_lines = [r for r in caplog.records if "source failed" in r.getMessage()]
    assert len(failed_lines) <= len(BAD) * 2 + 2


@pytest.mark.parametrize("scheme", ["basic", "digest"])
def test_basic_and_digest_auth_over_one_keep_alive_connection(
    scheme: str, http_camera: Callable[..., HttpCamera]
) -> None:
    camera = http_camera(["jpeg"], auth=scheme, username="viewer", password=PASSWORD)
    source = HttpSnapshotSource(camera.url, username="viewer", password=PASSWORD)
    try:
        shots = [source.fetch() for _ in range(4)]
    finally:
        source.close()
    assert all(s.info.width == 320 for s in shots)
    assert camera.requests == 4
    assert camera.challenges == 1  # the scheme is learned once, then sent up front
    assert len(camera.connections) == 1  # keep-alive


def test_wrong_password_is_an_error_that_never_shows_the_password(
    tmp_path: Path,
    http_camera: Callable[..., HttpCamera],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.DEBUG, logger="camops")
    camera = http_camera(["jpeg"], auth="digest", username="viewer", password=PASSWORD)
    secret_file = tmp_path / "password"
    secret_file.write_text("Wr0ng-Secret\n")
    monkeypatch.setenv("CAM_USER", "viewer")
    config = contract(
        tmp_path,
        camera.url,
        source={"url": camera.url, "username": {"env": "CAM_USER"}, "password": {"file": str(secret_file)}},
        snapshots={"interval_s": 0.1},
    )
    queue = DurableQueue(config.queue.directory)
    worker = CaptureWorker(config, queue)
    try:
        _run(worker, lambda: camera.challenges >= 8, timeout=10)  # two challenges per failed fetch
        assert queue.stats().depth == 0
    finally:
        queue.close()
    state = worker.state()
    assert state.snapshots == 0
    assert state.source_errors >= 3
    assert state.last_error is not None
    assert "unauthorized" in state.last_error
    assert "Wr0ng-Secret" not in caplog.text + str(state)
    with pytest.raises(SnapshotError) as info:
        HttpSnapshotSource(camera.url, username="viewer", password=WRONG).fetch()
    assert info.value.reason == "unauthorized"
    assert "Wr0ng-Secret" not in str(info.value)


def test_each_snapshot_is_decoded_once_for_its_thumbnail_and_its_picture_check(
    tmp_path: Path, http_camera: Callable[..., HttpCamera], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An HTTP camera's JPEG gives ``latest.thumb.jpg`` and picture health's luma from one decode."""
    decodes = [0]
    real = simplejpeg.decode_jpeg

    def counted(*args: object, **kwargs: object) -> object:
        decodes[0] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(simplejpeg, "decode_jpeg", counted)  # counts the real decoder's calls
    camera = http_camera(["jpeg"], width=1280, height=720)
    config = contract(tmp_path, camera.url, snapshots={"interval_s": 0.1})
    queue = DurableQueue(config.queue.directory)
    worker = CaptureWorker(config, queue)
    try:
        _run(worker, lambda: worker.state().snapshots >= 5, timeout=20)
    finally:
        queue.close()
    drain(config)
    state = worker.state()
    thumb = (Path(str(config.storage.directory)) / "cam1" / "latest.thumb.jpg").read_bytes()
    print(f"\nHTTP snapshots: {state.snapshots}, JPEG decodes {decodes[0]}")
    assert state.snapshots >= 5
    assert state.picture is not None  # judged
    assert simplejpeg.decode_jpeg_header(thumb)[:2] == (180, 320)
    assert decodes[0] == state.snapshots
