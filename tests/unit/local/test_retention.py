"""RetentionPolicies in local mode: the real retention job over the real folder store, on the policy's schedule."""

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from camops_operator.local.manifests import parse_manifests
from camops_operator.local.plan import LocalTarget, plan_cameras
from camops_operator.local.retention import archive_config
from camops_operator.local.runner import LocalRunner

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def _docs(policy_spec: dict[str, Any]) -> list[dict[str, Any]]:
    def camera(name: str, labels: dict[str, str]) -> dict[str, Any]:
        return {
            "apiVersion": "camops.io/v1alpha1",
            "kind": "Camera",
            "metadata": {"name": name, "labels": labels},
            "spec": {"source": {"url": "rtsp://192.0.2.1/s"}},
        }

    return [
        camera("kept-long", {}),
        camera("gate", {"retention": "week"}),
        {
            "apiVersion": "camops.io/v1alpha1",
            "kind": "RetentionPolicy",
            "metadata": {"name": "week"},
            "spec": {"selector": {"matchLabels": {"retention": "week"}}, **policy_spec},
        },
    ]


def _put(data: Path, key: str, when: datetime) -> Path:
    path = data.joinpath(*key.split("/"))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\xff\xd8\xff" + b"x" * 1000)
    os.utime(path, (when.timestamp(), when.timestamp()))
    return path


def _runner(data: Path, policy_spec: dict[str, Any]) -> LocalRunner:
    manifests = parse_manifests(("t.yaml", d) for d in _docs(policy_spec))
    planned = plan_cameras(manifests, LocalTarget(data_dir=data), {})
    return LocalRunner(planned, manifests.policies, data, clock=lambda: NOW)


def test_a_policy_deletes_old_objects_of_the_cameras_it_selects(tmp_path: Path) -> None:
    old = NOW - timedelta(days=10)
    old_gate = _put(tmp_path, "gate/2026-11/12/120000.000.jpg", old)
    young_gate = _put(tmp_path, "gate/2026-11/22/110000.000.jpg", NOW - timedelta(hours=1))
    latest = _put(tmp_path, "gate/latest.jpg", old)
    other = _put(tmp_path, "kept-long/2026-11/12/120000.000.jpg", old)
    runner = _runner(tmp_path, {"maxAge": "7d", "schedule": "15 3 * * *"})
    [view] = runner.policy_views()
    assert view.cameras == ("gate",)
    assert view.next_run_at == datetime(2026, 11, 23, 3, 15, tzinfo=UTC)
    result = runner.run_policy(runner.policies[0], NOW)
    assert result.startswith("deleted 1 object(s), 1003 B")
    assert not old_gate.exists()
    assert young_gate.exists()
    assert latest.exists()  # latest.jpg is never a retention candidate
    assert other.exists()  # not selected
    [after] = runner.policy_views()
    assert after.last_result == result
    assert after.last_run_at == NOW


def test_a_dry_run_deletes_nothing_and_says_what_it_would(tmp_path: Path) -> None:
    old = _put(tmp_path, "gate/2026-11/12/120000.000.jpg", NOW - timedelta(days=10))
    runner = _runner(tmp_path, {"maxAge": "7d", "dryRun": True})
    assert runner.run_policy(runner.policies[0], NOW).startswith("would delete 1 object(s)")
    assert old.exists()


def test_archive_goes_to_a_folder_beside_the_queue(tmp_path: Path) -> None:
    old = _put(tmp_path, "gate/2026-11/12/120000.000.jpg", NOW - timedelta(days=10))
    runner = _runner(tmp_path, {"maxAge": "7d", "archive": {"bucket": "cold-store"}})
    result = runner.run_policy(runner.policies[0], NOW)
    assert "archived 1" in result
    assert not old.exists()
    assert (tmp_path / ".camops/archive/cold-store/gate/2026-11/12/120000.000.jpg").read_bytes()[:3] == b"\xff\xd8\xff"


def test_a_suspended_policy_has_no_next_run(tmp_path: Path) -> None:
    runner = _runner(tmp_path, {"maxAge": "7d", "suspend": True})
    assert runner.policy_views()[0].next_run_at is None


def test_archive_config() -> None:
    manifests = parse_manifests(
        ("t.yaml", d)
        for d in _docs({"maxAge": "7d", "maxBytesPerCamera": "1Gi", "archive": {"bucket": "arch", "after": "3d"}})
    )
    [_, gate] = plan_cameras(manifests, LocalTarget(data_dir=Path("/d")), {})
    assert gate.config is not None
    assert archive_config(gate.config.storage, "arch").directory == "/d/.camops/archive/arch"
