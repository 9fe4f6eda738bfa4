"""Picture health against real cameras: the GStreamer RTSP server's /picture/<fault> mounts and the
HTTP test camera's ``picture`` answers show a healthy scene, then a fault, then the scene again.
Each fault is reported within the configured snapshots and clears when the picture is back; a
healthy scene (noise, light swinging) raises nothing."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from camops_operator.cli import main as camops
from camops_workers.picture import PictureState
from tests.integration.capture.helpers import RunningWorker, contract
from tests.servers.http_camera import HttpCamera
from tests.servers.pictures import Timeline
from tests.servers.rtsp import RtspServer
from tests.servers.webhook import WebhookReceiver

pytestmark = pytest.mark.slow

EXPECTED = {
    "freeze": PictureState.FROZEN,
    "black": PictureState.BLACK,
    "uniform": PictureState.UNIFORM,
    "blur": PictureState.BLURRED,
    "scene": PictureState.SCENE_CHANGED,
    "normal": None,
}
ENTER, EXIT = 3, 2
#: A freeze shows from its second picture; an encoder settling on a repeated picture may take one more.
SLACK = 2


def _timeline(worker: RunningWorker) -> list[tuple[int, PictureState, PictureState]]:
    """(snapshot number, what it showed, reported state), one entry per snapshot seen."""
    seen: dict[int, tuple[PictureState, PictureState]] = {}
    for status in worker.statuses:
        verdict = status.capture.picture
        if verdict is not None:
            seen.setdefault(status.capture.snapshots, (verdict.raw, verdict.state))
    return [(n, raw, state) for n, (raw, state) in sorted(seen.items())]


def _judge(name: str, fault: str, timeline: list[tuple[int, PictureState, PictureState]]) -> dict[str, int | None]:
    expected = EXPECTED[fault]
    states = [state for _, _, state in timeline]
    alarms = sum(1 for a, b in itertools.pairwise(states) if b not in (a, PictureState.HEALTHY))
    if expected is None:
        print(f"{name}: {len(timeline)} snapshots, alarms {alarms}")
        return {"alarms": alarms, "detect": None, "clear": None}
    first_raw = next((n for n, raw, _ in timeline if raw == expected), None)
    reported = next((n for n, _, state in timeline if state == expected), None)
    back = next(
        (n for n, raw, state in timeline if reported is not None and n > reported and raw == PictureState.HEALTHY), None
    )
    cleared = next(
        (n for n, _, state in timeline if reported is not None and n > reported and state == PictureState.HEALTHY), None
    )
    detect = None if first_raw is None or reported is None else reported - first_raw + 1
    clear = None if back is None or cleared is None else cleared - back + 1
    print(f"{name}: {len(timeline)} snapshots, detected after {detect}, cleared after {clear}, alarms {alarms}")
    return {"alarms": alarms, "detect": detect, "clear": clear}


def _wait(workers: dict[str, RunningWorker], snapshots: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if all(w.last is not None and w.last.capture.snapshots >= snapshots for w in workers.values()):
            return
        time.sleep(0.2)


def _check(results: dict[str, dict[str, int | None]]) -> None:
    for name, got in results.items():
        fault = name.split("/")[-1]
        if EXPECTED[fault] is None:
            assert got["alarms"] == 0, (name, got)
            continue
        assert got["detect"] is not None, f"{name}: never reported"
        assert got["detect"] <= ENTER + SLACK, (name, got)
        assert got["clear"] is not None, f"{name}: never cleared"
        assert got["clear"] <= EXIT + SLACK, (name, got)
        assert got["alarms"] == 1, (name, got)  # the fault only, nothing before or after


def test_rtsp_picture_faults_are_reported_and_clear(rtsp_server: Callable[..., RtspServer], tmp_path: Path) -> None:
    server = rtsp_server(picture_before=8.0, picture_during=8.0)
    health = {"enter_after": ENTER, "exit_after": EXIT}
    with ExitStack() as stack:
        workers = {
            f"rtsp/{fault}": stack.enter_context(
                RunningWorker(
                    contract(
                        tmp_path / fault,
                        server.url(f"/picture/{fault}"),
                        snapshots={"interval_s": 1.0},
                        source={"url": server.url(f"/picture/{fault}"), "session": "persistent"},
                        health=health,
                    )
                )
            )
            for fault in EXPECTED
        }
        _wait(workers, 22, 90.0)
    _check({name: _judge(name, name.split("/")[1], _timeline(w)) for name, w in workers.items()})


def test_http_picture_faults_are_reported_and_clear(
    http_camera: Callable[..., HttpCamera],
    webhook_receiver: WebhookReceiver,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    health = {"enter_after": ENTER, "exit_after": EXIT}
    events = {"types": ["io.camops.camera.picture"], "webhook": {"url": webhook_receiver.url}}
    with ExitStack() as stack:
        workers = {}
        for fault in EXPECTED:
            camera = http_camera(["picture"], picture=Timeline(fault, 8.0, 6.0))
            sections: dict[str, Any] = {"snapshots": {"interval_s": 0.3}, "health": health}
            if fault == "black":
                sections["events"] = events
            workers[f"http/{fault}"] = stack.enter_context(
                RunningWorker(contract(tmp_path / fault, camera.url, **sections))
            )
        _wait(workers, 20, 60.0)
        for w in workers.values():
            w.wait_for(lambda s: s.queue.depth == 0, 20.0)
    _check({name: _judge(name, name.split("/")[1], _timeline(w)) for name, w in workers.items()})
    # The timeline records beside the snapshots: `camops stats --timeline` tells the same story.
    for fault, expected in EXPECTED.items():
        argv = ["stats", "--dir", str(tmp_path / fault / "store"), "--timeline", "--json"]
        printed = capsys.readouterr().out  # what the test printed so far: shown, not parsed
        with capsys.disabled():
            print(printed, end="")
        assert camops(argv) == 0
        rows = json.loads(capsys.readouterr().out)["timeline"]
        faults = {state: n for row in rows for state, n in row["pictureFaults"].items()}
        assert faults == ({expected.value: 1} if expected else {}), (fault, rows)
    # One CloudEvent per change of the picture's state: black, then healthy again.
    received = webhook_receiver.wait_for(2, timeout=10.0)
    assert webhook_receiver.invalid == []
    assert [(e.attributes["type"], e.data["state"], e.data["previous"]) for e in received] == [
        ("io.camops.camera.picture", "Black", "Healthy"),
        ("io.camops.camera.picture", "Healthy", "Black"),
    ]
    assert received[0].data["message"].startswith("picture black for ")
