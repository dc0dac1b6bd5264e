"""Validate sandbox responses against Twilio's OpenAPI component schemas (jsonschema)."""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path
from typing import Any

import jsonschema

REPO = Path(__file__).resolve().parents[2]
# shared/ sits beside the repository (locally and in CI); TWILIO_OPENAPI_DIR overrides it.
SPEC_DIRS = [
    Path(os.environ.get("TWILIO_OPENAPI_DIR", REPO.parent / "shared" / "twilio-openapi")),
    REPO / "shared" / "twilio-openapi",
]
API_SPEC = "twilio_api_v2010.json"
VERIFY_SPEC = "twilio_verify_v2.json"

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
    for directory in SPEC_DIRS:
        path = directory / name
        if path.exists():
            return json.loads(path.read_text())
    raise FileNotFoundError(f"{name} not found in {[str(d) for d in SPEC_DIRS]}")


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
    return check(component(API_SPEC, "api.v2010.account.message"), data)


def message_page(data: Any) -> Any:
    path = "/2010-04-01/Accounts/{AccountSid}/Messages.json"
    return check(response_schema(API_SPEC, path, "get", "200"), data)


def verification(data: Any) -> Any:
    return check(component(VERIFY_SPEC, "verify.v2.service.verification"), data)


def verification_check(data: Any) -> Any:
    return check(component(VERIFY_SPEC, "verify.v2.service.verification_check"), data)


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
            return check(component(API_SPEC, "api.v2010.account"), data)
        if path.endswith("/Messages.json"):
            return message_page(data) if method == "GET" else message(data)
        return message(data)
    if path.endswith("/VerificationCheck"):
        return verification_check(data)
    return verification(data)
