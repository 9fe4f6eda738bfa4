"""The camops API (camops.io/v1alpha1) as pydantic models: the single source of truth."""

from camops_operator.api.camera import Camera, CameraPhase, CameraSpec, CameraStatus, CaptureStatus
from camops_operator.api.common import API_VERSION, GROUP, VERSION, Condition
from camops_operator.api.retention import RetentionPolicy, RetentionPolicySpec, RetentionPolicyStatus

__all__ = [
    "API_VERSION",
    "GROUP",
    "VERSION",
    "Camera",
    "CameraPhase",
    "CameraSpec",
    "CameraStatus",
    "CaptureStatus",
    "Condition",
    "RetentionPolicy",
    "RetentionPolicySpec",
    "RetentionPolicyStatus",
]
