"""camops local renders spec.analysis and spec.events through the same contract builder as the operator."""

from pathlib import Path

import yaml

from camops_operator.local.manifests import load_manifests
from camops_operator.local.plan import LocalTarget, plan_cameras
from camops_workers.listeners import build_listeners, close_listeners

ROOT = Path(__file__).resolve().parents[3]


def test_the_analysis_example_plans_a_worker_with_analysis_and_events(tmp_path: Path) -> None:
    manifest = tmp_path / "dock.yaml"
    docs = list(yaml.safe_load_all((ROOT / "examples/camera-analysis-events.yaml").read_text()))
    manifest.write_text(yaml.safe_dump_all(docs))
    planned = plan_cameras(load_manifests([manifest]), LocalTarget(data_dir=tmp_path / "data"), {})
    [camera] = planned
    config = camera.config
    assert config is not None
    assert config.analysis is not None
    assert config.analysis.endpoint == "http://detector.ai.svc:8000/v1/detect"
    assert config.analysis.every_nth_snapshot == 2
    assert config.events is not None
    assert config.events.webhook is not None
    assert config.events.webhook.mode == "binary"
    listeners = build_listeners(config)
    try:
        assert len(listeners) == 2
    finally:
        close_listeners(listeners, timeout=0.5)
