"""The ``RetentionPolicy`` resource (camops.io/v1alpha1): which objects to delete and when."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from camops_operator.api.common import (
    Condition,
    Duration,
    ObjectMeta,
    Quantity,
    Rule,
    SpecModel,
    StatusModel,
    rules_schema,
    run_rules,
)

__all__ = [
    "RETENTION_RULES",
    "ArchiveSpec",
    "LabelSelector",
    "LabelSelectorRequirement",
    "RetentionPolicy",
    "RetentionPolicySpec",
    "RetentionPolicyStatus",
]

CRON_PATTERN = r"^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|(\S+\s+){4}\S+)$"


class LabelSelectorRequirement(SpecModel):
    """One label requirement (as in a Kubernetes LabelSelector)."""

    key: str = Field(min_length=1, max_length=317, description="The label key.")
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist"] = Field(description="In, NotIn, Exists or DoesNotExist.")
    values: list[str] = Field(default_factory=list, description="Values for In and NotIn; empty otherwise.")


class LabelSelector(SpecModel):
    """Which Cameras in the policy's namespace it covers. An empty selector selects every Camera."""

    match_labels: dict[str, str] = Field(default_factory=dict, description="Labels a Camera must carry.")
    match_expressions: list[LabelSelectorRequirement] = Field(
        default_factory=list, description="Label requirements, all of which must hold."
    )

    def matches(self, labels: dict[str, str]) -> bool:
        """Whether a Camera with ``labels`` is selected (Kubernetes LabelSelector semantics)."""
        if any(labels.get(k) != v for k, v in self.match_labels.items()):
            return False
        for req in self.match_expressions:
            present = req.key in labels
            if req.operator == "In" and (not present or labels[req.key] not in req.values):
                return False
            if req.operator == "NotIn" and present and labels[req.key] in req.values:
                return False
            if req.operator == "Exists" and not present:
                return False
            if req.operator == "DoesNotExist" and present:
                return False
        return True


class ArchiveSpec(SpecModel):
    """Copy objects to an archive bucket (and check the copy) before deleting them."""

    bucket: str = Field(
        min_length=3, max_length=63, pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", description="The archive bucket."
    )
    after: Duration | None = Field(
        default=None,
        description="Archive objects older than this; defaults to maxAge (archive, then delete, in one step).",
    )


RETENTION_RULES: list[Rule[RetentionPolicySpec]] = [
    Rule(
        cel="!has(self.archive) || !has(self.archive.after) || self.archive.after != ''",
        message="spec.archive.after must not be empty",
        check=lambda s: s.archive is None or s.archive.after != "",
    ),
]


class RetentionPolicySpec(SpecModel):
    """Delete what selected Cameras stored once it is older than maxAge, or beyond a per-camera quota."""

    model_config = ConfigDict(json_schema_extra=rules_schema(RETENTION_RULES))

    selector: LabelSelector = Field(default=LabelSelector(), description="Cameras this policy covers.")
    max_age: Duration = Field(description="Delete objects older than this (by their LastModified), e.g. 7d.")
    max_bytes_per_camera: Quantity | None = Field(
        default=None, description="Delete the oldest objects of a camera until it stores at most this much."
    )
    archive: ArchiveSpec | None = Field(default=None, description="Archive before deleting.")
    schedule: str = Field(
        default="0 3 * * *", max_length=128, pattern=CRON_PATTERN, description="Cron schedule of the retention job."
    )
    suspend: bool = Field(default=False, description="Suspend scheduled runs.")
    dry_run: bool = Field(default=False, description="Plan and report, delete nothing.")

    @model_validator(mode="after")
    def _rules(self) -> RetentionPolicySpec:
        return run_rules(self, RETENTION_RULES)

    @property
    def max_age_s(self) -> float:
        return self.max_age.seconds


class RetentionPolicyStatus(StatusModel):
    """What the last retention run did."""

    observed_generation: int | None = Field(default=None, description="The .metadata.generation last reconciled.")
    last_run: str | None = Field(default=None, description="When the last run started (RFC 3339).")
    last_success: str | None = Field(default=None, description="When a run last finished without errors (RFC 3339).")
    objects_deleted: int = Field(default=0, ge=0, description="Objects the last run deleted.")
    bytes_freed: int = Field(default=0, ge=0, description="Bytes the last run freed.")
    objects_archived: int = Field(default=0, ge=0, description="Objects the last run archived.")
    cameras_covered: int = Field(default=0, ge=0, description="Cameras the last run covered.")
    errors: list[str] = Field(default_factory=list, description="Errors of the last run (at most 20, redacted).")
    conditions: list[Condition] = Field(
        default_factory=list,
        description="Ready and LastRunSucceeded.",
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]},
    )


class RetentionPolicy(BaseModel):
    """A retention policy over a set of Cameras."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    apiVersion: Literal["camops.io/v1alpha1"] = "camops.io/v1alpha1"  # noqa: N815 - Kubernetes field name
    kind: Literal["RetentionPolicy"] = "RetentionPolicy"
    metadata: ObjectMeta
    spec: RetentionPolicySpec
    status: RetentionPolicyStatus | None = None
