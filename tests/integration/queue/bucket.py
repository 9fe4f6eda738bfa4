"""Checks on what actually landed in the bucket, through the real minio client."""

from __future__ import annotations

import hashlib
from typing import Any

from camops_workers.storage.base import ObjectStore


def assert_bucket_holds(store: ObjectStore, expected: dict[str, str], prefix: str, *, stat_every: int = 10) -> None:
    """Exactly ``expected`` (key -> sha256) is under ``prefix``, byte for byte, with the sha256 in metadata."""
    keys = [o.key for o in store.list_objects(prefix)]
    assert len(keys) == len(set(keys))
    assert sorted(keys) == sorted(expected), (
        f"missing {len(set(expected) - set(keys))}, unexpected {len(set(keys) - set(expected))}"
    )
    for n, key in enumerate(sorted(expected)):
        assert hashlib.sha256(store.get(key)).hexdigest() == expected[key], key
        if n % stat_every == 0:
            found = store.stat(key)
            assert found is not None
            assert found.metadata.get("sha256") == expected[key]


def versions_per_key(client: Any, bucket: str, prefix: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for obj in client.list_objects(bucket, prefix=prefix, recursive=True, include_version=True):
        counts[obj.object_name] = counts.get(obj.object_name, 0) + 1
    return counts
