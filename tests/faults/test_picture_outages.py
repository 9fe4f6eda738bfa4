"""The outage timeline against a real RTSP camera that goes away twice: a blip shorter than the
debounce (recorded, not announced) and a long outage (announced as disconnected, then reconnected,
through a real webhook). Numbers: seconds away as recorded against the seconds the server was down."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from camops_operator.cli import main as camops
from tests.integration.capture.helpers import RunningWorker, contract
from tests.servers.rtsp import RtspServer
from tests.servers.webhook import WebhookReceiver

pytestmark = pytest.mark.slow

DEBOUNCE_S = 9.0


def _down(server: RtspServer, seconds: float) -> float:
    """Stop the server for ``seconds``; return how long it was unreachable (until it listens again)."""
    started = time.monotonic()
    server.stop()
    time.sleep(seconds)
    server.start()
    return time.monotonic() - started


def test_outages_are_recorded_and_only_long_ones_announced(
    rtsp_server: Callable[..., RtspServer],
    webhook_receiver: WebhookReceiver,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server = rtsp_server(gop=10, fps=10)
    url = server.url("/live")
    config = contract(
        tmp_path,
        url,
        snapshots={"interval_s": 0.5},
        source={"url": url, "session": "persistent", "outage_debounce_s": DEBOUNCE_S},
        events={"types": ["io.camops.camera.outage"], "webhook": {"url": webhook_receiver.url}},
    )
    with RunningWorker(config) as worker:
        worker.wait_for(lambda s: s.capture.snapshots >= 2, 30.0)
        blip = _down(server, 0.5)
        worker.wait_for(lambda s: len(s.capture.outages) == 1 and s.capture.outages[0].end is not None, 30.0)
        snaps = worker.last.capture.snapshots if worker.last else 0
        worker.wait_for(lambda s: s.capture.snapshots >= snaps + 2, 30.0)
        long = _down(server, DEBOUNCE_S + 3.0)
        final = worker.wait_for(lambda s: len(s.capture.outages) == 2 and s.capture.outages[1].end is not None, 30.0)
        worker.wait_for(lambda s: s.queue.depth == 0, 20.0)
    first, second = final.capture.outages
    print(
        f"blip: server down {blip:.1f}s, recorded {first.seconds(first.start):.1f}s; "
        f"outage: server down {long:.1f}s, recorded {second.seconds(second.start):.1f}s; "
        f"total recorded {final.capture.outage_seconds:.1f}s"
    )
    # Recorded from the first failed read to the first picture again: the downtime, plus at most a
    # reconnect step and a keyframe, minus what the server took to die.
    assert first.seconds(first.start) < DEBOUNCE_S
    assert long - 1.0 <= second.seconds(second.start) <= long + 5.0
    assert final.capture.outage_seconds == pytest.approx(
        first.seconds(first.start) + second.seconds(second.start), abs=0.01
    )
    events = webhook_receiver.wait_for(2, timeout=10.0)
    assert webhook_receiver.invalid == []
    assert [(e.attributes["type"], e.data["state"]) for e in events] == [
        ("io.camops.camera.outage", "disconnected"),
        ("io.camops.camera.outage", "reconnected"),
    ]
    assert events[1].data["seconds"] == pytest.approx(second.seconds(second.start), abs=0.2)
    # Both outages are in the store's timeline records, per day.
    printed = capsys.readouterr().out  # what the test printed so far: shown, not parsed
    with capsys.disabled():
        print(printed, end="")
    assert camops(["stats", "--dir", str(tmp_path / "store"), "--timeline", "--json"]) == 0
    (day,) = json.loads(capsys.readouterr().out)["timeline"]
    assert day["outages"] == 2
    assert day["outageSeconds"] == pytest.approx(final.capture.outage_seconds, abs=0.2)
