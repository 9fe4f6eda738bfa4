"""Render the Helm chart with the real Helm library (helm-python-sdk, Helm's Go SDK, offline)."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import helm_python as helm
import yaml

__all__ = ["ALL_ON", "CHART", "NAMESPACE", "RELEASE", "ROOT", "Rendered", "render"]

ROOT = Path(__file__).resolve().parents[3]
CHART = ROOT / "charts" / "camops"
RELEASE = "camops"
NAMESPACE = "camops-system"

#: Every optional part of the chart switched on.
ALL_ON: dict[str, Any] = {
    "watchNamespaces": ["cameras", "lobby"],
    "storage": {"endpoint": "minio.minio.svc:9000", "secure": False, "region": "eu-west-1"},
    "mediamtx": {"enabled": True, "api": {"password": "not-a-real-password"}, "hls": True},
    "metrics": {
        "serviceMonitor": {"enabled": True},
        "podMonitor": {"enabled": True},
        "prometheusRule": {"enabled": True},
    },
    "grafanaDashboard": {"enabled": True},
    "console": {"enabled": True, "ingress": {"enabled": True, "host": "cameras.example.com"}},
    "events": {"webhookUrl": "http://events.ops.svc:8080/in", "webhookMode": "binary", "natsUrl": "nats://nats:4222"},
    "operator": {"priorityClassName": "system-cluster-critical", "extraEnv": [{"name": "TZ", "value": "UTC"}]},
}


@dataclass(frozen=True)
class Rendered:
    """What `helm template` would print: the manifests (in template order) and the NOTES."""

    manifests: tuple[dict[str, Any], ...]
    notes: str

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [m for m in self.manifests if m["kind"] == kind]

    def one(self, kind: str, name: str) -> dict[str, Any]:
        found = [m for m in self.of_kind(kind) if m["metadata"]["name"] == name]
        assert len(found) == 1, f"expected one {kind}/{name}, found {len(found)}"
        return found[0]


@functools.cache
def _render(values_json: str) -> Rendered:
    with helm.Chart.load(CHART) as chart:
        out = chart.render(json.loads(values_json), name=RELEASE, namespace=NAMESPACE, is_install=True)
    manifests: list[dict[str, Any]] = []
    notes = ""
    for path in sorted(out):
        if path.endswith("NOTES.txt"):
            notes = out[path]
            continue
        manifests += [doc for doc in yaml.safe_load_all(out[path]) if doc]
    return Rendered(tuple(manifests), notes)


def render(values: dict[str, Any] | None = None) -> Rendered:
    """Render the chart (cached per values; treat the result as read-only)."""
    return _render(json.dumps(values or {}, sort_keys=True))
