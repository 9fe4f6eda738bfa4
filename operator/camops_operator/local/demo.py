"""``camops local --demo``: three synthetic cameras, no hardware, then ``camops stats`` for what they wrote.

- ``demo-stream``: an H.264 clip (generated with PyAV, cached under ``<data>/.camops/cache``)
  read as ``file://`` and looped in real time — one persistent decoder, a snapshot a second;
- ``demo-http``: an HTTP JPEG snapshot camera served on 127.0.0.1 (basic auth, its
  password in a Secret manifest that local mode writes to a 0600 file);
- ``demo-recorder``: the same clip recorded in 5-second MP4 segments (remuxed, never
  re-encoded) plus a snapshot every 5 seconds.

The manifests are ordinary Camera, Secret and RetentionPolicy objects; the demo writes
them to ``<data>/.camops/demo/cameras.yaml`` so they can be read and reused.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import yaml

from camops_operator.local.manifests import parse_manifests
from camops_operator.local.media import ClipSpec, ensure_clip
from camops_operator.local.plan import STATE_DIR, LocalTarget, PlanError, PlannedCamera, plan_cameras
from camops_operator.local.session import configure_logging, run_session
from camops_operator.local.snapshot_server import SnapshotCamera
from camops_workers.redact import redact
from camops_workers.retention.stats import render_table, summarize
from camops_workers.storage.base import StorageError
from camops_workers.storage.factory import open_store

__all__ = ["DEMO_LABELS", "demo_manifests", "print_stats", "run_demo"]

DEMO_LABELS = {"app.kubernetes.io/part-of": "camops-demo"}
DEMO_USER = "demo"


def demo_manifests(clip: Path, http_url: str, password: str) -> list[dict[str, Any]]:
    """The demo's Secret, three Cameras and a RetentionPolicy, as a user would write them."""

    def camera(name: str, spec: dict[str, Any]) -> dict[str, Any]:
        return {
            "apiVersion": "camops.io/v1alpha1",
            "kind": "Camera",
            "metadata": {"name": name, "labels": dict(DEMO_LABELS)},
            "spec": spec,
        }

    clip_url = clip.absolute().as_uri()
    # The demo picture's colour bands drift across the whole frame: to picture health that is a
    # camera being moved all the time (docs/picture-health.md), so the demo cameras do not check it.
    no_health = {"enabled": False}
    return [
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "demo-http-credentials"},
            "stringData": {"username": DEMO_USER, "password": password},
        },
        camera(
            "demo-stream",
            {"source": {"url": clip_url}, "snapshots": {"interval": "1s", "quality": 85}, "health": no_health},
        ),
        camera(
            "demo-http",
            {
                "source": {"url": http_url, "credentialsSecretRef": {"name": "demo-http-credentials"}},
                "snapshots": {"interval": "1s"},
                "health": no_health,
            },
        ),
        camera(
            "demo-recorder",
            {
                "source": {"url": clip_url},
                "snapshots": {"interval": "5s"},
                "recording": {"enabled": True, "segmentDuration": "5s"},
                "health": no_health,
            },
        ),
        {
            "apiVersion": "camops.io/v1alpha1",
            "kind": "RetentionPolicy",
            "metadata": {"name": "demo-one-week"},
            "spec": {"selector": {"matchLabels": dict(DEMO_LABELS)}, "maxAge": "7d", "schedule": "@hourly"},
        },
    ]


def print_stats(planned: Sequence[PlannedCamera], out: TextIO, now: datetime) -> bool:
    """Print ``camops stats`` for the store the cameras wrote to (hidden folders are never listed)."""
    configs = [p.config for p in planned if p.config is not None]
    if not configs:
        return False
    storage = configs[0].storage
    try:
        store = open_store(storage)
        prefix = f"{storage.prefix}/" if storage.prefix else ""
        stats = summarize(store.list_objects(prefix, recursive=True), prefix, now, where=store.description)
    except StorageError as exc:
        out.write(f"camops stats: {redact(exc)}\n")
        return False
    command = (
        f"camops stats --dir {storage.directory}"
        if storage.kind == "local"
        else f"camops stats --bucket {storage.bucket}"
    )
    out.write(f"\n$ {command}\n{render_table(stats)}\n")
    return True


def run_demo(
    target: LocalTarget, *, seconds: float | None, verbose: bool, out: TextIO, err: TextIO, console: str | None = None
) -> int:
    """Generate the media, start the HTTP camera, run the three cameras, then print the stats."""
    state = target.data_dir / STATE_DIR
    log_path = configure_logging(target.data_dir, verbose=verbose, err=err)
    spec = ClipSpec()
    if not (state / "cache" / spec.file_name()).exists():
        out.write("camops demo: generating the synthetic camera's H.264 clip (once)...\n")
        out.flush()
    clip = ensure_clip(state / "cache", spec)
    password = secrets.token_urlsafe(12)
    with SnapshotCamera(label="camops demo-http", credentials=(DEMO_USER, password)) as http_camera:
        docs = demo_manifests(clip, http_camera.url, password)
        manifest_path = state / "demo" / "cameras.yaml"
        manifest_path.parent.mkdir(parents=True, exist_ok=True)
        shown = [
            d if d["kind"] != "Secret" else {**d, "stringData": {"username": DEMO_USER, "password": "<random>"}}
            for d in docs
        ]
        manifest_path.write_text(
            "# The manifests `camops local --demo` ran (the HTTP camera only exists while the demo runs).\n"
            + yaml.safe_dump_all(shown, sort_keys=False),
            encoding="utf-8",
        )
        manifests = parse_manifests([(str(manifest_path), d) for d in docs])
        try:
            planned = plan_cameras(manifests, target, os.environ)
        except PlanError as exc:
            err.write("camops demo: the demo cameras cannot run here:\n")
            err.writelines(f"  {problem}\n" for problem in exc.problems)
            return 2
        out.write(f"camops demo: cameras from {manifest_path}\n")
        result = run_session(planned, manifests.policies, target, seconds=seconds, out=out, console=console)
    print_stats(planned, out, datetime.now(UTC))
    if target.endpoint is None:
        data = target.data_dir
        out.write(
            f"\nLook at {data / 'demo-stream' / 'latest.jpg'} and the MP4 segments under {data / 'demo-recorder'}/.\n"
        )
    out.write(f"log: {log_path}\n")
    out.flush()
    return result.code
