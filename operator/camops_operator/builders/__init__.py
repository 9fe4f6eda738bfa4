"""Pure builders: a validated Camera (or RetentionPolicy) plus settings in, plain manifests out.

No I/O, no kopf, no clock: everything they need is passed in, so they are tested
with plain asserts and validated against the real Kubernetes schemas.
"""

__all__: list[str] = []
