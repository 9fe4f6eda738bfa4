"""kopf handlers (thin): each module has ``register(registry, settings)``.

Handlers are registered into an explicit registry by :func:`register_all`, so
intervals and timeouts come from the operator's settings and tests can run
several operators one after another in one process.
"""

from __future__ import annotations

import kopf

from camops_operator.handlers import camera, children, indexes, pool, retention, retention_metrics
from camops_operator.settings import OperatorSettings

__all__ = ["register_all"]


def register_all(settings: OperatorSettings) -> kopf.OperatorRegistry:
    """A fresh registry with every camops handler in it."""
    registry = kopf.OperatorRegistry()
    for module in (indexes, camera, children, pool, retention, retention_metrics):
        register = getattr(module, "register", None)
        if register is not None:
            register(registry, settings)
    return registry
