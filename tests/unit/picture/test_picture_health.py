"""Picture health on synthetic pictures: each fault is reported within enter_after snapshots, clears
within exit_after, and a healthy scene (noise, night, a slow change of light, a passing object) raises nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
import simplejpeg

from camops_workers.contract import PictureHealthConfig
from camops_workers.picture import (
    Hysteresis,
    PictureJudge,
    PictureState,
    measure,
    thumbnail_from_jpeg,
    thumbnail_from_luma,
)
from camops_workers.picture.measures import uniform_share, view_grid
from camops_workers.picture.states import describe, format_span
from tests.servers.pictures import Scene

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _run(
    judge: PictureJudge, scene: Scene, faults: list[str], start: int = 0, step_s: float = 10.0
) -> list[PictureState]:
    states = []
    for i, fault in enumerate(faults, start):
        verdict = judge.observe(thumbnail_from_luma(scene.luma(i * step_s, fault)), T0 + timedelta(seconds=i * step_s))
        states.append(verdict.state)
    return states


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        ("freeze", PictureState.FROZEN),
        ("black", PictureState.BLACK),
        ("uniform", PictureState.UNIFORM),
        ("blur", PictureState.BLURRED),
        ("scene", PictureState.SCENE_CHANGED),
    ],
)
@pytest.mark.parametrize("size", [(320, 240), (1280, 720)])
def test_each_fault_is_reported_after_enter_after_snapshots_and_clears(
    fault: str, expected: PictureState, size: tuple[int, int]
) -> None:
    config = PictureHealthConfig()
    judge = PictureJudge(config)
    scene = Scene(*size)
    healthy = _run(judge, scene, ["normal"] * 8)
    assert set(healthy) == {PictureState.HEALTHY}
    during = _run(judge, scene, [fault] * 6, start=8)
    detected = during.index(expected) + 1
    print(f"{fault} {size}: reported at snapshot {detected} of the fault")
    # A freeze shows from its second picture on (the first still differs from the one before).
    needed = config.enter_after + (1 if fault == "freeze" else 0)
    assert detected == needed
    assert during[needed - 1 :] == [expected] * (6 - needed + 1)
    after = _run(judge, scene, ["normal"] * 4, start=14)
    assert after.index(PictureState.HEALTHY) + 1 == config.exit_after
    assert after[-1] == PictureState.HEALTHY


@pytest.mark.parametrize(
    "scene",
    [
        Scene(noise=3.0),
        Scene(noise=1.0),
        Scene(noise=6.0),
        Scene(day=0.25, night=0.25),  # night, lamps off, a dim picture
        Scene(day=1.0, night=0.2, period_s=1200),  # day to night and back over 20 minutes
    ],
    ids=["noise3", "quiet", "noisy", "night", "day-night"],
)
def test_a_healthy_scene_raises_nothing_over_ten_minutes(scene: Scene) -> None:
    judge = PictureJudge()
    states = _run(judge, scene, ["normal"] * 120, step_s=5.0)  # ten minutes at one snapshot in 5 s
    raws = [judge.last.raw if judge.last else None]
    assert set(states) == {PictureState.HEALTHY}, raws


def test_a_passing_object_is_not_a_scene_change() -> None:
    judge = PictureJudge()
    scene = Scene()
    states = []
    for i in range(40):
        luma = scene.luma(i * 5.0).copy()
        if 10 <= i < 20:  # a truck crossing a sixth of the picture for 50 s
            x = (i - 10) * 30
            luma[100:200, x : x + 60] = 40
        states.append(judge.observe(thumbnail_from_luma(luma), T0 + timedelta(seconds=i * 5)).state)
    assert set(states) == {PictureState.HEALTHY}


def test_a_stopped_stream_clock_is_frozen_even_when_pixels_change() -> None:
    judge = PictureJudge(PictureHealthConfig(enter_after=2))
    scene = Scene()
    for i in range(6):
        judge.observe(thumbnail_from_luma(scene.luma(i)), T0 + timedelta(seconds=i), stream_s=float(i))
    states = [
        judge.observe(thumbnail_from_luma(scene.luma(i)), T0 + timedelta(seconds=i), stream_s=5.0).state
        for i in range(6, 9)
    ]
    assert states == [PictureState.HEALTHY, PictureState.FROZEN, PictureState.FROZEN]


def test_frozen_message_says_since_when() -> None:
    judge = PictureJudge()
    scene = Scene()
    _run(judge, scene, ["normal"] * 6)
    _run(judge, scene, ["freeze"] * 26, start=6)  # 250 s of an identical picture
    assert judge.last is not None
    # The picture of the first frozen snapshot (t=60 s) was repeated until t=310 s.
    assert judge.last.message == "picture unchanged for 4m10s"
    assert judge.last.since == T0 + timedelta(seconds=60)


def test_limited_range_video_reads_like_full_range() -> None:
    full = Scene().luma(0.0)
    limited = (16 + full.astype(np.float32) * 219 / 255).round().astype(np.uint8)
    a = measure(thumbnail_from_luma(full))
    b = measure(thumbnail_from_luma(limited, full_range=False))
    assert abs(a.luma - b.luma) < 1.0
    assert abs(a.contrast - b.contrast) < 1.0


def test_jpeg_thumbnail_measures_like_the_decoded_plane() -> None:
    y = Scene(640, 480).luma(0.0)
    u = np.full((240, 320), 128, np.uint8)
    data = simplejpeg.encode_jpeg_yuv_planes(y, u, u.copy(), quality=90)
    from_jpeg = measure(thumbnail_from_jpeg(data))
    from_plane = measure(thumbnail_from_luma(y))
    assert abs(from_jpeg.luma - from_plane.luma) < 2.0
    assert abs(from_jpeg.contrast - from_plane.contrast) < 2.0


def test_view_grid_ignores_light_and_flat_pictures_have_none() -> None:
    scene = Scene(noise=0.0)
    day = view_grid(thumbnail_from_luma(scene.luma(0.0)).luma)
    dim = view_grid((thumbnail_from_luma(scene.luma(0.0)).luma * 0.3 + 5).astype(np.float32))
    assert day is not None
    assert dim is not None
    assert float(np.dot(day, dim)) > 0.999
    assert view_grid(np.full((90, 160), 77.0, np.float32)) is None


def test_uniform_share_counts_the_picture_near_its_most_common_shade() -> None:
    luma = np.full((100, 100), 200.0, np.float32)
    luma[:10] = 20.0
    assert uniform_share(luma, 8) == pytest.approx(0.9)


def test_hysteresis_needs_runs_in_and_out_and_switches_between_faults() -> None:
    h = Hysteresis(enter_after=3, exit_after=2)
    at = [T0 + timedelta(seconds=i) for i in range(20)]
    seq = [PictureState.BLACK, PictureState.HEALTHY, PictureState.BLACK, PictureState.BLACK]
    assert [h.feed(s, at[i]) for i, s in enumerate(seq)] == [None] * 4  # interrupted run: nothing
    t = h.feed(PictureState.BLACK, at[4])
    assert t is not None
    assert (t.previous, t.state, t.since) == (PictureState.HEALTHY, PictureState.BLACK, at[2])
    assert h.feed(PictureState.HEALTHY, at[5]) is None  # one healthy snapshot is not enough
    assert h.feed(PictureState.BLACK, at[6]) is None
    for i in (7, 8):
        t = h.feed(PictureState.UNIFORM, at[i])
    assert t is not None
    assert t.state == PictureState.HEALTHY
    t = h.feed(PictureState.UNIFORM, at[9])
    assert t is not None
    assert (t.state, t.since) == (PictureState.UNIFORM, at[7])


def test_messages_and_spans() -> None:
    assert format_span(250) == "4m10s"
    assert format_span(35) == "35s"
    assert format_span(7500) == "2h5m"
    assert format_span(3 * 86400 + 4 * 3600) == "3d4h"
    assert describe(PictureState.HEALTHY, T0, T0 + timedelta(hours=1)) == "picture healthy"
