"""Validate manifests the way a kube-apiserver does: defaulting, the structural schema, then CEL.

Used to check examples and invalid manifests against the generated CRDs without a cluster.
"""

from __future__ import annotations

import copy
from typing import Any

import celpy
import jsonschema
from celpy.adapter import json_to_cel

JSON = dict[str, Any]


def _to_jsonschema(node: Any) -> Any:
    """OpenAPI v3 (``nullable``, ``x-kubernetes-*``) -> plain JSON Schema for the validator."""
    if isinstance(node, list):
        return [_to_jsonschema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _to_jsonschema(v) for k, v in node.items() if not k.startswith("x-kubernetes")}
    if node.get("type") == "object" and "properties" in node and "additionalProperties" not in node:
        out["additionalProperties"] = False  # the API server prunes unknown fields; we reject them
    if out.pop("nullable", False) and "type" in out:
        out["type"] = [out["type"], "null"]
    return out


def apply_defaults(schema: JSON, obj: Any) -> Any:
    """Fill ``default`` values like the API server does (only inside objects that exist)."""
    if not isinstance(obj, dict) or schema.get("type") != "object":
        if isinstance(obj, list) and "items" in schema:
            return [apply_defaults(schema["items"], item) for item in obj]
        return obj
    out = dict(obj)
    for name, sub in schema.get("properties", {}).items():
        if name not in out and "default" in sub:
            out[name] = copy.deepcopy(sub["default"])
        if name in out:
            out[name] = apply_defaults(sub, out[name])
    return out


def _cel_errors(schema: JSON, obj: Any, path: str) -> list[str]:
    errors: list[str] = []
    for rule in schema.get("x-kubernetes-validations", []):
        env = celpy.Environment()
        program = env.program(env.compile(rule["rule"]))
        result = program.evaluate({"self": json_to_cel(obj)})
        if isinstance(result, Exception) or not bool(result):
            errors.append(f"{path}: Invalid value: {rule['message']}")
    if isinstance(obj, dict):
        for name, sub in schema.get("properties", {}).items():
            if name in obj and obj[name] is not None:
                errors += _cel_errors(sub, obj[name], f"{path}.{name}")
    return errors


def crd_schema(crd: JSON) -> JSON:
    schema: JSON = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    return schema


def validate(crd: JSON, manifest: JSON) -> list[str]:
    """Return the API server's error messages for ``manifest`` (empty when it would be accepted)."""
    schema = crd_schema(crd)
    body = apply_defaults(schema, {k: v for k, v in manifest.items() if k != "metadata"})
    validator = jsonschema.Draft7Validator(_to_jsonschema(schema))
    errors = [
        f"{'.'.join(str(p) for p in err.absolute_path) or '<root>'}: {err.message}"
        for err in sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
    ]
    if errors:
        return errors
    return _cel_errors(schema, body, "<root>")
