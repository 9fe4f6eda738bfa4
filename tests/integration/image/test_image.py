"""The camops image, built here and run the way a cluster runs it.

``scripts/image.sh`` (``make image``) builds it with buildah on a Debian bookworm base made by
mmdebstrap (``make image-deps`` installs both); each check then runs inside the image with
``buildah run --isolation chroot`` on the host network: ``camops --version``, the user it runs
as, no compilers and no pip, and ``camops capture`` with a worker contract against the
GStreamer RTSP camera on loopback, storing into moto. The first build on a cold machine takes
a few minutes (base and dependencies); later builds reuse the base and the cached layers.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from camops_workers.contract import CredentialRef, StorageConfig, WorkerConfig
from tests.integration.capture.helpers import free_port
from tests.servers.rtsp import RtspServer
from tests.servers.s3 import S3Server

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

ROOT = Path(__file__).resolve().parents[3]
#: One tag per checkout, so that image tests of several checkouts on one machine never run each other's build.
IMAGE = "localhost/camops:test-" + re.sub(r"[^a-z0-9_.-]", "-", ROOT.name.lower())[:100]
UID = 10001


def _need(tool: str) -> str:
    path = shutil.which(tool)
    assert path, f"{tool} is missing: run `make image-deps` (Debian packages buildah and mmdebstrap)"
    return path


@pytest.fixture(scope="module")
def image() -> str:
    _need("buildah")
    _need("mmdebstrap")
    env = {**os.environ, "IMAGE": IMAGE, "IMAGE_ENGINE": "buildah", "IMAGE_BASE": "mmdebstrap"}
    started = time.monotonic()
    done = subprocess.run(
        [str(ROOT / "scripts" / "image.sh")], env=env, capture_output=True, text=True, timeout=1700, check=False
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    size = subprocess.run(
        ["buildah", "images", "--format", "{{.Size}}", IMAGE], capture_output=True, text=True, check=True
    ).stdout.strip()
    print(f"image {IMAGE} built in {time.monotonic() - started:.0f} s, size {size}")
    return IMAGE


@pytest.fixture
def container(image: str) -> Iterator[str]:
    name = subprocess.run(
        ["buildah", "from", "--pull-never", image], capture_output=True, text=True, check=True
    ).stdout.strip()
    try:
        yield name
    finally:
        subprocess.run(["buildah", "rm", name], capture_output=True, check=False)


def _run(
    container: str,
    *command: str,
    volumes: dict[Path, str] | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    args = ["buildah", "run", "--isolation", "chroot", "--network", "host"]
    for host, inside in (volumes or {}).items():
        args += ["--volume", f"{host}:{inside}:ro"]
    for key, value in (env or {}).items():
        args += ["--env", f"{key}={value}"]
    return subprocess.run(
        [*args, container, "--", *command], capture_output=True, text=True, timeout=timeout, check=False
    )


def test_camops_runs_as_uid_10001_with_no_compilers_and_no_pip(container: str) -> None:
    version = _run(container, "camops", "--version")
    assert version.returncode == 0, version.stderr
    assert "0.1.0" in version.stdout + version.stderr
    ids = _run(container, "python", "-c", "import os; print(os.getuid(), os.getgid())")
    assert ids.stdout.split() == [str(UID), str(UID)], ids.stderr
    tools = _run(
        container,
        "sh",
        "-c",
        "for t in gcc cc c++ g++ clang ld as make pip pip3 pip3.11; do command -v $t; done; "
        "ls /opt/camops/bin | grep -i pip; true",
    )
    assert tools.returncode == 0, tools.stderr
    assert tools.stdout.strip() == "", f"found in the image: {tools.stdout}"
    # exit 0 only when the interpreter finds no pip module anywhere (3 when it does)
    no_pip = _run(
        container, "python", "-c", "import importlib.util, sys; sys.exit(3 if importlib.util.find_spec('pip') else 0)"
    )
    assert no_pip.returncode == 0, f"pip is importable in the image: {no_pip.stderr}"


def test_capture_in_the_image_stores_decodable_snapshots(
    container: str, tmp_path: Path, rtsp_server: Callable[..., RtspServer], s3_server: S3Server
) -> None:
    camera = rtsp_server(gop=10, width=320, height=240)
    port = free_port()
    config = WorkerConfig.model_validate(
        {
            "camera": "imaged",
            "source": {"url": camera.url("/live"), "connect_timeout_s": 5.0, "stall_timeout_s": 5.0},
            "snapshots": {"interval_s": 0.5, "quality": 80},
            "storage": StorageConfig(
                kind="s3",
                endpoint=s3_server.endpoint,
                secure=False,
                bucket="image-test",
                access_key=CredentialRef(env="CAMOPS_S3_ACCESS_KEY"),
                secret_key=CredentialRef(env="CAMOPS_S3_SECRET_KEY"),
            ).model_dump(mode="json"),
            "queue": {"directory": "/var/lib/camops/queue", "uploaders": 1},
            "http_host": "127.0.0.1",
            "http_port": port,
        }
    )
    (tmp_path / "worker.json").write_text(json.dumps(config.model_dump(mode="json")))
    # the worker runs as 10001 and reads its contract as a pod reads its mounted ConfigMap
    tmp_path.chmod(0o755)
    (tmp_path / "worker.json").chmod(0o644)
    env = {"CAMOPS_S3_ACCESS_KEY": s3_server.access_key, "CAMOPS_S3_SECRET_KEY": s3_server.secret_key}
    # `timeout` sends SIGTERM after 20 s: the worker stops cleanly (exit 0) or timeout reports 124
    run = _run(
        container,
        "timeout",
        "-s",
        "TERM",
        "20",
        "camops",
        "capture",
        "--config",
        "/run/camops/worker.json",
        volumes={tmp_path: "/run/camops"},
        env=env,
        timeout=120,
    )
    assert run.returncode in (0, 124), run.stderr[-3000:]
    client: Any = s3_server.client()
    keys = [o.object_name for o in client.list_objects("image-test", recursive=True)]
    snapshots = [k for k in keys if k.endswith(".jpg") and not k.endswith("latest.jpg")]
    print(f"snapshots stored from inside the image: {len(snapshots)} in 20 s")
    assert len(snapshots) >= 5, (keys, run.stderr[-3000:])
    for key in (snapshots[0], snapshots[-1]):
        data = client.get_object("image-test", key).read()
        with Image.open(io.BytesIO(data)) as picture:
            picture.load()
            assert picture.size == (320, 240)
    owner = _run(container, "stat", "-c", "%u", "/var/lib/camops/queue")
    assert owner.stdout.strip() == str(UID), owner.stderr


#: Run inside the image: the code paths through what the Dockerfile trimmed (stripped extensions, the
#: kubernetes client as bytecode only) still work. Prints one line per check.
TRIMMED_CHECK = """
import io, sys
import numpy, yaml
from PIL import Image
from kubernetes import client
from kubernetes.client.exceptions import ApiException
from camops_workers.analysis.reencode import reencode_jpeg
from camops_workers.capture.jpeg import thumbnail_from_jpeg

