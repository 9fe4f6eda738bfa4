"""`camops local` refuses what it cannot run before starting anything, with a message that says what to do."""

from pathlib import Path

import pytest

from camops_operator.cli import main

ROOT = Path(__file__).resolve().parents[3]


def test_without_manifests_it_points_to_the_demo(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["local", "--data", str(tmp_path / "d")]) == 2
    assert "give Camera manifests with -f FILE (or try: camops local --demo)" in capsys.readouterr().err
    assert not (tmp_path / "d").exists()


def test_demo_and_files_do_not_mix(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["local", "--demo", "-f", "x.yaml", "--data", str(tmp_path / "d")]) == 2
    assert "--demo runs its own cameras" in capsys.readouterr().err


def test_a_bad_endpoint_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["local", "-f", "x.yaml", "--endpoint", "ftp://h:21", "--data", str(tmp_path / "d")]) == 2
    assert "--endpoint: invalid storage endpoint" in capsys.readouterr().err


def test_bad_seconds_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["local", "--demo", "--seconds", "soon"])
    assert "invalid duration 'soon'" in capsys.readouterr().err


def test_cameras_that_cannot_run_here_are_listed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CAMOPS_MEDIAMTX_RTSP_URL", raising=False)
    manifest = ROOT / "examples/camera-rtsp-mediamtx.yaml"
    assert main(["local", "-f", str(manifest), "--data", str(tmp_path / "d")]) == 2
    err = capsys.readouterr().err
    assert "these cameras cannot run here" in err
    assert "Camera/gate-north: spec.source.via: mediamtx needs the operator's MediaMTX RTSP URL" in err


def test_the_demo_against_s3_without_credentials_says_what_to_set(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CAMOPS_STORAGE_ACCESS_KEY", raising=False)
    monkeypatch.delenv("CAMOPS_STORAGE_SECRET_KEY", raising=False)
    args = ["local", "--demo", "--endpoint", "http://127.0.0.1:9", "--data", str(tmp_path / "d"), "--seconds", "1"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "Camera/demo-stream: storage at 127.0.0.1:9 needs credentials" in err
    assert "CAMOPS_STORAGE_ACCESS_KEY and CAMOPS_STORAGE_SECRET_KEY" in err


def test_a_second_run_on_the_same_data_folder_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from camops_operator.local.session import data_lock

    with data_lock(tmp_path / "d"):
        assert main(["local", "--demo", "--data", str(tmp_path / "d"), "--seconds", "1"]) == 2
    err = capsys.readouterr().err
    assert f"{tmp_path / 'd'} is in use by another camops local (pid " in err
    assert "pass another --data" in err
