"""The chart's RBAC grants exactly what the code calls — derived from the code, not a hand-kept list.

Every function that calls the Kubernetes API declares it with ``camops_workers.kube.requires``
(registered at import time in ``REQUIRED_PERMISSIONS``). Importing every module of both packages
collects them; a permission declared in ``camops_operator`` belongs to the operator, one declared in
``camops_workers`` to the pods the operator starts (capture workers, drain and retention jobs).
Each declaration also says where the call acts (``scope``: the watched namespaces, or the operator's
own namespace). For every install mode (all namespaces or a list; with or without MediaMTX) the
rendered Roles and bindings must grant each identity all of its permissions in each namespace it
acts in, and nothing else.
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
from camops_operator.handlers.drift import LEDGER_NAME
from camops_workers.kube import OPERATOR_NAMESPACE, REQUIRED_PERMISSIONS, WATCHED, Permission, ScopedPermission
from tests.support.rbac import Rbac, Rule, cluster_scoped
from tests.unit.chart.render import ALL_ON, NAMESPACE, Rendered, render

#: Granted beyond the declarations, each for a reason the code cannot declare.
OPERATOR_EXTRA: dict[Permission, str] = {
    ("camops.io", "cameras/finalizers", "update"): "ownerReferences with blockOwnerDeletion to a Camera",
    ("camops.io", "retentionpolicies/finalizers", "update"): "ownerReferences with blockOwnerDeletion to a policy",
    ("camops.io", "camerapools/finalizers", "update"): "ownerReferences with blockOwnerDeletion to a pool",
}
OPERATOR_SA = ("camops-system", "camops")
CONSOLE_SA = ("camops-system", "camops-console")
#: Modules of camops_operator that run as the console (its own ServiceAccount), not as the operator.
CONSOLE_PACKAGE = "camops_operator.console"
WORKER_SA_NAME = "camops-worker"
MEDIAMTX = {"enabled": True, "api": {"password": "not-a-real-password"}}
#: Every way to install the chart that changes who may do what where.
INSTALL_MODES: dict[str, dict[str, Any]] = {
    "all-namespaces": {},
    "all-namespaces+mediamtx": {"mediamtx": MEDIAMTX},
    "namespaces": {"watchNamespaces": ["cameras", "lobby"]},
    "namespaces+mediamtx (README)": {"watchNamespaces": ["cameras"], "mediamtx": MEDIAMTX},
    "namespaces+external-mediamtx": {"watchNamespaces": ["cameras"], "mediamtx": {"apiUrl": "http://mtx.av:9997"}},
    "own-namespace-watched+mediamtx": {"watchNamespaces": [NAMESPACE, "cameras"], "mediamtx": MEDIAMTX},
}
#: Namespaces that stand for "any namespace" when the operator watches all of them.
ANY_NAMESPACES = ("cameras", "anywhere", NAMESPACE)


def _modules(package: ModuleType) -> Iterator[ModuleType]:
    yield package
    for info in pkgutil.walk_packages(package.__path__, prefix=package.__name__ + "."):
        yield importlib.import_module(info.name)


def _declared_in(module: ModuleType, attribute: str = "__camops_permissions__") -> set[Any]:
    """Permissions on the functions (and methods) a module defines."""
    found: set[Any] = set()
    for value in vars(module).values():
        candidates: list[Any] = [value]
        if inspect.isclass(value) and value.__module__ == module.__name__:
            candidates += [getattr(m, "__func__", m) for m in vars(value).values()]
        for candidate in candidates:
            if getattr(candidate, "__module__", None) == module.__name__:
                found |= getattr(candidate, attribute, set())
    return found


def _identity(module: ModuleType, package_key: str) -> str:
    """Who makes a module's calls: the console runs under its own ServiceAccount."""
    name = module.__name__
    return "console" if name == CONSOLE_PACKAGE or name.startswith(CONSOLE_PACKAGE + ".") else package_key


@pytest.fixture(scope="module")
def required() -> dict[str, set[Permission]]:
    """{"operator": ..., "workload": ..., "console": ...}, after importing every module of both packages."""
    by_package: dict[str, set[Permission]] = {"operator": set(), "workload": set(), "console": set()}
    for key, package in (("operator", camops_operator), ("workload", camops_workers)):
        for module in _modules(package):
            by_package[_identity(module, key)] |= _declared_in(module)
    assert by_package["operator"] | by_package["workload"] | by_package["console"] == REQUIRED_PERMISSIONS, (
        "a permission was registered without a function carrying it: declare it with @requires on the caller"
    )
    return by_package


@pytest.fixture(scope="module")
def scoped() -> dict[str, set[ScopedPermission]]:
    """{"operator": {(scope, group, resource, verb), ...}, "workload": ...}."""
    out: dict[str, set[ScopedPermission]] = {"operator": set(), "workload": set(), "console": set()}
    for key, package in (("operator", camops_operator), ("workload", camops_workers)):
        for module in _modules(package):
            out[_identity(module, key)] |= _declared_in(module, "__camops_scoped_permissions__")
    return out


def _in(scope: str, permissions: set[ScopedPermission]) -> set[Permission]:
    return {(g, r, v) for s, g, r, v in permissions if s == scope}


def grants(rendered: Rendered, sa: tuple[str, str], namespace: str | None) -> set[Permission]:
    """What ``sa`` may do in ``namespace`` (namespaced resources), or cluster-wide when None."""
    return Rbac.of(rendered.manifests, sa).grants(namespace)


def _split(permissions: set[Permission]) -> tuple[set[Permission], set[Permission]]:
    cluster = {p for p in permissions if cluster_scoped(p)}
    return permissions - cluster, cluster


