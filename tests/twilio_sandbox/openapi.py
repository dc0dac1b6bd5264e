"""Validate sandbox responses against Twilio's OpenAPI component schemas (jsonschema).

The schemas come from the subsets vendored in twilio_sandbox/openapi/ by
bin/vendor-twilio-openapi, whose KEEP list names everything validated here.
"""

from __future__ import annotations

import functools
import importlib.util
import json
from importlib.machinery import SourceFileLoader
from pathlib import Path
from typing import Any

import jsonschema

REPO = Path(__file__).resolve().parents[2]
VENDOR_SCRIPT = REPO / "bin" / "vendor-twilio-openapi"


def _load_vendor_script() -> Any:
    loader = SourceFileLoader("vendor_twilio_openapi", str(VENDOR_SCRIPT))
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader(loader.name, loader))
    loader.exec_module(module)
    return module


vendor = _load_vendor_script()
SPEC_DIR: Path = vendor.DEFAULT_DEST
API_SPEC: str = vendor.API_SPEC
VERIFY_SPEC: str = vendor.VERIFY_SPEC

# Twilio's JSON error body is not part of the OpenAPI files; this is its documented shape:
# https://www.twilio.com/docs/usage/twilios-response#response-formats-exceptions
ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "code": {"type": "integer"},
        "message": {"type": "string"},
        "more_info": {"type": "string", "pattern": r"^https://www\.twilio\.com/docs/errors/\d+$"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
    },
    "required": ["code", "message", "more_info", "status"],
    "additionalProperties": False,
}


@functools.cache
def load_spec(name: str) -> dict[str, Any]:
    return json.loads((SPEC_DIR / name).read_text(encoding="utf-8"))


def to_json_schema(node: Any, spec: dict[str, Any], exact: bool, seen: tuple[str, ...] = ()) -> Any:
    """Inline `$ref`s to the spec's components and turn OpenAPI 3.0 `nullable` into null types.

    With `exact`, every declared property is required and no other property is allowed: Twilio
    always returns the full resource, so a missing or extra field is a shape error.
    """
    if isinstance(node, list):
        return [to_json_schema(item, spec, exact, seen) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        ref = node["$ref"]
        if ref in seen:
            raise ValueError(f"recursive $ref {ref}")
        target: Any = spec
        for part in ref.removeprefix("#/").split("/"):
            target = target[part]
        resolved = to_json_schema(target, spec, exact, (*seen, ref))
        if node.get("nullable"):
            return {"anyOf": [resolved, {"type": "null"}]}
        return resolved
    schema = {
        key: to_json_schema(value, spec, exact, seen)
        for key, value in node.items()
        if not key.startswith("x-") and key not in ("nullable", "example", "examples")
    }
    if node.get("nullable"):
        if "type" in schema:
            schema["type"] = [schema["type"], "null"]
        if "enum" in schema:
            schema["enum"] = [*schema["enum"], None]
    if exact and schema.get("type") in ("object", ["object", "null"]) and "properties" in schema:
        schema["required"] = sorted(schema["properties"])
        schema["additionalProperties"] = False
    return schema


@functools.cache
def component(spec_name: str, name: str, exact: bool = True) -> dict[str, Any]:
    spec = load_spec(spec_name)
    return to_json_schema({"$ref": f"#/components/schemas/{name}"}, spec, exact)


@functools.cache
def response_schema(spec_name: str, path: str, method: str, status: str) -> dict[str, Any]:
    spec = load_spec(spec_name)
    node = spec["paths"][path][method]["responses"][status]["content"]["application/json"]
    return to_json_schema(node["schema"], spec, exact=True)


def check(schema: dict[str, Any], data: Any) -> Any:
    jsonschema.Draft7Validator(schema).validate(data)
    return data


def message(data: Any) -> Any:
    return check(component(API_SPEC, vendor.MESSAGE), data)


def message_page(data: Any) -> Any:
    return check(response_schema(API_SPEC, *vendor.MESSAGES_LIST), data)


def message_statuses() -> list[str]:
    """Every value a message's `status` may take in the vendored spec (message_enum_status)."""
    return list(component(API_SPEC, vendor.MESSAGE)["properties"]["status"]["enum"])


def verification(data: Any) -> Any:
    return check(component(VERIFY_SPEC, vendor.VERIFICATION), data)


def verification_check(data: Any) -> Any:
    return check(component(VERIFY_SPEC, vendor.VERIFICATION_CHECK), data)


def error(data: Any, code: int | None = None, status: int | None = None) -> Any:
    check(ERROR_SCHEMA, data)
    if code is not None:
        assert data["code"] == code, data
    if status is not None:
        assert data["status"] == status, data
    return data


def validate_response(method: str, path: str, status: int, text: str) -> Any:
    """Validate any sandbox API response by route; returns the decoded JSON (None for 204)."""
    if status == 204:
        assert text == "", text
        return None
    data = json.loads(text)
    if status >= 400:
        return error(data, status=status)
    if path.startswith("/2010-04-01/"):
        if "/Messages" not in path:
            return check(component(API_SPEC, vendor.ACCOUNT), data)
        if path.endswith("/Messages.json"):
            return message_page(data) if method == "GET" else message(data)
        return message(data)
    if path.endswith("/VerificationCheck"):
        return verification_check(data)
    return verification(data)
