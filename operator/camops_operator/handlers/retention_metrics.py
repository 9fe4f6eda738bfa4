"""kopf handler that exports each RetentionPolicy's last-run figures from its status as metrics.

Every watch event of a policy (its status changes when ``camops retention --policy`` reports
a run) recomputes its figures (:func:`camops_operator.retention_metrics.retention_figures`,
pure) into the operator's gauges; a deleted policy's series go away.
"""

from __future__ import annotations

import logging
from typing import Any

import kopf
from pydantic import ValidationError

from camops_operator.api.retention import RetentionPolicy
from camops_operator.handlers.context import runtime as current_runtime
from camops_operator.retention_metrics import retention_figures
from camops_operator.settings import OperatorSettings

__all__ = ["on_event", "register"]

GROUP, VERSION, PLURAL = "camops.io", "v1alpha1", "retentionpolicies"
log = logging.getLogger("camops.operator")


def on_event(**kwargs: Any) -> None:
    """Export (or, on deletion, drop) the figures of the policy in kopf's ``event``."""
    event: dict[str, Any] = kwargs["event"]
    body = event.get("object") or {}
    meta = body.get("metadata") or {}
    namespace, name = meta.get("namespace", "default"), meta.get("name")
    if not name:
        return
    metrics = current_runtime().metrics
    if event.get("type") == "DELETED" or meta.get("deletionTimestamp"):
        metrics.set_retention(namespace, name, None)
        return
    try:
        policy = RetentionPolicy.model_validate(body)
    except ValidationError:
        metrics.set_retention(namespace, name, None)  # an invalid policy has no runs to report
        return
    metrics.set_retention(namespace, name, retention_figures(policy))


def register(registry: kopf.OperatorRegistry, settings: OperatorSettings) -> None:
    del settings
    kopf.on.event(GROUP, VERSION, PLURAL, registry=registry, id="retention-metrics")(on_event)
