"""Prometheus metrics of one capture worker, in its own registry (several workers can share a process).

Labels carry only the camera name and fixed words — never a URL or a credential.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

__all__ = ["SOURCE_STATES", "CaptureMetrics"]

SOURCE_STATES = ("connecting", "connected", "backoff", "stopped")


class CaptureMetrics:
    def __init__(self, camera: str, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.camera = camera
        reg = self.registry
        labels = ["camera"]
        self.packets = Counter("camops_capture_packets", "Video packets demuxed", labels, registry=reg).labels(camera)
        self.frames_decoded = Counter(
            "camops_capture_frames_decoded", "Pictures decoded (keyframe gating keeps this low)", labels, registry=reg
        ).labels(camera)
        self.snapshots = Counter("camops_capture_snapshots", "Snapshots made durable", labels, registry=reg).labels(
            camera
        )
        self.segments = Counter("camops_capture_segments", "Segments made durable", labels, registry=reg).labels(camera)
        self._bytes = Counter("camops_capture_bytes", "Bytes made durable", [*labels, "kind"], registry=reg)
        self.reconnects = Counter(
            "camops_capture_reconnects", "Source sessions reopened after a failure", labels, registry=reg
        ).labels(camera)
        self.decode_errors = Counter(
            "camops_capture_decode_errors", "Packets the decoder or encoder rejected", labels, registry=reg
        ).labels(camera)
        self._source_errors = Counter(
            "camops_capture_source_errors", "Failed source reads and fetches", [*labels, "reason"], registry=reg
        )
        self.segment_errors = Counter(
            "camops_capture_segment_errors",
            "Segments cut short because the muxer refused a packet (timestamps going backwards or repeated)",
            labels,
            registry=reg,
        ).labels(camera)
        self._sink_errors = Counter(
            "camops_capture_sink_errors", "Captures the queue could not store", labels, registry=reg
        ).labels(camera)
        self.jpeg_seconds = Histogram(
            "camops_capture_jpeg_encode_seconds",
            "Time to encode one snapshot",
            labels,
            buckets=(0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1.0),
            registry=reg,
        ).labels(camera)
        self._state = Gauge(
            "camops_capture_source_state", "1 for the current source state", [*labels, "state"], registry=reg
        )
        self.last_snapshot = Gauge(
            "camops_capture_last_snapshot_timestamp_seconds",
            "Capture time of the newest snapshot",
            labels,
            registry=reg,
        ).labels(camera)
        self.set_state("connecting")

    def add_bytes(self, kind: str, size: int) -> None:
        self._bytes.labels(self.camera, kind).inc(size)

    def source_error(self, reason: str) -> None:
        self._source_errors.labels(self.camera, reason).inc()

    def sink_error(self) -> None:
        self._sink_errors.inc()

    def set_state(self, state: str) -> None:
        for name in SOURCE_STATES:
            self._state.labels(self.camera, name).set(1.0 if name == state else 0.0)
