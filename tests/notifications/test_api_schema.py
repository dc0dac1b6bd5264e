"""The OpenAPI schema: valid, and each operation's every error documented as the envelope."""

import pytest
from django.core.management import call_command

ENVELOPE_REF = "#/components/schemas/ErrorEnvelope"
JSON_BODY = {
    406: {"not_acceptable"},
    413: {"payload_too_large"},
    415: {"unsupported_media_type"},
}
# Webhooks answer whatever Twilio's Accept header says: no 406.
SIGNED_FORM = {
    400: {"validation_error", "bad_request"},
    403: {"permission_denied"},
    413: {"payload_too_large"},
    415: {"unsupported_media_type"},
}
ERRORS = {
    ("post", "/api/sms/send/"): {
        400: {"validation_error", "invalid_phone_number", "invalid_body", "parse_error"},
        401: {"not_authenticated", "authentication_failed"},
        403: {"permission_denied"},
        409: {"idempotency_conflict"},
        429: {"throttled"},
        **JSON_BODY,
    },
    ("get", "/api/sms/status/{message_id}/"): {
        401: {"not_authenticated", "authentication_failed"},
        403: {"permission_denied"},
        404: {"not_found"},
        406: {"not_acceptable"},
    },
    ("post", "/api/sms/bulk/"): {
        400: {
            "validation_error",
            "invalid_recipients",
            "too_many_recipients",
            "invalid_body",
            "parse_error",
        },
        401: {"not_authenticated", "authentication_failed"},
        403: {"permission_denied"},
        409: {"idempotency_conflict"},
        429: {"throttled"},
        **JSON_BODY,
    },
    ("get", "/api/sms/bulk/{bulk_id}/"): {
        401: {"not_authenticated", "authentication_failed"},
        403: {"permission_denied"},
        404: {"not_found"},
        406: {"not_acceptable"},
    },
    ("post", "/api/sms/bulk/{bulk_id}/cancel/"): {
        401: {"not_authenticated", "authentication_failed"},
        403: {"permission_denied"},
        404: {"not_found"},
        406: {"not_acceptable"},
        409: {"bulk_finished"},
    },
    ("post", "/api/sms/verify/start/"): {
        400: {
            "validation_error",
            "invalid_phone_number",
            "invalid_channel",
            "country_not_allowed",
            "parse_error",
        },
        429: {"throttled"},
        503: {"service_unavailable"},  # Redis, which holds the throttles, is down
        **JSON_BODY,
    },
    ("post", "/api/sms/verify/check/"): {
        400: {
            "validation_error",
            "invalid_phone_number",
            "invalid_code",
            "country_not_allowed",
            "parse_error",
        },
        429: {"throttled"},
        502: {"provider_error"},
        503: {"provider_unavailable", "service_unavailable"},
        **JSON_BODY,
    },
    ("post", "/webhooks/sms/status/"): SIGNED_FORM,
    ("post", "/webhooks/sms/inbound/"): SIGNED_FORM,
}
RETRY_AFTER = {
    ("post", "/api/sms/send/"): {429},
    ("post", "/api/sms/bulk/"): {429},
    ("post", "/api/sms/verify/start/"): {429, 503},
    ("post", "/api/sms/verify/check/"): {429, 503},
}


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    from drf_spectacular.generators import SchemaGenerator

    with django_db_blocker.unblock():
        return SchemaGenerator().get_schema(request=None, public=True)


def operations(schema):
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            yield (method, path), operation


def walk(node, key=None):
    """Every (key, value) pair of the document, depth first."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield k, v
            yield from walk(v, k)
    elif isinstance(node, list):
        for v in node:
            yield from walk(v, key)


def test_the_schema_generates_without_warnings_and_validates():
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", "/dev/null")


def test_the_schema_and_the_docs_are_served(client):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200 and b"/api/sms/send/" in schema.content
    assert b"ErrorEnvelope" in schema.content
    assert client.get("/api/docs/").status_code == 200


def test_every_operation_is_in_the_table_of_errors(schema):
    assert {key for key, _ in operations(schema)} == set(ERRORS)


@pytest.mark.parametrize("key", list(ERRORS), ids=" ".join)
def test_each_error_response_is_the_envelope_with_an_example_per_code(schema, key):
    operation = dict(operations(schema))[key]
    errors = {int(s): r for s, r in operation["responses"].items() if int(s) >= 400}
    assert set(errors) == set(ERRORS[key])
    for status, response in errors.items():
        content = response["content"]["application/json"]
        assert content["schema"] == {"$ref": ENVELOPE_REF}, status
        examples = [example["value"] for example in content["examples"].values()]
        assert {example["error"]["code"] for example in examples} == ERRORS[key][status]
        for code in ERRORS[key][status]:
            assert f"`{code}`" in response["description"]
        for example in examples:
            assert set(example) == {"error"}
            assert set(example["error"]) == {"code", "message", "details"}
            assert example["error"]["message"] and isinstance(example["error"]["details"], dict)


@pytest.mark.parametrize("key", list(ERRORS), ids=" ".join)
def test_retry_after_is_documented_where_the_api_sends_it(schema, key):
    operation = dict(operations(schema))[key]
    with_header = {
        int(status)
        for status, response in operation["responses"].items()
        if "Retry-After" in response.get("headers", {})
    }
    assert with_header == RETRY_AFTER.get(key, set())
    for status in with_header:
        header = operation["responses"][str(status)]["headers"]["Retry-After"]
        assert header["schema"]["type"] == "integer" and header["description"]


def test_the_envelope_is_one_component(schema):
    components = schema["components"]["schemas"]
    assert {name for name in components if "Error" in name} == {"Error", "ErrorEnvelope"}
    envelope = components["ErrorEnvelope"]
    assert envelope["required"] == ["error"]
    assert envelope["properties"]["error"] == {"$ref": "#/components/schemas/Error"}
    error = components["Error"]
    assert set(error["required"]) == {"code", "message", "details"}
    assert error["properties"]["details"]["type"] == "object"


def test_the_verification_requests_say_which_channel_and_code_are_right(schema):
    # Any string passes the serializers (the service answers invalid_channel or invalid_code),
    # but a client, or a fuzzer, reads from the schema what gets a code sent and checked.
    components = schema["components"]["schemas"]
    assert components["VerificationChannelEnum"]["enum"] == ["sms"]
    channel = components["VerifyStartRequest"]["properties"]["channel"]
    assert channel["allOf"] == [{"$ref": "#/components/schemas/VerificationChannelEnum"}]
    assert channel["default"] == "sms"
    code = components["VerifyCheckRequest"]["properties"]["code"]
    assert code["type"] == "string" and code["pattern"] == "^[0-9]{4,10}$"


def test_components_have_meaningful_names(schema):
    names = set(schema["components"]["schemas"])
    assert not {name for name in names if name.endswith(("Input", "Output"))}
    assert {"SMSSendRequest", "SMSMessage", "ErrorEnvelope"} <= names
    assert {
        "BulkSendRequest",
        "BulkSend",
        "BulkCounts",
        "BulkRejection",
        "BulkSendStateEnum",
    } <= names


def test_every_body_has_an_example_and_none_is_a_placeholder(schema):
    for key, operation in operations(schema):
        for media in operation.get("requestBody", {}).get("content", {}).values():
            assert media.get("examples"), key
        for status, response in operation["responses"].items():
            for media in response.get("content", {}).values():
                assert media.get("examples"), (key, status)
    values = [value for key, value in walk(schema) if key in ("example", "value")]
    assert values and "string" not in {str(v) for v in values}
