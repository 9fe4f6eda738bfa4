"""Prometheus metrics of picture health, per camera, in the capture worker's registry.

Labels carry only the camera name and the state names.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge

from camops_workers.picture.judge import Verdict
from camops_workers.picture.states import PictureState

__all__ = ["PictureMetrics"]

_MEASURES = {
    "luma": ("camops_picture_luma", "Mean luma of the newest snapshot (0-255)"),
    "contrast": ("camops_picture_contrast", "Luma standard deviation of the newest snapshot"),
    "uniform": ("camops_picture_uniform_share", "Share of the newest snapshot within a few levels of one luma"),
    "sharpness": ("camops_picture_sharpness", "Edge sharpness of the newest snapshot (about 1 sharp, lower soft)"),
    "change": ("camops_picture_change", "Mean luma change since the previous snapshot"),
    "distance": (
        "camops_picture_reference_distance",
        "Share of the newest snapshot's view that differs from the learned one",
    ),
}


class PictureMetrics:
    def __init__(self, camera: str, registry: CollectorRegistry) -> None:
        self.camera = camera
        labels = ["camera"]
        self._state = Gauge(
            "camops_picture_state", "1 for the picture's current state", [*labels, "state"], registry=registry
        )
        self._transitions = Counter(
            "camops_picture_transitions",
            "Picture state changes, by the state entered",
            [*labels, "state"],
            registry=registry,
        )
        self._checked = Counter(
            "camops_picture_checks", "Snapshots whose picture was judged", labels, registry=registry
        ).labels(camera)
        self._measures = {
            field: Gauge(name, doc, labels, registry=registry).labels(camera)
            for field, (name, doc) in _MEASURES.items()
        }
        self.set_state(PictureState.HEALTHY)

    def set_state(self, state: PictureState) -> None:
        for name in PictureState:
            self._state.labels(self.camera, name.value).set(1.0 if name == state else 0.0)

    def observe(self, verdict: Verdict) -> None:
        self._checked.inc()
        for field, value in verdict.measures.as_dict().items():
            self._measures[field].set(value)
        if verdict.transition is not None:
            self._transitions.labels(self.camera, verdict.state.value).inc()
            self.set_state(verdict.state)
