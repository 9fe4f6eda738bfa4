"""`camops retention`'s pure parts: the policy's rules, the status it reports, and the
CronJob's environment being what `--policy` reads."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

import pytest

from camops_operator.api.retention import RetentionPolicy, RetentionPolicyStatus
from camops_operator.builders.retention import build_retention_cron_job
from camops_operator.handlers.retention import ready_status
from camops_operator.retention_cli import LAST_RUN_CONDITION, configure, policy_status, rules_from_policy
from camops_operator.settings import OperatorSettings
from camops_workers.retention.job import CameraReport, RunReport
from camops_workers.retention.options import storage_config

T0 = datetime(2026, 3, 20, 3, 15, tzinfo=UTC)
T1 = datetime(2026, 3, 20, 3, 16, tzinfo=UTC)


def policy(**spec: Any) -> RetentionPolicy:
    return RetentionPolicy.model_validate(
        {"metadata": {"name": "p", "namespace": "ns", "uid": "u"}, "spec": {"maxAge": "7d", **spec}}
    )


def test_rules_from_policy() -> None:
    rules = rules_from_policy(policy(maxBytesPerCamera="1Gi", archive={"bucket": "arch", "after": "3d"}))
    assert (rules.max_age_s, rules.max_bytes, rules.archive_after_s) == (7 * 86400, 2**30, 3 * 86400)
    assert rules_from_policy(policy(archive={"bucket": "arch"})).archive_after_s == 7 * 86400
    assert rules_from_policy(policy()).archive_after_s is None


def report(errors: list[str] | None = None, deleted: int = 5) -> RunReport:
    cam = CameraReport(camera="door", key_prefix="door/", deleted=deleted, bytes_freed=deleted * 10)
    cam.errors.extend(errors or [])
    return RunReport(started_at=T0, dry_run=False, cameras=[cam])


def test_status_after_a_good_run_keeps_other_conditions() -> None:
    previous = RetentionPolicyStatus.model_validate(
        {
            "conditions": [
                {"type": "Ready", "status": "True", "reason": "Scheduled", "lastTransitionTime": "2026-01-01T00:00:00Z"}
            ]
        }
    )
    status = policy_status(
        previous, started=T0, finished=T1, report=report(), cameras=1, errors=[], reason="Succeeded", message="ok"
    )
    assert status["objectsDeleted"] == 5
    assert status["bytesFreed"] == 50
    assert status["lastRun"] == "2026-03-20T03:15:00Z"
    assert status["lastSuccess"] == "2026-03-20T03:16:00Z"
    assert [c["type"] for c in status["conditions"]] == ["Ready", LAST_RUN_CONDITION]
    RetentionPolicyStatus.model_validate(status)  # the shape the CRD accepts


def test_status_after_a_failed_run_has_redacted_errors_and_no_success() -> None:
    bad = report(errors=["delete door/x.jpg: http://user:hunter2@minio:9000 refused"])
    status = policy_status(
        None, started=T0, finished=T1, report=bad, cameras=1, errors=[], reason="Failed", message="x"
    )
    assert "lastSuccess" not in status
    assert status["conditions"][0]["status"] == "False"
    assert "hunter2" not in str(status)
    assert len(status["errors"]) == 1


def test_transition_time_moves_only_when_the_status_changes() -> None:
    first = policy_status(None, started=T0, finished=T0, report=report(), cameras=1, errors=[], reason="S", message="")
    again = policy_status(
        RetentionPolicyStatus.model_validate(first),
        started=T1,
        finished=T1,
        report=report(),
        cameras=1,
        errors=[],
        reason="S",
        message="",
    )
    assert again["conditions"][0]["lastTransitionTime"] == first["conditions"][0]["lastTransitionTime"]
    failed = policy_status(
        RetentionPolicyStatus.model_validate(first),
        started=T1,
        finished=T1,
        report=None,
        cameras=0,
        errors=["boom"],
        reason="F",
        message="boom",
    )
    assert failed["conditions"][0]["lastTransitionTime"] == "2026-03-20T03:16:00Z"


def test_ready_status_keeps_the_jobs_condition_and_skips_no_op_patches() -> None:
    job = {"type": LAST_RUN_CONDITION, "status": "True", "reason": "S", "lastTransitionTime": "2026-01-01T00:00:00Z"}
    previous = RetentionPolicyStatus.model_validate({"conditions": [job]})
    patch = ready_status(previous, generation=2, ready=True, reason="Scheduled", message="m", now=T0)
    assert patch is not None
    assert patch["observedGeneration"] == 2
    assert [c["type"] for c in patch["conditions"]] == [LAST_RUN_CONDITION, "Ready"]
    same = ready_status(
        RetentionPolicyStatus.model_validate(patch), generation=2, ready=True, reason="Scheduled", message="m", now=T1
    )
    assert same is None


def test_cron_job_environment_is_what_the_policy_run_reads() -> None:
    settings = OperatorSettings(storage_endpoint="minio.storage:9000", storage_secure=False, storage_bucket="cams")
    cron = build_retention_cron_job(policy(), settings)
    [container] = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e.get("value", "from-secret") for e in container["env"]}
    read = OperatorSettings.from_env(env)
    assert (read.storage_endpoint, read.storage_secure, read.storage_bucket) == ("minio.storage:9000", False, "cams")
    parser = argparse.ArgumentParser()
    configure(parser)
    args = parser.parse_args(["--policy", "ns/p"])
    args.bucket, args.endpoint = read.storage_bucket, read.storage_endpoint
    config = storage_config(args)
    assert config.access_key is not None
    assert config.access_key.env in env
    assert config.secret_key is not None
    assert config.secret_key.env in env


@pytest.mark.parametrize("text", ["ns", "/p", "ns/", "a/b/c"])
def test_policy_reference_must_be_namespace_slash_name(text: str, capsys: pytest.CaptureFixture[str]) -> None:
    from camops_operator.cli import main as camops

    assert camops(["retention", "--policy", text]) == 2
    assert "NAMESPACE/NAME" in capsys.readouterr().err


def test_kubernetes_failures_are_sorted_into_bad_input_and_unavailable() -> None:
    import urllib3
    from kubernetes.client.exceptions import ApiException
    from kubernetes.config import ConfigException

    from camops_operator.retention_cli import BadInputError, UnavailableError, _api_problem

    assert "not found" in str(_api_problem(ApiException(status=404), "p"))
    forbidden = _api_problem(ApiException(status=403, reason="Forbidden"), "p")
    assert isinstance(forbidden, BadInputError)
    assert "no permission" in str(forbidden)
    assert isinstance(_api_problem(ConfigException("no config"), "p"), BadInputError)
    assert isinstance(_api_problem(ApiException(status=503, reason="Unavailable"), "p"), UnavailableError)
    refused = urllib3.exceptions.ProtocolError("connection refused")
    assert isinstance(_api_problem(refused, "p"), UnavailableError)
