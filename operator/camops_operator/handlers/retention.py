"""kopf handlers for RetentionPolicy: keep its ``<policy>-retention`` CronJob, say so in status.

* create / update / resume: validate, build the CronJob (pure), apply it adopted by
  the policy (``ownerReferences``, so deleting the policy removes it), then patch
  ``observedGeneration`` and the ``Ready`` condition.
* The job itself (``camops retention --policy``) writes the run's figures and the
  ``LastRunSucceeded`` condition; this handler keeps that condition as it finds it.
* The CronJob mounts the own storage Secrets of the Cameras the policy selects; a timer
  (every drift interval) re-applies it, so a Camera that gains or changes its
  ``spec.storage.secretRef`` is covered from the next run on (an unchanged CronJob is not written).
"""

from __future__ import annotations

import datetime
import logging
from typing import Any

import kopf
from pydantic import ValidationError

from camops_operator import k8s
from camops_operator.api.camera import Camera
from camops_operator.api.common import describe_error, make_condition
from camops_operator.api.retention import RetentionPolicy, RetentionPolicyStatus
from camops_operator.builders.retention import build_retention_cron_job, policy_storage_secrets, retention_name
from camops_operator.handlers.context import retry_delay
from camops_operator.handlers.context import runtime as current_runtime
from camops_operator.settings import OperatorSettings
from camops_workers.redact import redact

__all__ = ["READY", "ready_status", "reconcile", "register"]

GROUP, VERSION, PLURAL = "camops.io", "v1alpha1", "retentionpolicies"
READY = "Ready"
log = logging.getLogger("camops.operator")


def ready_status(
    previous: RetentionPolicyStatus | None,
    *,
    generation: int | None,
    ready: bool,
    reason: str,
    message: str,
    now: datetime.datetime,
) -> dict[str, Any] | None:
    """The status patch for the operator's part (pure), or None when nothing changes.

    Keeps every other condition (the job's ``LastRunSucceeded``) and moves
    ``lastTransitionTime`` only when ``Ready`` changes its status.
    """
    prior = list(previous.conditions) if previous is not None else []
    old = next((c for c in prior if c.type == READY), None)
    condition = make_condition(
        READY, "True" if ready else "False", reason, message, now=now, before=old, generation=generation
    )
    if (
        old is not None
        and old.model_dump(exclude={"last_transition_time"}) == condition.model_dump(exclude={"last_transition_time"})
        and previous is not None
        and previous.observed_generation == generation
    ):
        return None
    conditions = [c for c in prior if c.type != READY] + [condition]
    return {
        "observedGeneration": generation,
        "conditions": [c.model_dump(mode="json", by_alias=True, exclude_none=True) for c in conditions],
    }


def _previous(body: kopf.Body) -> RetentionPolicyStatus | None:
    try:
        return RetentionPolicyStatus.model_validate(dict(body.get("status") or {}))
    except ValidationError:
        return None


def _valid_cameras(items: list[dict[str, Any]]) -> list[Camera]:
    """The Cameras that validate (an invalid one is reported by its own handler, and never cleaned)."""
    cameras = []
    for item in items:
        try:
            cameras.append(Camera.model_validate(item))
        except ValidationError:
            continue
    return cameras


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


async def reconcile(body: kopf.Body, patch: kopf.Patch, retry: int, reason: str, **_: Any) -> None:
    """Apply the policy's CronJob and report Ready."""
    rt = current_runtime()
    meta = body.get("metadata", {})
    generation = meta.get("generation")
    previous = _previous(body)
    try:
        policy = RetentionPolicy.model_validate(dict(body))
    except ValidationError as exc:
        message = describe_error(exc)
        changes = ready_status(
            previous, generation=generation, ready=False, reason="InvalidSpec", message=message, now=_now()
        )
        if changes is not None:
            patch.setdefault("status", {}).update(changes)
            kopf.event(body, type="Warning", reason="InvalidSpec", message=redact(message))
        log.warning("retentionpolicy %s/%s: invalid spec: %s", meta.get("namespace"), meta.get("name"), message)
        raise kopf.PermanentError(f"InvalidSpec: {message}") from None
    try:
        api = rt.require_kube()
        secrets = policy_storage_secrets(policy, _valid_cameras(await k8s.list_cameras(api, policy.metadata.namespace)))
        applied = await k8s.ensure_cron_job(
            api, build_retention_cron_job(policy, rt.settings, secrets), owner_uid=policy.metadata.uid
        )
    except k8s.API_FAILURES as exc:
        delay = retry_delay(rt.settings.retry_delay, retry)
        message = redact(k8s.describe_failure(exc))
        log.warning(
            "retentionpolicy %s/%s: applying its CronJob failed: %s",
            policy.metadata.namespace,
            policy.metadata.name,
            message,
        )
        raise kopf.TemporaryError(f"applying its CronJob failed: {message}", delay=delay) from None
    state = "suspended" if policy.spec.suspend else f"scheduled {policy.spec.schedule!r} (UTC)"
    message = f"CronJob {retention_name(policy)} {state}" + (", dry run" if policy.spec.dry_run else "")
    changes = ready_status(
        previous,
        generation=generation,
        ready=True,
        reason="Suspended" if policy.spec.suspend else "Scheduled",
        message=message,
        now=_now(),
    )
    if changes is not None:
        patch.setdefault("status", {}).update(changes)
    if applied.result is not k8s.ApplyResult.UNCHANGED:
        kopf.event(body, type="Normal", reason="CronJobApplied", message=f"{message} ({applied.result.value})")
    if reason == "timer" and applied.result is k8s.ApplyResult.UNCHANGED:
        return  # the periodic pass found nothing to do: no log line a minute per policy
    log.info(
        "retentionpolicy %s/%s: CronJob %s %s (%s)",
        policy.metadata.namespace,
        policy.metadata.name,
        retention_name(policy),
        applied.result.value,
        reason,
    )


async def refresh(body: kopf.Body, patch: kopf.Patch, retry: int = 0, **_: Any) -> None:
    """The timer: re-apply a valid policy's CronJob (its Cameras' storage Secrets may have changed)."""
    try:
        RetentionPolicy.model_validate(dict(body))
    except ValidationError:
        return  # reported once by reconcile; nothing to keep
    await reconcile(body=body, patch=patch, retry=retry, reason="timer")


def register(registry: kopf.OperatorRegistry, settings: OperatorSettings) -> None:
    """Register the RetentionPolicy handlers."""
    on = kopf.on
    on.create(GROUP, VERSION, PLURAL, registry=registry, id="retention")(reconcile)
    on.update(GROUP, VERSION, PLURAL, registry=registry, id="retention", field="spec")(reconcile)
    on.resume(GROUP, VERSION, PLURAL, registry=registry, id="retention")(reconcile)
    kopf.timer(
        GROUP,
        VERSION,
        PLURAL,
        registry=registry,
        id="retention-secrets",
        interval=settings.drift_interval,
        initial_delay=settings.drift_interval,
        idle=None,
    )(refresh)
