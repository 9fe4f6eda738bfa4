"""The chart's RBAC grants exactly what the code calls — derived from the code, not a hand-kept list.

Every function that calls the Kubernetes API declares it with ``camops_workers.kube.requires``
(registered at import time in ``REQUIRED_PERMISSIONS``). Importing every module of both packages
collects them; a permission declared in ``camops_operator`` belongs to the operator, one declared in
``camops_workers`` to the pods the operator starts (capture workers, drain and retention jobs).
The rendered Roles and bindings must grant each identity all of its permissions, where it acts,
and nothing else.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest

import camops_operator
import camops_workers
from camops_workers.kube import REQUIRED_PERMISSIONS, Permission
from tests.unit.chart.render import ALL_ON, NAMESPACE, Rendered, render

#: Resources that exist outside namespaces: only a ClusterRoleBinding can grant them.
CLUSTER_SCOPED = {
    ("", "namespaces"),
    ("", "nodes"),
    ("", "persistentvolumes"),
    ("apiextensions.k8s.io", "customresourcedefinitions"),
    ("kopf.dev", "clusterkopfpeerings"),
    ("storage.k8s.io", "storageclasses"),
}
#: Granted beyond the declarations, each for a reason the code cannot declare.
OPERATOR_EXTRA: dict[Permission, str] = {
    ("camops.io", "cameras/finalizers", "update"): "ownerReferences with blockOwnerDeletion to a Camera",
    ("camops.io", "retentionpolicies/finalizers", "update"): "ownerReferences with blockOwnerDeletion to a policy",
    ("camops.io", "camerapools/finalizers", "update"): "ownerReferences with blockOwnerDeletion to a pool",
}
OPERATOR_SA = ("camops-system", "camops")
WORKER_SA_NAME = "camops-worker"


def _modules(package: ModuleType) -> Iterator[ModuleType]:
    yield package
    for info in pkgutil.walk_packages(package.__path__, prefix=package.__name__ + "."):
        yield importlib.import_module(info.name)


def _declared_in(module: ModuleType) -> set[Permission]:
    """Permissions on the functions (and methods) a module defines."""
    found: set[Permission] = set()
    for value in vars(module).values():
        candidates: list[Any] = [value]
        if inspect.isclass(value) and value.__module__ == module.__name__:
            candidates += [getattr(m, "__func__", m) for m in vars(value).values()]
        for candidate in candidates:
            if getattr(candidate, "__module__", None) == module.__name__:
                found |= getattr(candidate, "__camops_permissions__", set())
    return found


@pytest.fixture(scope="module")
def required() -> dict[str, set[Permission]]:
    """{"operator": ..., "workload": ...}, after importing every module of both packages."""
    by_package: dict[str, set[Permission]] = {"operator": set(), "workload": set()}
    for key, package in (("operator", camops_operator), ("workload", camops_workers)):
        for module in _modules(package):
            by_package[key] |= _declared_in(module)
    assert by_package["operator"] | by_package["workload"] == REQUIRED_PERMISSIONS, (
        "a permission was registered without a function carrying it: declare it with @requires on the caller"
    )
    return by_package


def _triples(rules: list[dict[str, Any]]) -> set[Permission]:
    out: set[Permission] = set()
    for rule in rules:
        for field in ("apiGroups", "resources", "verbs"):
            assert "*" not in rule[field], f"wildcard in {rule}"
        assert "resourceNames" not in rule or rule["resourceNames"]
        out |= {(g, r, v) for g in rule["apiGroups"] for r in rule["resources"] for v in rule["verbs"]}
    return out


def _bound(binding: dict[str, Any], sa: tuple[str, str]) -> bool:
    return any(s["kind"] == "ServiceAccount" and (s["namespace"], s["name"]) == sa for s in binding.get("subjects", []))


def grants(rendered: Rendered, sa: tuple[str, str], namespace: str | None) -> set[Permission]:
    """What ``sa`` may do in ``namespace`` (namespaced resources), or cluster-wide when None."""
    cluster_roles = {r["metadata"]["name"]: _triples(r["rules"]) for r in rendered.of_kind("ClusterRole")}
    roles = {
        (r["metadata"]["namespace"], r["metadata"]["name"]): _triples(r["rules"]) for r in rendered.of_kind("Role")
    }
    out: set[Permission] = set()
    for binding in rendered.of_kind("ClusterRoleBinding"):
        if _bound(binding, sa):
            assert binding["roleRef"]["kind"] == "ClusterRole"
            out |= cluster_roles[binding["roleRef"]["name"]]
    if namespace is None:
        return {p for p in out if (p[0], p[1].split("/")[0]) in CLUSTER_SCOPED}
    for binding in rendered.of_kind("RoleBinding"):
        if binding["metadata"]["namespace"] == namespace and _bound(binding, sa):
            ref = binding["roleRef"]
            out |= cluster_roles[ref["name"]] if ref["kind"] == "ClusterRole" else roles[(namespace, ref["name"])]
    return {p for p in out if (p[0], p[1].split("/")[0]) not in CLUSTER_SCOPED}


def _split(permissions: set[Permission]) -> tuple[set[Permission], set[Permission]]:
    cluster = {p for p in permissions if (p[0], p[1].split("/")[0]) in CLUSTER_SCOPED}
    return permissions - cluster, cluster


def test_the_code_declares_what_the_operator_and_jobs_call(required: dict[str, set[Permission]]) -> None:
    """Sanity of the derivation itself: the calls everybody knows about are there."""
    assert ("apps", "deployments", "create") in required["operator"]
    assert ("camops.io", "cameras", "watch") in required["operator"]
    assert ("camops.io", "cameras/status", "patch") in required["workload"]
    assert ("camops.io", "retentionpolicies/status", "patch") in required["workload"]


def test_operator_cluster_wide(required: dict[str, set[Permission]]) -> None:
    rendered = render()
    namespaced, cluster = _split(required["operator"] | set(OPERATOR_EXTRA))
    for namespace in ("cameras", "anywhere"):
        assert grants(rendered, OPERATOR_SA, namespace) == namespaced
    assert grants(rendered, OPERATOR_SA, None) == cluster


def test_operator_only_in_watched_namespaces(required: dict[str, set[Permission]]) -> None:
    rendered = render(ALL_ON)
    namespaced, cluster = _split(required["operator"] | set(OPERATOR_EXTRA))
    for namespace in ALL_ON["watchNamespaces"]:
        assert grants(rendered, OPERATOR_SA, namespace) == namespaced
    assert grants(rendered, OPERATOR_SA, "kube-system") == set()
    assert grants(rendered, OPERATOR_SA, None) == cluster
    assert not [b for b in rendered.of_kind("ClusterRoleBinding") if b["roleRef"]["name"] == "camops-operator"]


@pytest.mark.parametrize(
    ("values", "namespaces"),
    [
        (ALL_ON, ["cameras", "lobby"]),
        ({"workers": {"namespaces": ["site-a"]}}, ["site-a"]),
    ],
    ids=["watched", "workers.namespaces"],
)
def test_workers_and_jobs_in_each_camera_namespace(
    required: dict[str, set[Permission]], values: dict[str, Any], namespaces: list[str]
) -> None:
    rendered = render(values)
    namespaced, cluster = _split(required["workload"])
    assert cluster == set(), "workers and jobs must not need cluster-scoped access"
    for namespace in namespaces:
        accounts = [
            sa
            for sa in rendered.of_kind("ServiceAccount")
            if (sa["metadata"]["namespace"], sa["metadata"]["name"]) == (namespace, WORKER_SA_NAME)
        ]
        assert len(accounts) == 1
        sa = (namespace, WORKER_SA_NAME)
        assert grants(rendered, sa, namespace) == namespaced
        assert grants(rendered, sa, NAMESPACE) == set()
        assert grants(rendered, sa, None) == set()


def test_the_workload_role_is_there_to_bind_by_hand(required: dict[str, set[Permission]]) -> None:
    """Cluster-wide without known camera namespaces: no worker accounts, but the role users bind."""
    rendered = render()
    assert [sa["metadata"]["name"] for sa in rendered.of_kind("ServiceAccount")] == ["camops"]
    (role,) = [r for r in rendered.of_kind("ClusterRole") if r["metadata"]["name"] == "camops-workload"]
    assert _triples(role["rules"]) == required["workload"]


def test_operator_reads_secrets_only(required: dict[str, set[Permission]]) -> None:
    secrets = {p[2] for p in grants(render(), OPERATOR_SA, "cameras") if p[1] == "secrets"}
    assert secrets <= {"get"}
    assert secrets == {p[2] for p in required["operator"] if p[1] == "secrets"}


def test_operator_and_workers_use_the_accounts_the_chart_binds() -> None:
    (container,) = render(ALL_ON).one("Deployment", "camops")["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["CAMOPS_WORKER_SERVICE_ACCOUNT"] == WORKER_SA_NAME
    assert (
        render(ALL_ON).one("Deployment", "camops")["spec"]["template"]["spec"]["serviceAccountName"] == OPERATOR_SA[1]
    )
