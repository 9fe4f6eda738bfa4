"""Command-line options that say which store a standalone command reads: a bucket or a folder.

Shared by ``camops retention`` and ``camops stats``. Credentials never come from flags
(they would show in the process list): they are read from files in
``--credentials-dir`` (``accessKey``, ``secretKey``, as the storage Secret is mounted)
or from ``CAMOPS_STORAGE_ACCESS_KEY`` / ``CAMOPS_STORAGE_SECRET_KEY``.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from camops_workers.contract import CredentialRef, StorageConfig
from camops_workers.storage.keys import sanitize_prefix

__all__ = [
    "ACCESS_KEY_ENV",
    "CREDENTIALS_DIR_ENV",
    "SECRET_KEY_ENV",
    "STORAGE_SECRETS_DIR_ENV",
    "add_storage_arguments",
    "credential_refs",
    "storage_config",
]

ACCESS_KEY_ENV = "CAMOPS_STORAGE_ACCESS_KEY"
SECRET_KEY_ENV = "CAMOPS_STORAGE_SECRET_KEY"  # noqa: S105 - a variable name, not a secret
CREDENTIALS_DIR_ENV = "CAMOPS_STORAGE_CREDENTIALS_DIR"
#: The retention CronJob mounts each selected Camera's own storage Secret (spec.storage.secretRef) in
#: ``$CAMOPS_STORAGE_SECRETS_DIR/<secret name>/``.
STORAGE_SECRETS_DIR_ENV = "CAMOPS_STORAGE_SECRETS_DIR"
_TRUE = {"1", "true", "yes", "on"}


def add_storage_arguments(parser: argparse.ArgumentParser, *, required: bool = True) -> None:
    """``--bucket``/``--dir``, ``--prefix`` and how to reach the S3 endpoint."""
    where = parser.add_mutually_exclusive_group(required=required)
    where.add_argument("--bucket", help="S3 bucket (MinIO or any S3 API)")
    where.add_argument("--dir", help="a local folder used as the store (camops local's layout)")
    parser.add_argument("--prefix", default="", help="key prefix to work below (default: the whole bucket)")
    env = os.environ
    parser.add_argument(
        "--endpoint",
        default=env.get("CAMOPS_STORAGE_ENDPOINT"),
        help="S3 endpoint host:port or URL (default $CAMOPS_STORAGE_ENDPOINT)",
    )
    parser.add_argument(
        "--insecure",
        action="store_true",
        default=env.get("CAMOPS_STORAGE_SECURE", "true").strip().lower() not in _TRUE,
        help="plain HTTP to the endpoint (default from $CAMOPS_STORAGE_SECURE)",
    )
    parser.add_argument("--region", default=env.get("CAMOPS_STORAGE_REGION") or None, help="S3 region")
    parser.add_argument(
        "--credentials-dir",
        default=env.get(CREDENTIALS_DIR_ENV) or None,
        help=(
            "folder with files accessKey and secretKey (default $CAMOPS_STORAGE_CREDENTIALS_DIR); "
            f"otherwise ${ACCESS_KEY_ENV} and ${SECRET_KEY_ENV}"
        ),
    )


def credential_refs(credentials_dir: str | None) -> tuple[CredentialRef, CredentialRef]:
    """Where the access and secret keys are read from."""
    if credentials_dir:
        folder = Path(credentials_dir)
        return CredentialRef(file=str(folder / "accessKey")), CredentialRef(file=str(folder / "secretKey"))
    return CredentialRef(env=ACCESS_KEY_ENV), CredentialRef(env=SECRET_KEY_ENV)


def storage_config(
    args: argparse.Namespace, *, bucket: str | None = None, directory: str | None = None
) -> StorageConfig:
    """The StorageConfig the options describe; ``bucket``/``directory`` override them (the archive).

    Buckets are never created here: a missing bucket is an error the user must see.
    Raises ValueError for a bad prefix or a bucket without an endpoint.
    """
    prefix = sanitize_prefix(args.prefix or "")
    if directory is not None or (args.dir and bucket is None):
        folder = directory if directory is not None else args.dir
        return StorageConfig(kind="local", directory=str(folder), create_bucket=False, prefix=prefix)
    name = bucket or args.bucket
    if not args.endpoint:
        raise ValueError("no S3 endpoint: pass --endpoint host:port or set CAMOPS_STORAGE_ENDPOINT")
    access, secret = credential_refs(args.credentials_dir)
    return StorageConfig(
        kind="s3",
        endpoint=args.endpoint,
        secure=not args.insecure,
        region=args.region,
        bucket=name,
        create_bucket=False,
        access_key=access,
        secret_key=secret,
        prefix=prefix,
    )
