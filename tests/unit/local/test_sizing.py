"""Storage growth in the operations guide: arithmetic on measured sizes, and the measurement itself."""

import json
from pathlib import Path
from typing import Any

import pytest

from camops_operator import docgen
from camops_operator.local.sizing import measure_jpeg, segment_growth, snapshot_growth
from camops_workers.units import format_bytes

ROOT = Path(__file__).resolve().parents[3]


def test_dated_and_flat_keep_every_snapshot_latest_keeps_one() -> None:
    dated = snapshot_growth(100_000, 10, "dated")
    assert dated.objects_per_day == 8640
    assert dated.bytes_per_day == 864_000_000
    assert dated.bytes_per("week") == 7 * 864_000_000
    assert dated.bytes_per("month") == 30 * 864_000_000
    assert snapshot_growth(100_000, 10, "flat").bytes_per_day == dated.bytes_per_day
    assert snapshot_growth(100_000, 10, "latest").bytes_per_day == 0
    with pytest.raises(ValueError, match="layout"):
        snapshot_growth(1, 1, "nested")


def test_recording_grows_with_the_camera_bitrate_plus_the_mp4_index() -> None:
    row = segment_growth(2_000_000, 60, overhead_per_frame=8, fps=15)
    assert row.objects_per_day == 1440
    assert row.bytes_per_day == 2_000_000 / 8 * 86_400 + 8 * 15 * 86_400


def test_the_worker_encoder_is_measured_and_noise_costs_bytes() -> None:
    clean = measure_jpeg(320, 180, frames=2)
    noisy = measure_jpeg(320, 180, frames=2, noise=6.0)
    assert 2_000 < clean < noisy < 200_000


def test_the_operations_guide_tables_are_fresh() -> None:
    assert docgen.check_operations(
        ROOT / "docs/operations.md", ROOT / "docs/sizing.json", ROOT / "docs/benchmarks.json"
    ), "docs/operations.md is stale: run `make docs` and commit it"


def test_the_growth_table_is_computed_from_the_measured_size() -> None:
    sizing = json.loads((ROOT / "docs/sizing.json").read_text())
    block = docgen.render_growth(sizing)
    size = sizing["jpeg_bytes"]["1920x1080"]["noisy"]
    per_day = format_bytes(86_400 / 10 * size).replace(" ", "\u00a0")
    row = next(line for line in block.splitlines() if line.startswith("| 10s |"))
    assert per_day in row


def test_bench_figures_render_cameras_per_node() -> None:
    bench: dict[str, Any] = {
        "command": "bench",
        "machine": "2 vCPU test",
        "date": "2026-11-22",
        "figures": {"cameras_per_core": 10.0, "rss_mb_per_camera": 50.0, "jpeg_speedup": 1.7},
    }
    block = docgen.render_bench(bench)
    assert "| 4 | 32 | 1.6\u00a0GiB |" in block  # 4 cores x 10 x 0.8 = 32 cameras x 50 MB
    bench["figures"] = {**bench["figures"], "cameras_per_core_persistent": 5.0}
    assert "| 4 | 16 | 800.0\u00a0MiB |" in docgen.render_bench(bench)  # the conservative figure sizes nodes
    assert "| `frame.to_image()` + Pillow ÷ the worker's YUV-plane JPEG encoder | 1.7× |" in block
