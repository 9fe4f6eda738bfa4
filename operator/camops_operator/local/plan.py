"""Turn validated manifests into worker contracts for one machine: the local ``ContractEnvironment``.

The Camera → contract mapping is the operator's
(:func:`camops_operator.builders.contract.build_worker_contract`); this module only
describes the local world it runs in:

- storage: the data folder (the local store, so ``<data>/<camera>/<YYYY-MM>/<DD>/...``
  plus ``latest.jpg``) or an S3 endpoint when one is given;
- the offline queue: ``<data>/.camops/queue/<camera>/``;
- secrets: a Secret given in the manifests is written to files (mode 0600) under
  ``<data>/.camops/secrets/<camera>/``, as the cluster mounts it (camera credentials,
  storage keys, the analysis and events tokens); a Secret not given is read from
  environment variables named after it (``<SECRET>_<KEY>``, upper case);
- no status reporting (there is no API server) and no HTTP port.

Pure: environment variables come in as a mapping, the files to write come out as values.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from camops_operator.api.camera import Camera
from camops_operator.builders.contract import (
    ContractEnvironment,
    ContractError,
    CredentialLocation,
    build_worker_contract,
    token_secrets,
)
from camops_operator.local.manifests import ManifestSet
from camops_workers.contract import CredentialRef, StorageConfig, WorkerConfig

__all__ = [
    "ACCESS_KEY_ENV",
    "DEFAULT_STORAGE_SECRET",
    "SECRET_KEY_ENV",
    "STATE_DIR",
    "LocalTarget",
    "PlanError",
    "PlannedCamera",
    "env_name",
    "plan_cameras",
    "queue_dir",
    "secrets_dir",
]

#: local mode's own files (queues, secrets, the demo's media) live here, beside the cameras' folders
STATE_DIR = ".camops"
#: the storage Secret the operator expects by default (CAMOPS_STORAGE_SECRET), with keys accessKey/secretKey
DEFAULT_STORAGE_SECRET = "camops-storage"  # noqa: S105 - a Secret's name, not a secret
ACCESS_KEY_ENV = "CAMOPS_STORAGE_ACCESS_KEY"
SECRET_KEY_ENV = "CAMOPS_STORAGE_SECRET_KEY"  # noqa: S105 - a variable name, not a secret


class PlanError(Exception):
    """Cameras that cannot run here; ``problems`` holds one line each, ready to print."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class LocalTarget:
    """Where ``camops local`` stores: the data folder (always: queues and secrets live there) and maybe S3."""

    data_dir: Path
    endpoint: str | None = None
    bucket: str = "camops"
    secure: bool = True
    region: str | None = None
    mediamtx_rtsp_url: str | None = None

    @property
    def description(self) -> str:
        if self.endpoint:
            return f"s3://{self.bucket} at {self.endpoint}"
        return str(self.data_dir)

    def where(self, planned: Sequence[PlannedCamera]) -> str:
        """Where the running cameras' objects go: the data folder, or every bucket they write to
        (a Camera's ``spec.storage.bucket`` wins over ``--bucket``)."""
        if not self.endpoint:
            return str(self.data_dir)
        buckets = sorted({p.config.storage.bucket for p in planned if p.config is not None}) or [self.bucket]
        return f"{', '.join(f's3://{b}' for b in buckets)} at {self.endpoint}"


