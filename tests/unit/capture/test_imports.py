"""A capture worker process loads only what its camera and store need (memory per camera)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PROBE = """
import sys
from camops_workers.contract import StorageConfig
from camops_workers.runtime import run_worker
from camops_workers.storage.factory import open_store

open_store(StorageConfig.model_validate({"kind": "local", "directory": sys.argv[1]}))
print(" ".join(sorted(name for name in ("minio", "urllib3", "httpx", "kopf", "kubernetes") if name in sys.modules)))
"""


def test_rtsp_worker_with_a_local_store_does_not_load_the_s3_or_http_clients(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(tmp_path)], check=True, capture_output=True, text=True, timeout=60
    )
    assert out.stdout.split() == []