def _uses_mediamtx(rendered: Rendered) -> bool:
    (container,) = rendered.one("Deployment", "camops")["spec"]["template"]["spec"]["containers"]
    return any(e["name"] == "CAMOPS_MEDIAMTX_API_URL" and e.get("value") for e in container["env"])


def test_the_code_declares_what_the_operator_and_jobs_call(required: dict[str, set[Permission]]) -> None:
    """Sanity of the derivation itself: the calls everybody knows about are there."""
    assert ("apps", "deployments", "create") in required["operator"]
    assert ("camops.io", "cameras", "watch") in required["operator"]
    assert ("camops.io", "cameras/status", "patch") in required["workload"]
    assert ("camops.io", "retentionpolicies/status", "patch") in required["workload"]


@pytest.mark.parametrize("mode", INSTALL_MODES)
def test_every_operator_call_is_granted_in_its_namespace_and_nothing_else(
    scoped: dict[str, set[ScopedPermission]], mode: str
) -> None:
    """Each call the operator makes (its @requires, with its scope) against the rendered RBAC, per namespace.

    ``watched`` calls act in each watched namespace — every namespace, including cluster-wide lists and
    watches, when the operator watches all; ``operator-namespace`` calls act in the release's namespace,
    and only when the operator talks to a MediaMTX (the ledger of its paths).
    """
    rendered = render(INSTALL_MODES[mode])
    rbac = Rbac.of(rendered.manifests, OPERATOR_SA)
    watched_calls, _ = _split(_in(WATCHED, scoped["operator"]) | set(OPERATOR_EXTRA))
    own_calls = _in(OPERATOR_NAMESPACE, scoped["operator"]) if _uses_mediamtx(rendered) else set()
    watch_list = INSTALL_MODES[mode].get("watchNamespaces") or []
    watched = watch_list or list(ANY_NAMESPACES)
    expected: dict[str, set[Permission]] = {ns: set(watched_calls) for ns in watched}
    expected.setdefault(NAMESPACE, set()).update(own_calls)
    if watch_list:
        expected.setdefault("kube-system", set())  # not watched: nothing at all
    for namespace, calls in expected.items():
        missing = {p for p in calls if not rbac.allows(p, namespace, LEDGER_NAME if p in own_calls else None)}
        assert not missing, f"{mode}: denied in {namespace}: {sorted(missing)}"
        assert rbac.grants(namespace) == calls, f"{mode}: {namespace} grants more than the code calls"
    for permission in own_calls - watched_calls:  # limited to the ledger where a name can limit it
        if permission[2] != "create":
            assert rbac.names(permission, NAMESPACE) == {LEDGER_NAME}
    if not watch_list:  # kopf lists and watches across all namespaces
        assert all(rbac.allows(p, None) for p in watched_calls if p[2] in {"list", "watch"})
    else:
        assert not [b for b in rendered.of_kind("ClusterRoleBinding") if b["roleRef"]["name"] == "camops-operator"]
    assert rbac.grants(None) == set(), "the operator needs nothing cluster-scoped"


def test_the_readme_install_lets_the_drift_pass_read_its_ledger(scoped: dict[str, set[ScopedPermission]]) -> None:
    """The regression itself: watchNamespaces={cameras} plus MediaMTX denied every ledger read (403)."""
    rbac = Rbac.of(render(INSTALL_MODES["namespaces+mediamtx (README)"]).manifests, OPERATOR_SA)
    assert ("", "configmaps", "get") in _in(OPERATOR_NAMESPACE, scoped["operator"])
    assert rbac.allows(("", "configmaps", "get"), NAMESPACE, LEDGER_NAME)
    assert rbac.allows(("", "configmaps", "patch"), NAMESPACE, LEDGER_NAME)
    assert not rbac.allows(("", "configmaps", "get"), NAMESPACE, "someone-elses")


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
    granted: set[Permission] = set()
    for rule in role["rules"]:
        granted |= Rule.parse(rule).permissions
    assert granted == required["workload"]


def test_operator_reads_secrets_only(scoped: dict[str, set[ScopedPermission]]) -> None:
    """Unless storage.copyFrom turns the storage Secret copy on (tests/unit/chart/test_rbac_storage_secret.py)."""
    secrets = {p[2] for p in grants(render(), OPERATOR_SA, "cameras") if p[1] == "secrets"}
    assert secrets <= {"get"}
    assert secrets == {p[2] for p in _in(WATCHED, scoped["operator"]) if p[1] == "secrets"}


def test_operator_and_workers_use_the_accounts_the_chart_binds() -> None:
    (container,) = render(ALL_ON).one("Deployment", "camops")["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["CAMOPS_WORKER_SERVICE_ACCOUNT"] == WORKER_SA_NAME
    assert (
        render(ALL_ON).one("Deployment", "camops")["spec"]["template"]["spec"]["serviceAccountName"] == OPERATOR_SA[1]
    )


def test_console_follows_cameras_and_asks_the_api_server_who_may_see_them(
    required: dict[str, set[Permission]],
) -> None:
    """The console's own account: list/watch Cameras everywhere, TokenReview and SubjectAccessReview; nothing else."""
    assert ("authorization.k8s.io", "subjectaccessreviews", "create") in required["console"]
    namespaced, cluster = _split(required["console"])
    rendered = render(ALL_ON)
    for namespace in ("cameras", "anywhere", NAMESPACE):
        assert grants(rendered, CONSOLE_SA, namespace) == namespaced
    assert grants(rendered, CONSOLE_SA, None) == cluster
    assert not [sa for sa in render().of_kind("ServiceAccount") if sa["metadata"]["name"] == CONSOLE_SA[1]]
    deployment = rendered.one("Deployment", "camops-console")["spec"]["template"]["spec"]
    assert deployment["serviceAccountName"] == CONSOLE_SA[1]
    assert deployment["containers"][0]["args"][0] == "console"
