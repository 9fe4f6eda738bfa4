"""A session's frame: header, live lines, summary and exit code (paused cameras run no worker)."""

import io
from pathlib import Path

from camops_operator.local.manifests import parse_manifests
from camops_operator.local.plan import LocalTarget, plan_cameras
from camops_operator.local.session import run_session


def test_a_session_of_paused_cameras_shows_them_and_ends_on_time(tmp_path: Path) -> None:
    doc = {
        "apiVersion": "camops.io/v1alpha1",
        "kind": "Camera",
        "metadata": {"name": "gate"},
        "spec": {"source": {"url": "rtsp://192.0.2.1/s"}, "paused": True},
    }
    target = LocalTarget(data_dir=tmp_path)
    planned = plan_cameras(parse_manifests([("t.yaml", doc)]), target, {})
    out = io.StringIO()
    result = run_session(planned, [], target, seconds=0.3, out=out, tick_s=0.05)
    text = out.getvalue()
    assert result.code == 0
    assert text.startswith(f"camops local: 0 camera(s) running, storing to {tmp_path}; stopping after 0.3s\n")
    assert "] gate  paused " in text
    assert f"objects are in {tmp_path}" in text
    assert text.rstrip().splitlines()[-1].split()[:3] == ["gate", "0", "0"]
