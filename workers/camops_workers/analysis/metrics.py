"""Prometheus metrics of the analysis hand-off (labels carry camera names, never URLs or tokens)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

__all__ = ["BREAKER_OPEN", "BUFFERED", "DROPPED", "IN_FLIGHT", "LATENCY", "REQUESTS", "STORED"]

REQUESTS = Counter(
    "camops_analysis_requests_total",
    "Analysis requests by result (ok, empty, invalid_response, http_error, timeout, connection_error).",
    ["camera", "result"],
)
LATENCY = Histogram(
    "camops_analysis_request_duration_seconds",
    "Time from sending a frame to the endpoint's answer.",
    ["camera"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
DROPPED = Counter(
    "camops_analysis_dropped_frames_total",
    "Frames not analysed: buffer_full (endpoint too slow), circuit_open (endpoint failing), "
    "failed (the request failed), store_failed (the answer could not be queued).",
    ["camera", "reason"],
)
IN_FLIGHT = Gauge("camops_analysis_in_flight", "Analysis requests being sent or awaited right now.", ["camera"])
BUFFERED = Gauge("camops_analysis_buffered_frames", "Frames waiting for a free request slot.", ["camera"])
BREAKER_OPEN = Gauge(
    "camops_analysis_circuit_open", "1 while the circuit breaker holds requests back (open or half-open).", ["camera"]
)
STORED = Counter("camops_analysis_results_stored_total", "Answers queued for storage as <key>.json.", ["camera"])
