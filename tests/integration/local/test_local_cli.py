"""`camops local` for real: a file:// camera and an HTTP snapshot camera, a bad manifest, Ctrl-C, the demo, S3.

Each test runs the real command in a subprocess (as a user would), with real PyAV, the real
local-folder store and durable queue, and checks what lands on disk.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from camops_operator import crdgen
from camops_operator.local.media import ClipSpec, ensure_clip
from camops_operator.local.snapshot_server import SnapshotCamera
from camops_operator.local.status import ITEMS_NOTE
from tests.servers.s3 import ACCESS_KEY, SECRET_KEY, S3Server
from tests.support.crd import validate

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[3]
CLIP = ClipSpec(width=320, height=180, fps=10, seconds=4, gop=5)
DATED_JPEG = re.compile(r"^\d{4}-\d{2}/\d{2}/\d{6}\.\d{3}\.jpg$")
DATED_MP4 = re.compile(r"^\d{4}-\d{2}/\d{2}/\d{6}\.\d{3}\.mp4$")
#: a timeline record: a picture-state change (the demo camera's moving view may be judged changed) or an outage
DATED_RECORD = re.compile(r"^\d{4}-\d{2}/\d{2}/\d{6}\.\d{3}\.(picture|outage)\.json$")


def camops(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "camops_operator.cli", "local", *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(proc: subprocess.Popen[str], timeout: float = 90) -> tuple[int, str, str]:
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"camops local did not exit in {timeout}s\nstdout:\n{out}\nstderr:\n{err}")
    return proc.returncode, out, err


def files_of(data: Path, camera: str) -> list[str]:
    base = data / camera
    return sorted(p.relative_to(base).as_posix() for p in base.rglob("*") if p.is_file())


@pytest.fixture
def http_camera() -> Iterator[SnapshotCamera]:
    with SnapshotCamera(label="test camera", credentials=("viewer", "s3cret-pass")) as camera:
        yield camera


def manifests(clip: Path, http_url: str) -> list[dict[str, Any]]:
    return [
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "door-credentials"},
            "stringData": {"username": "viewer", "password": "s3cret-pass"},
        },
        {
            "apiVersion": "camops.io/v1alpha1",
            "kind": "Camera",
            "metadata": {"name": "yard"},
            "spec": {
                "source": {"url": clip.as_uri()},
                "snapshots": {"interval": "1s"},
                "recording": {"enabled": True, "segmentDuration": "2s"},
            },
        },
        {
            "apiVersion": "camops.io/v1alpha1",
            "kind": "Camera",
            "metadata": {"name": "door"},
            "spec": {
                "source": {"url": http_url, "credentialsSecretRef": {"name": "door-credentials"}},
                "snapshots": {"interval": "1s"},
            },
        },
    ]


@pytest.fixture
def cameras_file(tmp_path: Path, http_camera: SnapshotCamera) -> Path:
    clip = ensure_clip(tmp_path / "media", CLIP)
    path = tmp_path / "cameras.yaml"
    path.write_text(yaml.safe_dump_all(manifests(clip, http_camera.url)))
    return path


def test_local_mode_stores_jpegs_and_mp4s_in_the_dated_layout(
    tmp_path: Path, cameras_file: Path, http_camera: SnapshotCamera
) -> None:
    data = tmp_path / "data"
    code, out, err = finish(camops("-f", str(cameras_file), "--data", str(data), "--seconds", "7", cwd=tmp_path))
    assert code == 0, err
    yard, door = files_of(data, "yard"), files_of(data, "door")
    assert "latest.jpg" in yard
    assert "latest.jpg" in door
    assert len([f for f in yard if DATED_JPEG.match(f)]) >= 3
    assert len([f for f in yard if DATED_MP4.match(f)]) >= 2
    assert len([f for f in door if DATED_JPEG.match(f)]) >= 3
    assert "latest.thumb.jpg" in yard
    assert not [
        f
        for f in yard + door
        if not f.startswith("latest.") and not (DATED_JPEG.match(f) or DATED_MP4.match(f) or DATED_RECORD.match(f))
    ]
    assert (data / "yard" / "latest.jpg").read_bytes()[:3] == b"\xff\xd8\xff"
    assert http_camera.requests >= 3  # the camera's password came from the Secret manifest
    # the summary names each camera with what it stored; nothing is left queued
    summary = out[out.index("camops local ran") :].splitlines()
    rows = {line.split()[0]: line.split() for line in summary[2:4]}
    assert set(rows) == {"yard", "door"}
    assert summary[1].split()[4] == "uploaded"
    assert int(rows["door"][5]) >= 3  # uploaded
    assert rows["door"][6] == "0"  # queued
    # the column counts queue items, and says so: each snapshot is two (its JPEG and latest.thumb.jpg)
    for name, row in rows.items():
        records = len([f for f in files_of(data, name) if DATED_RECORD.match(f)])
        assert int(row[5]) == 2 * int(row[1]) + int(row[2]) + records, row
    assert ITEMS_NOTE in summary
    assert "s3cret-pass" not in out + err + (data / ".camops" / "camops-local.log").read_text()
    assert not (data / ".camops" / "secrets").exists()  # the secret files live only while the workers run


INVALID = sorted((ROOT / "examples/invalid").glob("*.yaml"))


@pytest.mark.parametrize("path", INVALID[:3], ids=[p.name for p in INVALID[:3]])
def test_a_bad_manifest_gets_the_crd_message_and_nothing_runs(tmp_path: Path, path: Path) -> None:
    expected = path.read_text().splitlines()[0].removeprefix("# expect:").strip()
    doc = yaml.safe_load(path.read_text())
    assert any(expected in e for e in validate(crdgen.camera_crd(), doc)), "the CRD gives this message too"
    code, _out, err = finish(camops("-f", str(path), "--data", str(tmp_path / "data"), cwd=tmp_path), timeout=30)
    assert code == 2
    assert f"{path}: Camera/{doc['metadata']['name']}: " in err
    assert expected in err
    assert not (tmp_path / "data").exists()


def test_ctrl_c_stops_cleanly_with_a_summary(tmp_path: Path, cameras_file: Path) -> None:
    data = tmp_path / "data"
    proc = camops("-f", str(cameras_file), "--data", str(data), cwd=tmp_path)
    deadline = time.monotonic() + 45
    while not (data / "yard" / "latest.jpg").exists() or not (data / "door" / "latest.jpg").exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "no snapshot within 45s"
        time.sleep(0.2)
    time.sleep(2.5)  # let the recorder open a segment, so stopping has one to close
    proc.send_signal(signal.SIGINT)
    code, out, err = finish(proc, timeout=60)
    assert code == 0, err
    assert "Traceback" not in err
    assert "camops local ran" in out
    assert re.search(r"^yard\s+\d+\s+\d+", out, re.MULTILINE)
    assert [f for f in files_of(data, "yard") if DATED_MP4.match(f)], "the open segment is closed and stored on stop"


def test_the_demo_runs_three_cameras_and_prints_stats(tmp_path: Path) -> None:
    data = tmp_path / "demo-data"
    code, out, err = finish(camops("--demo", "--seconds", "8", "--data", str(data), cwd=tmp_path), timeout=120)
    assert code == 0, err
    for camera in ("demo-stream", "demo-http", "demo-recorder"):
        assert (data / camera / "latest.jpg").is_file(), camera
        assert [f for f in files_of(data, camera) if DATED_JPEG.match(f)], camera
    assert [f for f in files_of(data, "demo-recorder") if DATED_MP4.match(f)]
    stats = out[out.index("$ camops stats --dir") : out.index("age bins by LastModified")]
    for camera in ("demo-stream", "demo-http", "demo-recorder", "TOTAL"):
        assert re.search(rf"^{camera}\s+\d+", stats, re.MULTILINE), stats
    assert ".camops" not in stats.split("\n", 2)[2]  # local mode's own files are not counted as a camera


def test_with_an_endpoint_objects_go_to_s3(tmp_path: Path, cameras_file: Path, s3_server: S3Server) -> None:
    data = tmp_path / "data"
    env = {"CAMOPS_STORAGE_ACCESS_KEY": ACCESS_KEY, "CAMOPS_STORAGE_SECRET_KEY": SECRET_KEY}
    args = ("-f", str(cameras_file), "--data", str(data), "--endpoint", f"http://{s3_server.endpoint}")
    code, out, err = finish(camops(*args, "--bucket", "local-run", "--seconds", "6", cwd=tmp_path, env=env))
    assert code == 0, err
    client: Any = s3_server.client()
    keys = sorted(o.object_name for o in client.list_objects("local-run", recursive=True))
    assert "door/latest.jpg" in keys
    assert "yard/latest.jpg" in keys
    assert [k for k in keys if k.startswith("yard/") and DATED_MP4.match(k.removeprefix("yard/"))]
    assert not (data / "yard").exists()  # only the queue and logs are local
    assert SECRET_KEY not in out + err


def test_storage_down_keeps_everything_queued_and_the_next_run_uploads_it(
    tmp_path: Path, cameras_file: Path, s3_server: S3Server
) -> None:
    data = tmp_path / "data"
    env = {"CAMOPS_STORAGE_ACCESS_KEY": ACCESS_KEY, "CAMOPS_STORAGE_SECRET_KEY": SECRET_KEY}
    args = ("-f", str(cameras_file), "--data", str(data), "--endpoint", f"http://{s3_server.endpoint}")
    s3_server.stop()
    code, out, err = finish(camops(*args, "--bucket", "outage", "--seconds", "5", cwd=tmp_path, env=env))
    assert code == 0, err
    summary = out[out.index("camops local ran") :]
    rows = {line.split()[0]: line.split() for line in summary.splitlines()[2:4]}
    queued = {name: int(row[6]) for name, row in rows.items()}
    assert queued["door"] >= 2
    assert queued["yard"] >= 2
    assert "item(s) are still in the offline queue; the next `camops local` run uploads them first" in summary
    assert "error: storage" in out  # the live lines said why

    s3_server.start()
    code, out, err = finish(camops(*args, "--bucket", "outage", "--seconds", "3", cwd=tmp_path, env=env))
    assert code == 0, err
    client: Any = s3_server.client()
    door = [o.object_name for o in client.list_objects("outage", prefix="door/", recursive=True)]
    snapshots = [k for k in door if DATED_JPEG.match(k.removeprefix("door/"))]
    # what waited in the queue arrived (one snapshot and its latest.thumb.jpg each), plus what the second run took
    assert len(snapshots) >= queued["door"] // 2
    assert "door/latest.thumb.jpg" in door
    assert "still in the offline queue" not in out
