"""With storage.copyFrom the operator may read that one Secret in its namespace and write the storage
Secret's copy in each camera namespace — exactly what the code's storage-secret scopes declare, and
nothing without it."""

from __future__ import annotations

from typing import Any

import pytest

from camops_workers.kube import STORAGE_SECRET_COPIES, STORAGE_SECRET_SOURCE
from tests.support.rbac import Rbac
from tests.unit.chart.render import NAMESPACE, render
from tests.unit.chart.test_rbac import OPERATOR_SA, _in, grants, scoped  # noqa: F401 - the fixture

SOURCE = "camops-storage-source"
COPY = "camops-storage"


@pytest.mark.parametrize(
    ("values", "namespaces"),
    [
        ({"watchNamespaces": ["cameras", "lobby"]}, ["cameras", "lobby"]),
        ({"workers": {"namespaces": ["site-a"]}}, ["site-a"]),
    ],
    ids=["watched", "workers.namespaces"],
)
def test_copy_on_grants_exactly_the_declared_calls(
    scoped: dict[str, set[Any]],  # noqa: F811 - the fixture of test_rbac
    values: dict[str, Any],
    namespaces: list[str],
) -> None:
    source_calls = _in(STORAGE_SECRET_SOURCE, scoped["operator"])
    copy_calls = _in(STORAGE_SECRET_COPIES, scoped["operator"])
    assert source_calls == {("", "secrets", "get")}
    assert copy_calls == {("", "secrets", "get"), ("", "secrets", "create"), ("", "secrets", "patch")}
    off = render(values)
    on = render({**values, "storage": {"copyFrom": SOURCE}})
    before, after = Rbac.of(off.manifests, OPERATOR_SA), Rbac.of(on.manifests, OPERATOR_SA)
    assert all(after.allows(p, NAMESPACE, SOURCE) for p in source_calls)
    # no other Secret of the release namespace becomes readable (watching all namespaces reads them anyway)
    other = ("", "secrets", "get")
    assert after.allows(other, NAMESPACE, "someone-elses") == before.allows(other, NAMESPACE, "someone-elses")
    for namespace in namespaces:
        assert all(after.allows(p, namespace, COPY) for p in copy_calls), namespace
        assert not after.allows(("", "secrets", "patch"), namespace, "someone-elses")
        assert grants(on, OPERATOR_SA, namespace) - grants(off, OPERATOR_SA, namespace) <= copy_calls
        assert not before.allows(("", "secrets", "create"), namespace)
    assert grants(on, OPERATOR_SA, None) == grants(off, OPERATOR_SA, None), "nothing cluster-wide"
    (container,) = on.one("Deployment", "camops")["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["CAMOPS_STORAGE_SECRET_SOURCE"] == SOURCE
    assert env["CAMOPS_STORAGE_SECRET_NAMESPACES"] == ",".join(namespaces)
    (plain,) = off.one("Deployment", "camops")["spec"]["template"]["spec"]["containers"]
    assert "CAMOPS_STORAGE_SECRET_SOURCE" not in {e["name"] for e in plain["env"]}
