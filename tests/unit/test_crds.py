"""The generated CRDs are structural, fresh, and carry the columns and rules users rely on."""

from pathlib import Path
from typing import Any

import pytest

from camops_operator import crdgen

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = {"$ref", "$defs", "definitions", "title", "allOf", "oneOf", "const"}


def _walk(node: dict[str, Any], path: str) -> list[str]:
    """Every structural-schema violation in one schema node and its children."""
    problems = [f"{path}: {key}" for key in sorted(FORBIDDEN & node.keys())]
    if "anyOf" in node and any(o.get("type") == "null" for o in node["anyOf"]):
        problems.append(f"{path}: anyOf with null (use nullable)")
    if node.get("additionalProperties") is False:
        problems.append(f"{path}: additionalProperties: false")
    if "properties" in node and "additionalProperties" in node:
        problems.append(f"{path}: additionalProperties beside properties")
    if "type" not in node and not node.get("x-kubernetes-int-or-string"):
        problems.append(f"{path}: no type")
    for name, sub in node.get("properties", {}).items():
        problems += _walk(sub, f"{path}.{name}")
    if isinstance(node.get("items"), dict):
        problems += _walk(node["items"], f"{path}[]")
    if isinstance(node.get("additionalProperties"), dict):
        problems += _walk(node["additionalProperties"], f"{path}{{}}")
    return problems


@pytest.mark.parametrize("crd", crdgen.all_crds(), ids=lambda c: c["metadata"]["name"])
def test_schema_is_structural(crd: dict[str, Any]) -> None:
    schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    assert _walk(schema, "openAPIV3Schema") == []


def test_committed_crds_are_fresh() -> None:
    assert crdgen.check(ROOT / "crds") == [], "run `make crds` and commit the result"


def test_camera_crd_shape() -> None:
    crd = crdgen.camera_crd()
    spec = crd["spec"]
    assert spec["names"]["shortNames"] == ["cam"]
    assert spec["names"]["categories"] == ["camops"]
    version = spec["versions"][0]
    assert version["subresources"] == {"status": {}}
    assert [c["name"] for c in version["additionalPrinterColumns"]] == [
        "Phase",
        "Ready",
        "Last Snapshot",
        "Queue",
        "Age",
    ]
    status = version["schema"]["openAPIV3Schema"]["properties"]["status"]
    conditions = status["properties"]["conditions"]
    assert conditions["x-kubernetes-list-type"] == "map"
    assert conditions["x-kubernetes-list-map-keys"] == ["type"]
    rules = version["schema"]["openAPIV3Schema"]["properties"]["spec"]["x-kubernetes-validations"]
    assert len(rules) >= 3
    assert all(r["message"] for r in rules)


def test_every_field_is_described() -> None:
    def undocumented(node: Any, path: str) -> list[str]:
        missing = []
        for name, sub in node.get("properties", {}).items():
            here = f"{path}.{name}"
            if not sub.get("description"):
                missing.append(here)
            missing += undocumented(sub, here)
            if "items" in sub:
                missing += undocumented(sub["items"], here + "[]")
        return missing

    for crd in crdgen.all_crds():
        root = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
        assert undocumented(root["properties"]["spec"], "spec") == []
        assert undocumented(root["properties"]["status"], "status") == []
