"""``camops operator``: settings errors, kopf configuration and declared permissions."""

from __future__ import annotations

import argparse

import pytest

from camops_operator import run
from camops_operator.settings import OperatorSettings
from camops_workers.kube import REQUIRED_PERMISSIONS


def test_invalid_settings_exit_2_with_the_variable_named(capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser()
    run.configure(parser)
    code = run.main(parser.parse_args([]), env={"CAMOPS_HTTP_PORT": "eighty"})
    assert code == 2
    assert "CAMOPS_HTTP_PORT" in capsys.readouterr().out


def test_kopf_runs_standalone_without_scanning() -> None:
    ks = run.kopf_settings(OperatorSettings())
    assert ks.peering.standalone is True
    assert ks.scanning.disabled is True
    assert ks.persistence.finalizer == "camops.io/finalizer"


def test_what_kopf_needs_is_declared() -> None:
    for perm in [
        ("camops.io", "cameras", "watch"),
        ("camops.io", "cameras", "list"),
        ("camops.io", "cameras", "patch"),
        ("camops.io", "cameras/status", "patch"),
        ("camops.io", "retentionpolicies", "watch"),
        ("", "events", "create"),
        ("apps", "deployments", "create"),
        ("batch", "cronjobs", "patch"),
    ]:
        assert perm in REQUIRED_PERMISSIONS
    assert not any(resource == "customresourcedefinitions" for _, resource, _ in REQUIRED_PERMISSIONS)
