"""camops control plane: the API models, CRD generation and the kopf operator."""

__version__ = "0.1.0"
