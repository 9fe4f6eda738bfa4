"""Sorting storage errors (permanent vs transient) and the drain command's configuration."""

from __future__ import annotations

import argparse
import socket
from pathlib import Path
from typing import Any, cast

import pytest
import urllib3
from minio.error import InvalidResponseError, S3Error, ServerError

from camops_workers.queue import cli as queue_cli
from camops_workers.queue import drain_cli
from camops_workers.queue.durable import DurableQueue, QueueStats
from camops_workers.storage.factory import split_endpoint
from camops_workers.storage.s3 import classify_error
from tests.unit.queue.captures import capture

NO_POOL = cast(Any, None)  # the errors only carry the pool for their message


def s3_error(code: str, status: int) -> S3Error:
    response = urllib3.HTTPResponse(body=b"", status=status)
    return S3Error(response, code, "message", None, "req", "host")


@pytest.mark.parametrize(
    ("exc", "permanent", "reason"),
    [
        (s3_error("AccessDenied", 403), True, "AccessDenied"),
        (s3_error("NoSuchBucket", 404), True, "NoSuchBucket"),
        (s3_error("InvalidAccessKeyId", 403), True, "InvalidAccessKeyId"),
        (s3_error("KeyTooLongError", 400), True, "KeyTooLongError"),
        (s3_error("SlowDown", 503), False, "SlowDown"),
        (s3_error("InternalError", 500), False, "InternalError"),
        (s3_error("Whatever", 502), False, "Whatever"),
        (ServerError("bad gateway", 502), False, "http_502"),
        (InvalidResponseError(403, "text/html", None), True, "AccessDenied"),
        (InvalidResponseError(503, "text/html", None), False, "http_503"),
        (
            urllib3.exceptions.MaxRetryError(NO_POOL, "/", urllib3.exceptions.NewConnectionError(NO_POOL, "refused")),
            False,
            "connection",
        ),
        (urllib3.exceptions.ReadTimeoutError(NO_POOL, "/", "timed out"), False, "timeout"),
        (ConnectionRefusedError(111, "refused"), False, "connection"),
        (ValueError("invalid object name"), True, "invalid_request"),
    ],
)
def test_classify_error(exc: BaseException, permanent: bool, reason: str) -> None:
    info = classify_error(exc)
    assert (info.permanent, info.reason) == (permanent, reason)


def test_split_endpoint() -> None:
    assert split_endpoint("minio:9000", True) == ("minio:9000", True)
    assert split_endpoint("http://minio:9000", True) == ("minio:9000", False)
    assert split_endpoint("https://s3.example.com/", False) == ("s3.example.com", True)
    with pytest.raises(ValueError, match="credentials"):
        split_endpoint("http://user:pw@minio:9000", False)


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    drain_cli.configure(parser)
    return parser.parse_args(["--queue", "/q", *argv])


def test_storage_from_env_reads_credentials_by_reference() -> None:
    env = {
        "CAMOPS_STORAGE_ENDPOINT": "http://minio:9000",
        "CAMOPS_STORAGE_BUCKET": "cams",
        "CAMOPS_STORAGE_ACCESS_KEY": "AKIA-SECRET",
        "CAMOPS_STORAGE_SECRET_KEY_FILE": "/run/secrets/secretKey",
    }
    config = drain_cli.storage_from(parse(), env)
    assert (config.kind, config.endpoint, config.bucket, config.secure) == ("s3", "http://minio:9000", "cams", False)
    assert config.access_key is not None
    assert config.access_key.env == "CAMOPS_STORAGE_ACCESS_KEY"
    assert config.secret_key is not None
    assert config.secret_key.file == "/run/secrets/secretKey"
    assert "AKIA-SECRET" not in config.model_dump_json()


def test_flags_win_over_env_and_local_dir() -> None:
    env = {"CAMOPS_STORAGE_ENDPOINT": "minio:9000", "CAMOPS_STORAGE_SECURE": "true"}
    config = drain_cli.storage_from(parse("--endpoint", "other:9000", "--insecure", "--bucket", "b2"), env)
    assert (config.endpoint, config.secure, config.bucket) == ("other:9000", False, "b2")
    local = drain_cli.storage_from(parse("--local-dir", "/data"), env)
    assert (local.kind, local.directory) == ("local", "/data")
    with pytest.raises(ValueError, match="no storage given"):
        drain_cli.storage_from(parse(), {})
    with pytest.raises(ValueError, match="expected true or false"):
        drain_cli.storage_from(parse(), {"CAMOPS_STORAGE_ENDPOINT": "m:1", "CAMOPS_STORAGE_SECURE": "maybe"})


def test_credentials_are_not_accepted_as_flags() -> None:
    with pytest.raises(SystemExit):
        parse("--secret-key", "x")


def test_progress_line_says_why_it_is_stuck() -> None:
    stats = QueueStats(depth=12, bytes=2048, oldest_age_s=5.0, failed=2, dropped=1, expired=0, uploaded=30)
    line = drain_cli.progress_line(stats, "open", "uploading: connection refused token=abc")
    assert line.startswith("drain: pending=10 failed=2 bytes=2.0 KiB uploaded=30 dropped=1 expired=0 storage=open")
    assert "token=***" in line
    assert "last_error" not in drain_cli.progress_line(stats, "closed", None)


def test_queue_stats_text_and_retry(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    queue = DurableQueue(tmp_path / "q")
    queue.put(capture("door", 1, 1500))
    queue.put(capture("door", 2, 500))
    item = queue.claim("me", 30)
    assert item is not None
    queue.park(item, "AccessDenied: Access Denied")
    queue.close()
    parser = argparse.ArgumentParser()
    queue_cli.configure(parser)
    assert queue_cli.main(parser.parse_args(["stats", "--queue", str(tmp_path / "q")])) == 0
    out = capsys.readouterr().out
    assert "depth       2" in out
    assert "failed      1" in out
    assert "bytes       2000 (2.0 KiB)" in out
    assert f"failed      {item.key} (id {item.id}, attempts 1): AccessDenied: Access Denied" in out
    assert queue_cli.main(parser.parse_args(["retry", "--queue", str(tmp_path / "q")])) == 0
    assert "re-armed 1 failed items" in capsys.readouterr().out
    assert queue_cli.main(parser.parse_args(["stats", "--queue", str(tmp_path / "nothing")])) == 2


def test_drain_with_storage_unreachable_stops_at_max_seconds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    queue = DurableQueue(tmp_path / "q")
    queue.put(capture("door", 1, 100))
    queue.close()
    with socket.socket() as sock:  # a port nobody listens on: connection refused
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("CAMOPS_STORAGE_ACCESS_KEY", "AKIAEXAMPLEKEY")
    monkeypatch.setenv("CAMOPS_STORAGE_SECRET_KEY", "very-secret-value")
    args = parse("--endpoint", f"127.0.0.1:{port}", "--insecure", "--max-seconds", "1.5", "--progress-every", "0.5")
    args.queue = str(tmp_path / "q")
    assert drain_cli.main(args) == 0
    out = capsys.readouterr()
    assert "stopped after 1.5s with 1 items left" in out.out
    assert "Connection refused" in out.out  # the progress line says why nothing moves
    assert "very-secret-value" not in out.out + out.err
    reopened = DurableQueue(tmp_path / "q")
    assert reopened.stats().depth == 1  # nothing lost, nothing parked
    assert reopened.stats().failed == 0
    reopened.close()
