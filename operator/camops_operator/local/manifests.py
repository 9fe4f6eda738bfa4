"""Read the manifests ``camops local`` runs: Cameras, RetentionPolicies and the Secrets they name.

Every Camera and RetentionPolicy is validated with the API models, and a bad one
is reported with :func:`camops_operator.api.common.describe_error`, so a user
sees the same ``path: message`` lines the CRD gives on ``kubectl apply``.
All problems in all files are collected and reported together.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from camops_operator.api.camera import Camera
from camops_operator.api.common import describe_error
from camops_operator.api.retention import RetentionPolicy

__all__ = ["ManifestError", "ManifestSet", "SecretData", "load_manifests", "parse_manifests"]

#: kinds ``camops local`` reads; everything else in the files is listed as skipped
CAMOPS_KINDS = ("Camera", "RetentionPolicy")


@dataclass(frozen=True)
class SecretData:
    """A core/v1 Secret's decoded keys (``stringData`` wins over ``data``, as in the API server)."""

    namespace: str
    name: str
    values: Mapping[str, str]


@dataclass(frozen=True)
class ManifestSet:
    """What the files hold, validated."""

    cameras: tuple[Camera, ...] = ()
    policies: tuple[RetentionPolicy, ...] = ()
    secrets: Mapping[tuple[str, str], SecretData] = field(default_factory=dict)
    #: one line per document that is not for camops local ("file: Namespace/x")
    skipped: tuple[str, ...] = ()

    def secret(self, namespace: str, name: str) -> SecretData | None:
        return self.secrets.get((namespace, name))


class ManifestError(Exception):
    """One or more manifests are invalid; ``problems`` holds one line each, ready to print."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = list(problems)


def _label(doc: Mapping[str, Any]) -> str:
    kind = doc.get("kind", "<no kind>")
    meta = doc.get("metadata")
    name = meta.get("name") if isinstance(meta, Mapping) else None
    return f"{kind}/{name}" if name else str(kind)


def _secret(doc: Mapping[str, Any], where: str) -> tuple[SecretData | None, list[str]]:
    meta = doc.get("metadata")
    if not isinstance(meta, Mapping) or not meta.get("name"):
        return None, [f"{where}: metadata.name: Field required"]
    values: dict[str, str] = {}
    problems: list[str] = []
    data = doc.get("data") or {}
    string_data = doc.get("stringData") or {}
    if not isinstance(data, Mapping) or not isinstance(string_data, Mapping):
        return None, [f"{where}: data and stringData must be maps of key to value"]
    for key, raw in data.items():
        try:
            values[str(key)] = base64.b64decode(str(raw), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            problems.append(f"{where}: data.{key}: not valid base64 of UTF-8 text")
    for key, raw in string_data.items():
        values[str(key)] = "" if raw is None else str(raw)
    secret = SecretData(namespace=str(meta.get("namespace") or "default"), name=str(meta["name"]), values=values)
    return secret, problems


def parse_manifests(documents: Iterable[tuple[str, Any]]) -> ManifestSet:
    """Validate ``(source, document)`` pairs; raise :class:`ManifestError` listing every problem."""
    cameras: list[Camera] = []
    policies: list[RetentionPolicy] = []
    secrets: dict[tuple[str, str], SecretData] = {}
    skipped: list[str] = []
    problems: list[str] = []
    seen_cameras: dict[str, str] = {}
    for source, doc in documents:
        if doc is None:
            continue
        if not isinstance(doc, Mapping):
            problems.append(f"{source}: expected a Kubernetes object (a map with apiVersion, kind, metadata)")
            continue
        where = f"{source}: {_label(doc)}"
        kind = doc.get("kind")
        if kind == "Secret" and doc.get("apiVersion") == "v1":
            secret, errors = _secret(doc, where)
            problems += errors
            if secret is not None:
                secrets[(secret.namespace, secret.name)] = secret
            continue
        if kind not in CAMOPS_KINDS:
            skipped.append(where)
            continue
        try:
            if kind == "Camera":
                camera = Camera.model_validate(doc)
            else:
                policies.append(RetentionPolicy.model_validate(doc))
                continue
        except ValidationError as exc:
            problems.append(f"{where}: {describe_error(exc)}")
            continue
        if camera.name in seen_cameras:
            problems.append(
                f"{where}: a Camera named {camera.name!r} is already in {seen_cameras[camera.name]}; "
                "camera names key the stored objects, so they must be unique in one local run"
            )
            continue
        seen_cameras[camera.name] = source
        cameras.append(camera)
    if problems:
        raise ManifestError(problems)
    return ManifestSet(cameras=tuple(cameras), policies=tuple(policies), secrets=secrets, skipped=tuple(skipped))


def _read(path: Path) -> tuple[list[tuple[str, Any]], list[str]]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        return [], [f"{path}: cannot read: {exc.strerror or exc}"]
    try:
        docs = list(yaml.safe_load_all(text))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        return [], [f"{path}: not valid YAML{at}: {problem}"]
    out: list[tuple[str, Any]] = []
    for doc in docs:
        if isinstance(doc, Mapping) and doc.get("kind") == "List" and isinstance(doc.get("items"), list):
            out += [(str(path), item) for item in doc["items"]]
        else:
            out.append((str(path), doc))
    return out, []


def load_manifests(paths: Sequence[Path]) -> ManifestSet:
    """Read YAML files (several documents each, ``kind: List`` too) and validate them all.

    Raises :class:`ManifestError` with every problem found (unreadable files, YAML errors,
    invalid objects, duplicate camera names) — never just the first.
    """
    documents: list[tuple[str, Any]] = []
    problems: list[str] = []
    for path in paths:
        docs, errors = _read(path)
        documents += docs
        problems += errors
    try:
        manifests = parse_manifests(documents)
    except ManifestError as exc:
        raise ManifestError(problems + exc.problems) from None
    if problems:
        raise ManifestError(problems)
    return manifests
