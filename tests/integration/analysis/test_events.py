"""CloudEvents reach a real webhook receiver (checked by the SDK's parser) and a real NATS server, in order."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from cloudevents.core.formats.json import JSONFormat
from prometheus_client import REGISTRY

from camops_workers.contract import (
    AnalysisConfig,
    EventsConfig,
    NatsSinkConfig,
    SourceConfig,
    WebhookSinkConfig,
    WorkerConfig,
)
from camops_workers.events.publisher import EventPublisher, build_sinks
from camops_workers.items import Capture, ItemKind
from camops_workers.listeners import build_listeners, close_listeners
from camops_workers.queue.durable import DurableQueue, QueueLimits
from tests.integration.analysis.support import BASE_TIME, jpeg, snapshot, wait_until
from tests.servers.inference import InferenceServer
from tests.servers.nats_server import NatsRecorder, NatsServer
from tests.servers.webhook import WebhookReceiver


def _sequence(attributes: dict[str, Any]) -> int:
    return int(attributes["sequence"])


@pytest.mark.parametrize("mode", ["structured", "binary"])
def test_events_arrive_in_order_with_the_right_types_and_data(
    mode: str, tmp_path: Path, inference_server: InferenceServer, webhook_receiver: WebhookReceiver
) -> None:
    queue = DurableQueue(tmp_path / "queue")
    config = WorkerConfig(
        camera="door",
        namespace="site-a",
        source=SourceConfig(url="rtsp://192.0.2.1/stream"),
        analysis=AnalysisConfig(endpoint=inference_server.url),
        events=EventsConfig(webhook=WebhookSinkConfig(url=webhook_receiver.url, mode=mode)),  # type: ignore[arg-type]
    )
    listeners = build_listeners(config, queue)
    snapshots = [snapshot("door", i, jpeg(seed=i)) for i in range(5)]
    segment_file = tmp_path / "segment.mp4"
    segment_file.write_bytes(b"\x00\x00\x00\x18ftypmp42")
    segment = Capture("door", ItemKind.SEGMENT, BASE_TIME, "door/seg.mp4", "video/mp4", path=segment_file)
    try:
        for listener in listeners:
            listener.state_changed("door", "connected", "rtsp://192.0.2.1/stream")
        for capture in snapshots:
            queue.put(capture)
            for listener in listeners:
                listener.captured(capture)
        for listener in listeners:
            listener.captured(segment)
            listener.state_changed("door", "backoff", "connect to rtsp://admin:pa55word@192.0.2.1/stream failed")
        events = webhook_receiver.wait_for(1 + 5 + 1 + 1 + 5)
    finally:
        close_listeners(listeners)
        queue.close()

    assert webhook_receiver.invalid == []
    assert len(events) == 13
    assert {e.mode for e in events} == {mode}
    sequences = [_sequence(e.attributes) for e in events]
    assert sequences == sorted(sequences), "delivered in the order they happened"
    assert len(set(sequences)) == 13
    assert {e.attributes["source"] for e in events} == {"/camops/site-a/door"}
    assert {e.attributes["specversion"] for e in events} == {"1.0"}
    assert len({e.attributes["id"] for e in events}) == 13

    by_type: dict[str, list[Any]] = {}
    for e in events:
        by_type.setdefault(e.attributes["type"], []).append(e)
    assert [e.data["key"] for e in by_type["io.camops.snapshot.stored"]] == [c.key for c in snapshots]
    assert [e.attributes["subject"] for e in by_type["io.camops.snapshot.stored"]] == [c.key for c in snapshots]
    assert by_type["io.camops.snapshot.stored"][0].data["bytes"] == len(snapshots[0].data or b"")
    assert by_type["io.camops.snapshot.stored"][0].data["alsoKeys"] == ["door/latest.jpg"]
    assert [e.data["key"] for e in by_type["io.camops.segment.closed"]] == ["door/seg.mp4"]
    states = by_type["io.camops.camera.state"]
    assert [e.data["state"] for e in states] == ["connected", "backoff"]
    assert "pa55word" not in states[1].data["detail"]
    results = by_type["io.camops.analysis.result"]
    assert sorted(e.data["key"] for e in results) == sorted(c.key for c in snapshots)
    for e in results:
        assert e.data["resultKey"] == f"{e.data['key']}.json"
        assert e.data["result"]["key"] == e.data["key"]
        assert e.data["status"] == 200
    # a snapshot's stored event comes before the analysis result about it
    position = {(e.attributes["type"], e.data.get("key")): i for i, e in enumerate(events)}
    for c in snapshots:
        assert position[("io.camops.snapshot.stored", c.key)] < position[("io.camops.analysis.result", c.key)]


def test_a_webhook_outage_keeps_the_newest_events_in_order_and_counts_the_rest(
    webhook_receiver: WebhookReceiver,
) -> None:
    webhook_receiver.stop()
    labels = {"camera": "door", "sink": "webhook", "reason": "outbox_full"}
    dropped_before = REGISTRY.get_sample_value("camops_events_dropped_total", labels) or 0.0
    publisher = EventPublisher.from_config(
        "door", "site-a", EventsConfig(outbox_size=5, webhook=WebhookSinkConfig(url=webhook_receiver.url))
    )
    try:
        for i in range(20):
            publisher.captured(snapshot("door", i, jpeg()))
        assert wait_until(lambda: publisher.stats()[0].retries >= 2)
        webhook_receiver.start()
        assert wait_until(lambda: publisher.stats()[0].outbox == 0 and len(webhook_receiver.received()) >= 5)
    finally:
        publisher.close()
    stats = publisher.stats()[0]
    events = webhook_receiver.received()
    assert stats.published == len(events)
    assert stats.published + sum(stats.dropped.values()) == 20, "every event delivered or counted"
    assert stats.dropped["outbox_full"] >= 20 - 5 - 1
    dropped_metric = (REGISTRY.get_sample_value("camops_events_dropped_total", labels) or 0.0) - dropped_before
    assert dropped_metric == stats.dropped["outbox_full"]
    sequences = [_sequence(e.attributes) for e in events]
    assert sequences == sorted(sequences)
    assert sequences[-5:] == list(range(16, 21)), "the newest events survive the outage"


def test_webhook_retries_busy_answers_and_drops_rejected_events(webhook_receiver: WebhookReceiver) -> None:
    publisher = EventPublisher.from_config(
        "door", "site-a", EventsConfig(webhook=WebhookSinkConfig(url=webhook_receiver.url))
    )
    try:
        webhook_receiver.fail_next = 2  # two 503s: retried, then delivered
        publisher.state_changed("door", "connected", "")
        assert wait_until(lambda: publisher.stats()[0].published == 1)
        assert webhook_receiver.requests == 3
        webhook_receiver.fail_status, webhook_receiver.fail_next = 400, 1  # a 400: given up at once, counted
        publisher.state_changed("door", "backoff", "")
        publisher.state_changed("door", "connected", "")
        assert wait_until(lambda: publisher.stats()[0].published == 2)
    finally:
        publisher.close()
    stats = publisher.stats()[0]
    assert stats.retries == 2
    assert stats.dropped == {"rejected": 1}
    assert webhook_receiver.requests == 5
    assert [e.data["state"] for e in webhook_receiver.received()] == ["connected", "connected"]


def test_nats_sink_publishes_each_event_on_its_subject_and_survives_a_restart(nats_server: NatsServer) -> None:
    recorder = NatsRecorder(nats_server.url, "camops.>")
    publisher = EventPublisher.from_config(
        "door", "site-a", EventsConfig(nats=NatsSinkConfig(servers=[nats_server.url]))
    )
    fmt = JSONFormat()
    try:
        publisher.state_changed("door", "connected", "")
        for i in range(3):
            publisher.captured(snapshot("door", i, jpeg()))
        messages = recorder.wait_for(4)
        assert [m.subject for m in messages] == ["camops.site-a.door.camera.state"] + [
            "camops.site-a.door.snapshot.stored"
        ] * 3
        parsed = [fmt.read(None, m.data) for m in messages]
        assert [int(e.get_extension("sequence")) for e in parsed] == [1, 2, 3, 4]
        assert messages[0].headers["Content-Type"] == "application/cloudevents+json"

        recorder.close()
        nats_server.stop()
        publisher.captured(snapshot("door", 3, jpeg()))
        assert wait_until(lambda: publisher.stats()[0].retries >= 1)
        nats_server.start()
        recorder = NatsRecorder(nats_server.url, "camops.>")
        publisher.captured(snapshot("door", 4, jpeg()))
        later = recorder.wait_for(2, timeout=20)
    finally:
        publisher.close()
        recorder.close()
    assert [int(fmt.read(None, m.data).get_extension("sequence")) for m in later] == [5, 6]
    assert publisher.stats()[0].dropped == {}


def test_queue_overflow_is_published_once_per_episode(tmp_path: Path, webhook_receiver: WebhookReceiver) -> None:
    queue = DurableQueue(
        tmp_path / "queue", QueueLimits(max_bytes=2**30, max_items=3, max_age_s=86400.0, overflow="dropOldest")
    )
    config = EventsConfig(webhook=WebhookSinkConfig(url=webhook_receiver.url))
    publisher = EventPublisher(
        camera="door",
        namespace="site-a",
        config=config,
        sinks=build_sinks("door", "site-a", config),
        queue_dropped=lambda: queue.stats().dropped,
        overflow_poll_s=0.1,
    )
    frame = jpeg()
    try:
        time.sleep(0.3)  # the watcher takes its first reading
        for i in range(10):
            queue.put(snapshot("door", i, frame))
        assert wait_until(lambda: len(webhook_receiver.received()) == 1)
        time.sleep(0.5)  # no drops for a few polls: the episode ends
        for i in range(10, 15):
            queue.put(snapshot("door", i, frame))
        assert wait_until(lambda: len(webhook_receiver.received()) == 2)
        time.sleep(0.3)
    finally:
        publisher.close()
        queue.close()
    events = webhook_receiver.received()
    assert [e.data["state"] for e in events] == ["overflow", "overflow"]
    assert {e.attributes["type"] for e in events} == {"io.camops.camera.state"}
    assert "dropped" in events[0].data["detail"]
