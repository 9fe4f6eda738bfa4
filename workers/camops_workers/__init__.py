"""camops data plane: capture workers, the durable queue, storage and retention.

This package never imports ``camops_operator`` or kopf (an import-linter contract).
"""

__version__ = "0.1.0"
