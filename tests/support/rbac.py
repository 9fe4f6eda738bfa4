"""Kubernetes RBAC evaluated over rendered manifests: what one ServiceAccount may do, and where.

The same rules the API server's RBAC authorizer applies, for what the chart uses: a
ClusterRoleBinding grants its ClusterRole in every namespace and cluster-wide; a
RoleBinding grants its Role or ClusterRole in its own namespace only; ``resourceNames``
limits a rule to those names (so never to list, watch or create). No wildcards: the
chart's tests refuse them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from camops_workers.kube import Permission

__all__ = ["CLUSTER_SCOPED", "Rbac", "Rule"]

#: Resources that exist outside namespaces: only a ClusterRoleBinding can grant them.
CLUSTER_SCOPED = {
    ("", "namespaces"),
    ("", "nodes"),
    ("", "persistentvolumes"),
    ("apiextensions.k8s.io", "customresourcedefinitions"),
    ("authentication.k8s.io", "tokenreviews"),
    ("authorization.k8s.io", "subjectaccessreviews"),
    ("kopf.dev", "clusterkopfpeerings"),
    ("storage.k8s.io", "storageclasses"),
}


def cluster_scoped(permission: Permission) -> bool:
    return (permission[0], permission[1].split("/")[0]) in CLUSTER_SCOPED


@dataclass(frozen=True)
class Rule:
    """One PolicyRule, expanded."""

    permissions: frozenset[Permission]
    names: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, rule: Mapping[str, Any]) -> Rule:
        for field in ("apiGroups", "resources", "verbs"):
            assert "*" not in rule[field], f"wildcard in {rule}"
        assert "resourceNames" not in rule or rule["resourceNames"], f"empty resourceNames in {rule}"
        triples = {(g, r, v) for g in rule["apiGroups"] for r in rule["resources"] for v in rule["verbs"]}
        return cls(frozenset(triples), frozenset(rule.get("resourceNames") or ()))

    def allows(self, permission: Permission, name: str | None) -> bool:
        if permission not in self.permissions:
            return False
        return not self.names or (name is not None and name in self.names)


@dataclass(frozen=True)
class Rbac:
    """What one ServiceAccount (namespace, name) may do according to ``manifests``."""

    everywhere: tuple[Rule, ...]
    by_namespace: Mapping[str, tuple[Rule, ...]]

    @classmethod
    def of(cls, manifests: Iterable[Mapping[str, Any]], sa: tuple[str, str]) -> Rbac:
        manifests = list(manifests)
        cluster_roles = {
            m["metadata"]["name"]: tuple(Rule.parse(r) for r in m.get("rules") or [])
            for m in manifests
            if m["kind"] == "ClusterRole"
        }
        roles = {
            (m["metadata"]["namespace"], m["metadata"]["name"]): tuple(Rule.parse(r) for r in m.get("rules") or [])
            for m in manifests
            if m["kind"] == "Role"
        }

        def bound(binding: Mapping[str, Any]) -> bool:
            return any(
                s["kind"] == "ServiceAccount" and (s["namespace"], s["name"]) == sa
                for s in binding.get("subjects") or []
            )

        everywhere: list[Rule] = []
        by_namespace: dict[str, list[Rule]] = {}
        for m in manifests:
            if m["kind"] == "ClusterRoleBinding" and bound(m):
                assert m["roleRef"]["kind"] == "ClusterRole"
                everywhere += cluster_roles[m["roleRef"]["name"]]
            elif m["kind"] == "RoleBinding" and bound(m):
                namespace, ref = m["metadata"]["namespace"], m["roleRef"]
                rules = cluster_roles[ref["name"]] if ref["kind"] == "ClusterRole" else roles[namespace, ref["name"]]
                by_namespace.setdefault(namespace, []).extend(rules)
        return cls(tuple(everywhere), {ns: tuple(rules) for ns, rules in by_namespace.items()})

    def allows(self, permission: Permission, namespace: str | None, name: str | None = None) -> bool:
        """Whether the call is allowed; ``namespace`` None: cluster-wide (or across all namespaces)."""
        if any(rule.allows(permission, name) for rule in self.everywhere):
            return True
        if namespace is None or cluster_scoped(permission):
            return False
        return any(rule.allows(permission, name) for rule in self.by_namespace.get(namespace, ()))

    def grants(self, namespace: str | None) -> set[Permission]:
        """Every permission granted in ``namespace`` (namespaced resources, any name), or cluster-wide when None."""
        out: set[Permission] = set()
        rules = self.everywhere + (self.by_namespace.get(namespace, ()) if namespace is not None else ())
        for rule in rules:
            out |= rule.permissions
        if namespace is None:
            return {p for p in out if cluster_scoped(p)}
        return {p for p in out if not cluster_scoped(p)}

    def names(self, permission: Permission, namespace: str) -> set[str] | None:
        """The names ``permission`` is limited to in ``namespace`` (None: any name)."""
        names: set[str] = set()
        for rule in self.everywhere + self.by_namespace.get(namespace, ()):
            if permission in rule.permissions:
                if not rule.names:
                    return None
                names |= rule.names
        return names
