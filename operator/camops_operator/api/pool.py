"""The ``CameraPool`` resource (camops.io/v1alpha1): one worker process serves many cameras.

A Camera joins a pool of its namespace with ``spec.pool``. The operator runs one
StatefulSet per pool with ⌈cameras ÷ camerasPerWorker⌉ workers and tells each worker
which cameras it serves through an assignment ConfigMap. These models are the single
source of truth for ``crds/camerapools.camops.io.yaml``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from camops_operator.api.camera import (
    AnalysisSpec,
    EventsSpec,
    ResourceRequirements,
    StorageSpec,
    Toleration,
)
from camops_operator.api.common import (
    Condition,
    Duration,
    DurationText,
    ObjectMeta,
    Quantity,
    QuantityText,
    SpecModel,
    StatusModel,
)

__all__ = [
    "MAX_CAMERAS_PER_WORKER",
    "CameraPool",
    "CameraPoolSpec",
    "CameraPoolStatus",
    "PoolQueueSpec",
    "PoolWorkerStatus",
]

MAX_CAMERAS_PER_WORKER = 500

#: A free-form Kubernetes object (e.g. core/v1 Affinity), kept as written and checked by the API server.
FreeForm = Annotated[
    dict[str, Any],
    WithJsonSchema({"type": "object", "x-kubernetes-preserve-unknown-fields": True}),
]


class PoolQueueSpec(SpecModel):
    """The durable offline queue of each worker: one claim per worker (a StatefulSet volumeClaimTemplate)."""

    size: Quantity = Field(default=QuantityText("10Gi"), description="Size of each worker's queue volume.")
    storage_class_name: str | None = Field(default=None, description="StorageClass of the queue claims.")
    max_bytes: Quantity | None = Field(
        default=None,
        description="Most bytes queued per worker before the overflow policy applies; default 90% of size.",
    )
    max_items: int | None = Field(default=None, ge=1, description="Most items queued per worker.")
    max_age: Duration = Field(
        default=DurationText("7d"), description="Queued items older than this expire (counted, never silent)."
    )
    overflow: Literal["dropOldest", "rejectNew"] = Field(
        default="dropOldest",
        description="When the queue is full: dropOldest (keep the newest) or rejectNew (keep the oldest).",
    )


class CameraPoolSpec(SpecModel):
    """How the pool's workers run, and what its cameras inherit."""

    cameras_per_worker: int = Field(
        default=50, ge=1, le=MAX_CAMERAS_PER_WORKER, description="Cameras one worker process serves, at most."
    )
    image: str | None = Field(default=None, max_length=512, description="Worker image; defaults to the operator's.")
    resources: ResourceRequirements | None = Field(default=None, description="Resources of each worker container.")
    node_selector: dict[str, str] = Field(default_factory=dict, description="Node labels the workers must run on.")
    tolerations: list[Toleration] = Field(default_factory=list, description="Taints the workers tolerate.")
    affinity: FreeForm | None = Field(default=None, description="A core/v1 Affinity for the worker pods.")
    service_account_name: str | None = Field(
        default=None,
        max_length=253,
        description="Service account of the worker pods; defaults to the operator's worker account.",
    )
    offline_queue: PoolQueueSpec = Field(default=PoolQueueSpec(), description="Each worker's offline queue.")
    storage: StorageSpec | None = Field(
        default=None,
        description=(
            "Where the pool's cameras store: bucket, endpoint and Secret are the pool's (one uploader per worker); "
            "prefix and layout are defaults a camera may override."
        ),
    )
    analysis: AnalysisSpec | None = Field(default=None, description="spec.analysis for cameras that set none.")
    events: EventsSpec | None = Field(default=None, description="spec.events for cameras that set none.")


class PoolWorkerStatus(StatusModel):
    """One worker of the pool."""

    name: str = Field(description="The worker pod's name (<pool>-pool-<ordinal>).")
    cameras: int = Field(ge=0, description="Cameras assigned to it.")
    ready: bool | None = Field(default=None, description="Whether the worker pod is ready.")


class CameraPoolStatus(StatusModel):
    """Observed state of the pool."""

    observed_generation: int | None = Field(default=None, description="The .metadata.generation last reconciled.")
    workers_desired: int = Field(default=0, ge=0, description="Worker pods the pool needs.")
    workers_ready: int = Field(default=0, ge=0, description="Worker pods ready.")
    cameras: int = Field(default=0, ge=0, description="Cameras assigned to the pool's workers.")
    capacity_left: int = Field(default=0, ge=0, description="Cameras the current workers can still take.")
    workers: list[PoolWorkerStatus] = Field(default_factory=list, description="Cameras per worker.")
    conditions: list[Condition] = Field(
        default_factory=list,
        description="Ready (every worker ready).",
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]},
    )


class CameraPool(BaseModel):
    """A pool of capture workers, each serving many Cameras."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    apiVersion: Literal["camops.io/v1alpha1"] = "camops.io/v1alpha1"  # noqa: N815 - Kubernetes field name
    kind: Literal["CameraPool"] = "CameraPool"
    metadata: ObjectMeta
    spec: CameraPoolSpec = CameraPoolSpec()
    status: CameraPoolStatus | None = None

    @property
    def name(self) -> str:
        return self.metadata.name

    @property
    def namespace(self) -> str:
        return self.metadata.namespace