@dataclass(frozen=True)
class PlannedCamera:
    """One Camera as it will run: its contract (None while paused) and the secret files to write first."""

    camera: Camera
    config: WorkerConfig | None
    #: absolute path -> content, written with mode 0600 before the worker starts
    secret_files: Mapping[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.camera.name


def queue_dir(data_dir: Path, camera: str) -> Path:
    return data_dir / STATE_DIR / "queue" / camera


def secrets_dir(data_dir: Path, camera: str | None = None) -> Path:
    base = data_dir / STATE_DIR / "secrets"
    return base / camera if camera else base


def env_name(secret: str, key: str) -> str:
    """The environment variable standing in for a Secret's key: ``gate-creds``, ``password`` -> GATE_CREDS_PASSWORD."""
    return re.sub(r"[^A-Za-z0-9]+", "_", f"{secret}_{key}").strip("_").upper()


def _camera_credentials(
    camera: Camera, manifests: ManifestSet, env: Mapping[str, str], folder: Path
) -> tuple[CredentialLocation, dict[str, str], list[str]]:
    ref = camera.spec.source.credentials_secret_ref
    where = f"Camera/{camera.name}"
    if ref is None:
        return CredentialLocation(), {}, []
    secret = manifests.secret(camera.namespace, ref.name)
    if secret is not None:
        missing = [k for k in (ref.username_key, ref.password_key) if k not in secret.values]
        if missing:
            return (
                CredentialLocation(),
                {},
                [
                    f"{where}: Secret {ref.name!r} has no key {', '.join(map(repr, missing))} "
                    "(spec.source.credentialsSecretRef)"
                ],
            )
        files = {
            str(folder / "username"): secret.values[ref.username_key],
            str(folder / "password"): secret.values[ref.password_key],
        }
        return CredentialLocation(directory=str(folder)), files, []
    user_env, pass_env = env_name(ref.name, ref.username_key), env_name(ref.name, ref.password_key)
    absent = [name for name in (user_env, pass_env) if name not in env]
    if absent:
        return (
            CredentialLocation(),
            {},
            [
                f"{where}: Secret {ref.name!r} (namespace {camera.namespace}) is not in the manifests; "
                f"add it with -f, or set {' and '.join(absent)}"
            ],
        )
    return CredentialLocation(username_env=user_env, password_env=pass_env), {}, []


def _tokens(
    camera: Camera, manifests: ManifestSet, env: Mapping[str, str], folder: Path
) -> tuple[dict[str, str], list[str]]:
    """The token files of spec.analysis and spec.events (``<folder>/<purpose>/token``), as the pod mounts them."""
    files: dict[str, str] = {}
    problems: list[str] = []
    for purpose, name, key in token_secrets(camera):
        secret = manifests.secret(camera.namespace, name)
        variable = env_name(name, key)
        if secret is not None and key in secret.values:
            files[str(folder / purpose / "token")] = secret.values[key]
        elif secret is None and variable in env:
            files[str(folder / purpose / "token")] = env[variable]
        elif secret is not None:
            problems.append(f"Camera/{camera.name}: Secret {name!r} has no key {key!r} (the {purpose} token)")
        else:
            problems.append(
                f"Camera/{camera.name}: Secret {name!r} (namespace {camera.namespace}) with the {purpose} token "
                f"is not in the manifests; add it with -f, or set {variable}"
            )
    return files, problems


def _storage(
    camera: Camera, manifests: ManifestSet, target: LocalTarget, env: Mapping[str, str], folder: Path
) -> tuple[StorageConfig, dict[str, str], list[str]]:
    if not target.endpoint:
        return StorageConfig(kind="local", directory=str(target.data_dir), bucket=target.bucket), {}, []
    ref = camera.spec.storage.secret_ref
    name = ref.name if ref else DEFAULT_STORAGE_SECRET
    access_key, secret_key = (ref.access_key_key, ref.secret_key_key) if ref else ("accessKey", "secretKey")
    secret = manifests.secret(camera.namespace, name)
    files: dict[str, str] = {}
    if secret is not None and access_key in secret.values and secret_key in secret.values:
        files = {
            str(folder / "accessKey"): secret.values[access_key],
            str(folder / "secretKey"): secret.values[secret_key],
        }
        access, secret_ref = (
            CredentialRef(file=str(folder / "accessKey")),
            CredentialRef(file=str(folder / "secretKey")),
        )
    elif ACCESS_KEY_ENV in env and SECRET_KEY_ENV in env:
        access, secret_ref = CredentialRef(env=ACCESS_KEY_ENV), CredentialRef(env=SECRET_KEY_ENV)
    else:
        problem = (
            f"Camera/{camera.name}: storage at {target.endpoint} needs credentials: add Secret {name!r} "
            f"(keys {access_key}, {secret_key}) with -f, or set {ACCESS_KEY_ENV} and {SECRET_KEY_ENV}"
        )
        return StorageConfig(), {}, [problem]
    config = StorageConfig(
        kind="s3",
        endpoint=target.endpoint,
        secure=target.secure,
        region=target.region,
        bucket=target.bucket,
        access_key=access,
        secret_key=secret_ref,
    )
    return config, files, []


def plan_cameras(manifests: ManifestSet, target: LocalTarget, env: Mapping[str, str]) -> list[PlannedCamera]:
    """A :class:`PlannedCamera` per Camera; :class:`PlanError` lists every camera that cannot run here."""
    planned: list[PlannedCamera] = []
    problems: list[str] = []
    for camera in manifests.cameras:
        folder = secrets_dir(target.data_dir, camera.name)
        location, camera_files, errors = _camera_credentials(camera, manifests, env, folder / "camera")
        storage, storage_files, storage_errors = _storage(camera, manifests, target, env, folder / "storage")
        token_files, token_errors = _tokens(camera, manifests, env, folder / "tokens")
        errors += storage_errors + token_errors
        if errors:
            problems += errors
            continue
        environment = ContractEnvironment(
            storage=storage,
            queue_directory=str(queue_dir(target.data_dir, camera.name)),
            camera_credentials=location,
            tokens_directory=str(folder / "tokens"),
            mediamtx_rtsp_url=target.mediamtx_rtsp_url,
            http_port=0,
            report_status=False,
        )
        try:
            config = build_worker_contract(camera, environment)
        except ContractError as exc:
            problems.append(f"Camera/{camera.name}: {exc}")
            continue
        if camera.spec.paused:
            planned.append(PlannedCamera(camera=camera, config=None))
        else:
            files = {**camera_files, **storage_files, **token_files}
            planned.append(PlannedCamera(camera=camera, config=config, secret_files=files))
    if problems:
        raise PlanError(problems)
    return planned
