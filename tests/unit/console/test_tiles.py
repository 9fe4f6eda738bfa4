"""Tiles from Cameras: broken first, filters, picture health read when present and tolerated when absent."""

from __future__ import annotations

from typing import Any

from camops_operator.console.tiles import Health, arrange, condition_words, tile_from_camera


def camera(name: str, phase: str | None, *, ns: str = "site-a", **status: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"metadata": {"namespace": ns, "name": name, "labels": {"site": ns}}, "status": status}
    if phase:
        body["status"]["phase"] = phase
    return body


def test_phase_and_conditions_decide_the_state() -> None:
    running = tile_from_camera(camera("a", "Running", capture={"lastSnapshotTime": "2026-12-02T10:00:00Z"}))
    assert running.health is Health.OK
    assert running.last_snapshot_at is not None
    assert running.picture is None  # no picture health reported yet: tolerated
    down = tile_from_camera(
        camera(
            "b",
            "Degraded",
            conditions=[{"type": "SourceConnected", "status": "False", "reason": "Refused", "message": "no route"}],
        )
    )
    assert down.health is Health.BROKEN
    assert down.message == "SourceConnected: no route"
    assert tile_from_camera(camera("c", None)).health is Health.PENDING
    assert tile_from_camera(camera("d", "Paused")).health is Health.PAUSED


def test_picture_health_breaks_a_running_camera() -> None:
    frozen = tile_from_camera(camera("a", "Running", capture={"picture": {"state": "Frozen"}}))
    assert (frozen.health, frozen.picture) == (Health.BROKEN, "Frozen")
    covered = tile_from_camera(
        camera("a", "Running", capture={"picture": {"state": "Uniform", "message": "one shade for 2m"}})
    )
    assert (covered.health, covered.message) == (Health.BROKEN, "one shade for 2m")
    healthy = tile_from_camera(camera("a", "Running", capture={"picture": {"state": "Healthy"}}))
    assert healthy.health is Health.OK
    by_condition = tile_from_camera(camera("a", "Running", conditions=[{"type": "PictureHealthy", "status": "False"}]))
    assert by_condition.health is Health.BROKEN


def test_arrange_puts_broken_first_and_filters() -> None:
    tiles = [
        tile_from_camera(camera("zeta", "Running")),
        tile_from_camera(camera("alpha", "Running", ns="site-b")),
        tile_from_camera(camera("mid", "Failed")),
        tile_from_camera(camera("beta", "Paused")),
    ]
    assert [t.name for t in arrange(tiles)] == ["mid", "beta", "zeta", "alpha"]
    assert [t.name for t in arrange(tiles, namespace="site-b")] == ["alpha"]
    assert [t.name for t in arrange(tiles, label="site=site-a", state="ok")] == ["zeta"]
    assert {t.name for t in arrange(tiles, search="ET")} == {"zeta", "beta"}
    assert arrange(tiles, label="nope") == []


def test_conditions_in_words_ready_first() -> None:
    words = condition_words(
        camera(
            "a",
            "Running",
            conditions=[
                {"type": "StorageReachable", "status": "True", "reason": "Uploaded"},
                {"type": "Ready", "status": "False", "reason": "SourceDown", "message": "refused"},
            ],
        )
    )
    assert words == [("Ready", "no", "SourceDown", "refused"), ("StorageReachable", "yes", "Uploaded", "")]
