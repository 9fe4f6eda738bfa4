"""The local-folder store: real folders for the dated layout, atomic replace, S3-like listings."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from camops_workers.contract import StorageConfig
from camops_workers.storage.base import PermanentStorageError
from camops_workers.storage.factory import open_store
from camops_workers.storage.local import LocalStore


@pytest.fixture
def store(tmp_path: Path) -> LocalStore:
    s = open_store(StorageConfig(kind="local", directory=str(tmp_path / "data")))
    assert isinstance(s, LocalStore)
    s.ensure_bucket()
    return s


def put(store: LocalStore, tmp_path: Path, key: str, data: bytes, **meta: str) -> None:
    src = tmp_path / "src"
    src.write_bytes(data)
    store.put_file(key, src, "image/jpeg", meta)


def test_dated_layout_becomes_real_folders(store: LocalStore, tmp_path: Path) -> None:
    put(store, tmp_path, "site/door/2026-03/07/140509.123.jpg", b"jpeg", sha256="abc")
    assert (store.root / "site" / "door" / "2026-03" / "07" / "140509.123.jpg").read_bytes() == b"jpeg"
    found = store.stat("site/door/2026-03/07/140509.123.jpg")
    assert found is not None
    assert found.size == 4
    assert found.metadata.get("sha256", "abc") == "abc"  # where the filesystem keeps xattrs
    assert store.get("site/door/2026-03/07/140509.123.jpg") == b"jpeg"
    assert store.stat("site/door/nothing.jpg") is None


def test_latest_is_replaced_atomically(store: LocalStore, tmp_path: Path) -> None:
    put(store, tmp_path, "door/latest.jpg", b"A" * 200_000)
    torn: list[int] = []
    reads: list[int] = []
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            data = (store.root / "door" / "latest.jpg").read_bytes()
            reads.append(1)
            if len(data) != 200_000 or data.count(data[:1]) != len(data):
                torn.append(len(data))

    thread = threading.Thread(target=reader)
    thread.start()
    for i in range(30):
        put(store, tmp_path, "door/latest.jpg", (b"B" if i % 2 else b"A") * 200_000)
    stop.set()
    thread.join()
    assert reads
    assert torn == []  # a reader never saw a half-written or mixed latest.jpg
    assert [n for n in os.listdir(store.root / "door") if n != "latest.jpg"] == []  # no temp files left


def test_listing_is_in_key_order_and_folders_one_level(store: LocalStore, tmp_path: Path) -> None:
    keys = [
        "cam/2026-03/07/a.jpg",
        "cam/2026-03/07/b.jpg",
        "cam/2026-03/08/a.jpg",
        "cam/2026-04/01/a.jpg",
        "cam-2/x.jpg",
    ]
    for key in keys:
        put(store, tmp_path, key, b"x")
    assert [o.key for o in store.list_objects("")] == sorted(keys)
    assert [o.key for o in store.list_objects("cam/")] == sorted(k for k in keys if k.startswith("cam/"))
    assert [o.key for o in store.list_objects("cam/2026-03/0")] == keys[:3]
    assert [o.key for o in store.list_objects("cam/", start_after="cam/2026-03/07/b.jpg")] == keys[2:4]
    assert [o.key for o in store.list_objects("cam/", recursive=False)] == []
    assert store.list_folders("") == ["cam-2/", "cam/"]
    assert store.list_folders("cam/") == ["cam/2026-03/", "cam/2026-04/"]
    assert store.list_folders("cam/2026-03/") == ["cam/2026-03/07/", "cam/2026-03/08/"]


def test_remove_prunes_empty_folders_and_copy_keeps_bytes(store: LocalStore, tmp_path: Path) -> None:
    put(store, tmp_path, "cam/2026-03/07/a.jpg", b"one")
    put(store, tmp_path, "cam/2026-03/08/a.jpg", b"two")
    archive = LocalStore(tmp_path / "archive")
    store.copy_to("cam/2026-03/07/a.jpg", archive, "cam/2026-03/07/a.jpg")
    assert archive.get("cam/2026-03/07/a.jpg") == b"one"
    assert store.remove(["cam/2026-03/07/a.jpg", "cam/never.jpg"]) == []
    assert store.list_folders("cam/2026-03/") == ["cam/2026-03/08/"]


@pytest.mark.parametrize("key", ["../etc/passwd", "/abs.jpg", "a//b.jpg", "a/./b.jpg", "a/b\x00.jpg", "a\\b.jpg", ""])
def test_keys_cannot_leave_the_root(store: LocalStore, tmp_path: Path, key: str) -> None:
    with pytest.raises(PermanentStorageError, match="invalid key") as caught:
        put(store, tmp_path, key, b"x")
    assert caught.value.reason == "invalid_key"


def test_hidden_folders_are_not_objects(store: LocalStore, tmp_path: Path) -> None:
    """A data folder's own state (local mode's .camops/) never shows up in stats or retention."""
    put(store, tmp_path, "door/latest.jpg", b"jpeg")
    state = store.root / ".camops" / "queue" / "door"
    state.mkdir(parents=True)
    (state / "index.sqlite").write_bytes(b"x" * 100)
    assert [o.key for o in store.list_objects("")] == ["door/latest.jpg"]
    assert store.list_folders("") == ["door/"]
