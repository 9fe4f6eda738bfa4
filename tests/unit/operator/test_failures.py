"""Handler failures carry a message a person can act on, even when the exception has none."""

from __future__ import annotations

import aiohttp

from camops_operator import k8s


def test_exceptions_without_a_message_are_still_described() -> None:
    assert k8s.describe_failure(TimeoutError()) == "TimeoutError: the Kubernetes API did not answer in time"
    assert k8s.describe_failure(aiohttp.ServerDisconnectedError()) == "ServerDisconnectedError: Server disconnected"
    assert k8s.describe_failure(ConnectionResetError()) == "ConnectionResetError (no message)"
    assert k8s.describe_failure(k8s.KubeError(403, "Forbidden", "no")) == "403 Forbidden: no"
    assert isinstance(aiohttp.ServerDisconnectedError(), k8s.API_FAILURES)