buf = io.BytesIO()
Image.effect_mandelbrot((1280, 720), (-2, -1, 1, 1), 100).convert("RGB").save(buf, "JPEG")
thumb = thumbnail_from_jpeg(buf.getvalue())
print("thumbnail", Image.open(io.BytesIO(thumb)).size)
small = reencode_jpeg(buf.getvalue(), quality=50, max_width=640)
print("reencoded", Image.open(io.BytesIO(small)).size)
print("openblas", round(float(numpy.linalg.det(numpy.array([[2.0, 1.0], [1.0, 3.0]]))), 6))
print("libyaml", yaml.load("a: [1, 2]", Loader=yaml.CSafeLoader))
config = client.Configuration()
config.host = sys.argv[1]
api = client.CustomObjectsApi(client.ApiClient(config))
try:
    api.list_namespaced_custom_object("camops.io", "v1alpha1", "cameras", "cameras", _request_timeout=10)
    print("kubernetes answered")
except ApiException as exc:
    print("kubernetes ApiException", exc.status)
"""


def test_what_the_image_trimmed_still_works(container: str, s3_server: S3Server) -> None:
    """Not a Kubernetes API server: moto answers the client's request with an error, which the
    bytecode-only kubernetes client turns into an ApiException with its status, as for a real one."""
    run = _run(container, "python", "-c", TRIMMED_CHECK, f"http://{s3_server.endpoint}")
    print(run.stdout)
    assert run.returncode == 0, run.stderr[-3000:]
    lines = run.stdout.splitlines()
    assert "thumbnail (320, 180)" in lines
    assert "reencoded (640, 360)" in lines
    assert "openblas 5.0" in lines
    assert "libyaml {'a': [1, 2]}" in lines
    assert any(line.startswith("kubernetes ApiException 4") for line in lines), lines
