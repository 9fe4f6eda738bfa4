"""The local ContractEnvironment: folder or S3 storage, per-camera queues, secrets from files or environment."""

from pathlib import Path
from typing import Any

import pytest

from camops_operator.local.manifests import ManifestSet, parse_manifests
from camops_operator.local.plan import LocalTarget, PlanError, env_name, plan_cameras

DATA = Path("/data")


def _camera(name: str, **spec: Any) -> dict[str, Any]:
    spec.setdefault("source", {"url": "rtsp://192.0.2.1/stream"})
    return {
        "apiVersion": "camops.io/v1alpha1",
        "kind": "Camera",
        "metadata": {"name": name, "namespace": "site"},
        "spec": spec,
    }


def _secret(name: str, **values: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": "site"}, "stringData": values}


def _manifests(*docs: dict[str, Any]) -> ManifestSet:
    return parse_manifests(("test.yaml", d) for d in docs)


def test_by_default_objects_go_to_the_data_folder_and_the_queue_beside_them() -> None:
    [planned] = plan_cameras(_manifests(_camera("gate")), LocalTarget(data_dir=DATA), {})
    config = planned.config
    assert config is not None
    assert config.storage.kind == "local"
    assert config.storage.directory == "/data"
    assert config.storage.prefix == ""
    assert config.queue.directory == "/data/.camops/queue/gate"
    assert config.report is None
    assert config.source.username is None
    assert planned.secret_files == {}


def test_a_secret_in_the_manifests_becomes_files_the_worker_reads() -> None:
    docs = (
        _secret("gate-creds", **{"user": "admin", "pass_": "x"}),
        _camera(
            "gate",
            source={
                "url": "rtsp://192.0.2.1/s",
                "credentialsSecretRef": {"name": "gate-creds", "usernameKey": "user", "passwordKey": "pass_"},
            },
        ),
    )
    [planned] = plan_cameras(_manifests(*docs), LocalTarget(data_dir=DATA), {})
    assert planned.config is not None
    source = planned.config.source
    assert source.username is not None
    assert source.password is not None
    assert source.username.file == "/data/.camops/secrets/gate/camera/username"
    assert source.password.file == "/data/.camops/secrets/gate/camera/password"
    assert planned.secret_files == {source.username.file: "admin", source.password.file: "x"}
    assert "admin" not in planned.config.model_dump_json()  # the contract holds where, never the value


def test_without_the_secret_the_credentials_come_from_environment_variables() -> None:
    camera = _camera("gate", source={"url": "rtsp://192.0.2.1/s", "credentialsSecretRef": {"name": "gate-creds"}})
    env = {"GATE_CREDS_USERNAME": "admin", "GATE_CREDS_PASSWORD": "x"}
    [planned] = plan_cameras(_manifests(camera), LocalTarget(data_dir=DATA), env)
    assert planned.config is not None
    assert planned.config.source.username is not None
    assert planned.config.source.username.env == "GATE_CREDS_USERNAME"
    assert planned.secret_files == {}
    with pytest.raises(PlanError) as caught:
        plan_cameras(_manifests(camera), LocalTarget(data_dir=DATA), {"GATE_CREDS_USERNAME": "admin"})
    assert caught.value.problems == [
        "Camera/gate: Secret 'gate-creds' (namespace site) is not in the manifests; "
        "add it with -f, or set GATE_CREDS_PASSWORD"
    ]


def test_a_secret_without_the_named_key_is_reported() -> None:
    docs = (
        _secret("c", username="admin"),
        _camera("gate", source={"url": "rtsp://h/s", "credentialsSecretRef": {"name": "c"}}),
    )
    with pytest.raises(PlanError, match="Camera/gate: Secret 'c' has no key 'password'"):
        plan_cameras(_manifests(*docs), LocalTarget(data_dir=DATA), {})


def test_an_endpoint_stores_in_s3_with_credentials_from_a_secret_or_the_environment() -> None:
    target = LocalTarget(data_dir=DATA, endpoint="127.0.0.1:9000", secure=False, bucket="cams")
    with_secret = _manifests(
        _secret("camops-storage", accessKey="AK", secretKey="SK"), _camera("gate", storage={"prefix": "site-a"})
    )
    [planned] = plan_cameras(with_secret, target, {})
    assert planned.config is not None
    storage = planned.config.storage
    assert (storage.kind, storage.endpoint, storage.secure, storage.bucket, storage.prefix) == (
        "s3", "127.0.0.1:9000", False, "cams", "site-a",
    )  # fmt: skip
    assert storage.access_key is not None
    assert planned.secret_files[str(storage.access_key.file)] == "AK"
    env = {"CAMOPS_STORAGE_ACCESS_KEY": "AK", "CAMOPS_STORAGE_SECRET_KEY": "SK"}
    [from_env] = plan_cameras(_manifests(_camera("gate", storage={"bucket": "other"})), target, env)
    assert from_env.config is not None
    assert from_env.config.storage.bucket == "other"
    assert from_env.config.storage.secret_key is not None
    assert from_env.config.storage.secret_key.env == "CAMOPS_STORAGE_SECRET_KEY"
    with pytest.raises(PlanError, match=r"storage at 127\.0\.0\.1:9000 needs credentials"):
        plan_cameras(_manifests(_camera("gate")), target, {})


def test_a_paused_camera_is_planned_without_a_worker() -> None:
    [planned] = plan_cameras(_manifests(_camera("gate", paused=True)), LocalTarget(data_dir=DATA), {})
    assert planned.config is None


def test_every_camera_that_cannot_run_is_reported_at_once() -> None:
    docs = (
        _camera("a", source={"url": "rtsp://h/s", "via": "mediamtx"}, mediamtx={"enabled": True}),
        _camera("b", source={"url": "rtsp://h/s", "credentialsSecretRef": {"name": "nope"}}),
        _camera("ok"),
    )
    with pytest.raises(PlanError) as caught:
        plan_cameras(_manifests(*docs), LocalTarget(data_dir=DATA), {})
    assert [p.split(":", 1)[0] for p in caught.value.problems] == ["Camera/a", "Camera/b"]
    assert "CAMOPS_MEDIAMTX_RTSP_URL" in caught.value.problems[0]
    [planned_a] = plan_cameras(_manifests(docs[0]), LocalTarget(data_dir=DATA, mediamtx_rtsp_url="rtsp://mtx:8554"), {})
    assert planned_a.config is not None
    assert planned_a.config.source.url == "rtsp://mtx:8554/site-a"


def test_env_name() -> None:
    assert env_name("gate-north.creds", "password") == "GATE_NORTH_CREDS_PASSWORD"


def _with_tokens() -> dict[str, Any]:
    return _camera(
        "dock",
        analysis={"endpoint": "http://detector:8000/v1", "bearerTokenSecretRef": {"name": "det"}},
        events={
            "webhook": {"url": "http://hooks:9000/e", "bearerTokenSecretRef": {"name": "hook", "key": "t"}},
        },
    )


def test_analysis_and_events_tokens_become_files_as_the_pod_mounts_them() -> None:
    docs = (_secret("det", **{"token": "det-token"}), _with_tokens())
    [planned] = plan_cameras(_manifests(*docs), LocalTarget(data_dir=DATA), {"HOOK_T": "hook-token"})
    config = planned.config
    assert config is not None
    assert config.analysis is not None
    assert config.analysis.bearer_token is not None
    assert config.events is not None
    assert config.events.webhook is not None
    assert config.events.webhook.bearer_token is not None
    analysis_file = config.analysis.bearer_token.file
    webhook_file = config.events.webhook.bearer_token.file
    assert analysis_file == "/data/.camops/secrets/dock/tokens/analysis/token"
    assert webhook_file == "/data/.camops/secrets/dock/tokens/events-webhook/token"
    assert planned.secret_files[analysis_file] == "det-token"  # from the Secret in the files
    assert planned.secret_files[webhook_file] == "hook-token"  # from HOOK_T: Secret "hook", key "t"


def test_a_missing_token_secret_is_reported_with_the_variable_to_set() -> None:
    with pytest.raises(PlanError) as caught:
        plan_cameras(_manifests(_with_tokens()), LocalTarget(data_dir=DATA), {})
    assert caught.value.problems == [
        "Camera/dock: Secret 'det' (namespace site) with the analysis token is not in the manifests; "
        "add it with -f, or set DET_TOKEN",
        "Camera/dock: Secret 'hook' (namespace site) with the events-webhook token is not in the manifests; "
        "add it with -f, or set HOOK_T",
    ]


def test_the_summary_names_the_buckets_the_cameras_write_to(tmp_path: Path) -> None:
    docs = [
        {
            "apiVersion": "camops.io/v1alpha1",
            "kind": "Camera",
            "metadata": {"name": name},
            "spec": {"source": {"url": "rtsp://192.0.2.1/s"}, "storage": {"bucket": bucket} if bucket else {}},
        }
        for name, bucket in (("own", "site-a"), ("default", None))
    ]
    target = LocalTarget(data_dir=tmp_path, endpoint="127.0.0.1:9000", bucket="camops")
    env = {"CAMOPS_STORAGE_ACCESS_KEY": "a", "CAMOPS_STORAGE_SECRET_KEY": "b"}
    planned = plan_cameras(parse_manifests([(f"{i}.yaml", d) for i, d in enumerate(docs)]), target, env)
    assert {p.name: p.config.storage.bucket for p in planned if p.config} == {"own": "site-a", "default": "camops"}
    assert target.where(planned) == "s3://camops, s3://site-a at 127.0.0.1:9000"
    assert LocalTarget(data_dir=tmp_path).where(planned) == str(tmp_path)
