"""docs/reference.md is generated from the models, documents every field, and is committed fresh."""

import html
import json
import re
from pathlib import Path
from typing import Any

import pytest

from camops_operator import crdgen, docgen

ROOT = Path(__file__).resolve().parents[3]
REFERENCE = ROOT / "docs" / "reference.md"


def test_committed_reference_is_fresh() -> None:
    assert REFERENCE.read_text(encoding="utf-8") == docgen.render_reference(), (
        "docs/reference.md is stale: run `make docs` (python -m camops_operator.docgen) and commit it"
    )


def _fields(kind: str, path: str, node: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    out = []
    for name, sub in node.get("properties", {}).items():
        out.append((f"{kind}.{path}", name, {**sub, "x-required": name in node.get("required", [])}))
        child = sub.get("items", sub) if sub.get("type") == "array" else sub
        if "properties" in child:
            suffix = "[]" if sub.get("type") == "array" else ""
            out += _fields(kind, f"{path}.{name}{suffix}", child)
    return out


FIELDS = [
    field
    for crd in crdgen.all_crds()
    for part in ("spec", "status")
    for field in _fields(
        crd["spec"]["names"]["kind"], part, crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"][part]
    )
]


@pytest.mark.parametrize(("section", "name", "schema"), FIELDS, ids=[f"{s}.{n}" for s, n, _ in FIELDS])
def test_every_field_is_documented_with_type_default_and_description(
    section: str, name: str, schema: dict[str, Any]
) -> None:
    text = docgen.render_reference()
    body = text.split(f"### `{section}`\n", 1)[1].split("\n### ", 1)[0]
    rows = [line for line in body.splitlines() if line.startswith(f"| `{name}` |")]
    assert len(rows) == 1, f"{section}.{name} is not in the reference"
    cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", rows[0])[1:-1]]
    field, type_, default, description = cells
    assert field == f"`{name}`"
    assert type_
    shown = html.unescape(description.replace("\\|", "|"))  # as a Markdown renderer shows it
    assert shown.startswith(schema.get("description", ""))
    if "default" in schema and not isinstance(schema["default"], dict):
        expected = json.dumps(schema["default"]) if not isinstance(schema["default"], str) else schema["default"]
        assert default == (f"`{expected}`" if expected else '`""`')
    elif schema["x-required"]:
        assert default == "required"


def test_cross_field_rules_are_listed_with_their_messages() -> None:
    text = docgen.render_reference()
    from camops_operator.api.camera import CAMERA_RULES

    for rule in CAMERA_RULES:
        assert f"- {rule.message}" in text


def test_check_reports_a_stale_file(tmp_path: Path) -> None:
    target = tmp_path / "reference.md"
    assert docgen.main(["--output", str(target), "--check"]) == 1
    assert docgen.main(["--output", str(target)]) == 0
    assert docgen.main(["--output", str(target), "--check"]) == 0
    target.write_text(target.read_text() + "edited by hand\n")
    assert docgen.main(["--output", str(target), "--check"]) == 1
