"""Manifests for `camops local`: Cameras, RetentionPolicies and Secrets, with the CRD's error messages."""

import base64
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from camops_operator import crdgen
from camops_operator.api import Camera, RetentionPolicy
from camops_operator.api.common import describe_error
from camops_operator.local.manifests import ManifestError, load_manifests
from tests.support.crd import validate

ROOT = Path(__file__).resolve().parents[3]
INVALID = sorted((ROOT / "examples/invalid").glob("*.yaml"))


EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_every_example_loads(path: Path) -> None:
    manifests = load_manifests([path])
    assert manifests.cameras or manifests.policies


def test_an_example_with_its_secret() -> None:
    manifests = load_manifests(
        [ROOT / "examples/camera-rtsp-mediamtx.yaml", ROOT / "examples/retention-7d-archive.yaml"]
    )
    assert [c.name for c in manifests.cameras] == ["gate-north"]
    assert [p.metadata.name for p in manifests.policies] == ["one-week"]
    secret = manifests.secret("cameras", "gate-north-credentials")
    assert secret is not None
    assert secret.values == {"username": "viewer", "password": "change-me"}


@pytest.mark.parametrize("path", INVALID, ids=[p.name for p in INVALID])
def test_a_bad_manifest_gets_the_message_the_crd_gives(path: Path) -> None:
    expected = path.read_text().splitlines()[0].removeprefix("# expect:").strip()
    doc = yaml.safe_load(path.read_text())
    crd = crdgen.camera_crd() if doc["kind"] == "Camera" else crdgen.retention_crd()
    assert any(expected in line for line in validate(crd, doc))
    with pytest.raises(ManifestError) as caught:
        load_manifests([path])
    [problem] = caught.value.problems
    assert problem.startswith(f"{path}: {doc['kind']}/{doc['metadata']['name']}: ")
    assert expected in problem
    model = Camera if doc["kind"] == "Camera" else RetentionPolicy
    with pytest.raises(ValidationError) as model_error:
        model.model_validate(doc)
    assert problem.endswith(describe_error(model_error.value))


def _write(tmp_path: Path, name: str, docs: list[object]) -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump_all(docs))
    return path


def _camera(name: str, url: str = "file:///tmp/clip.mp4", **spec: object) -> dict[str, object]:
    return {
        "apiVersion": "camops.io/v1alpha1",
        "kind": "Camera",
        "metadata": {"name": name},
        "spec": {"source": {"url": url}, **spec},
    }


def test_every_problem_in_every_file_is_reported_together(tmp_path: Path) -> None:
    first = _write(tmp_path, "a.yaml", [_camera("one", "ftp://x"), _camera("two")])
    second = _write(tmp_path, "b.yaml", [_camera("two"), {"kind": "Camera", "metadata": {"name": "three"}}])
    broken = tmp_path / "c.yaml"
    broken.write_text("kind: Camera\nspec: [unclosed\n")
    with pytest.raises(ManifestError) as caught:
        load_manifests([first, second, broken, tmp_path / "missing.yaml"])
    problems = caught.value.problems
    assert any(p.startswith(f"{broken}: not valid YAML (line ") for p in problems)
    assert any(p.startswith(f"{tmp_path / 'missing.yaml'}: cannot read") for p in problems)
    assert f"{first}: Camera/one: spec.source.url: String should match pattern" in "\n".join(problems)
    assert any("a Camera named 'two' is already in" in p and p.startswith(f"{second}: Camera/two") for p in problems)
    assert f"{second}: Camera/three: spec: Field required" in problems
    assert len(problems) == 5


def test_secret_data_is_decoded_and_string_data_wins(tmp_path: Path) -> None:
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "creds", "namespace": "site"},
        "data": {"username": base64.b64encode(b"admin").decode(), "password": base64.b64encode(b"old").decode()},
        "stringData": {"password": "new"},
    }
    other = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "site"}}
    path = _write(tmp_path, "s.yaml", [secret, other, _camera("cam")])
    manifests = load_manifests([path])
    found = manifests.secret("site", "creds")
    assert found is not None
    assert dict(found.values) == {"username": "admin", "password": "new"}
    assert manifests.skipped == (f"{path}: Namespace/site",)


def test_bad_base64_in_a_secret_is_reported_without_its_value(tmp_path: Path) -> None:
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds"}, "data": {"password": "hunter2!!"}}
    path = _write(tmp_path, "s.yaml", [secret])
    with pytest.raises(ManifestError) as caught:
        load_manifests([path])
    assert caught.value.problems == [f"{path}: Secret/creds: data.password: not valid base64 of UTF-8 text"]
    assert "hunter2" not in str(caught.value)


def test_a_kubernetes_list_is_unpacked(tmp_path: Path) -> None:
    path = _write(tmp_path, "l.yaml", [{"apiVersion": "v1", "kind": "List", "items": [_camera("a"), _camera("b")]}])
    assert [c.name for c in load_manifests([path]).cameras] == ["a", "b"]
