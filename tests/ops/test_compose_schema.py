"""docker-compose.yml is a valid Compose file: it validates against the Compose Specification's
JSON schema, as check-jsonschema vendors it (from compose-spec/compose-spec, schema/)."""

import copy
import importlib.resources
import json

import jsonschema
import pytest

from tests.ops.files import compose, compose_raw

# Throwaway values for the variables compose requires.
ENV = {"POSTGRES_PASSWORD": "compose-test-not-secret", "FLOWER_BASIC_AUTH": "ops:not-secret"}


@pytest.fixture(scope="module")
def validator():
    vendored = importlib.resources.files("check_jsonschema.builtin_schemas.vendor")
    schema = json.loads(vendored.joinpath("compose-spec.json").read_text())
    assert schema["title"] == "Compose Specification"
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def errors(validator, document) -> list[str]:
    return sorted(f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document))


def test_the_compose_file_validates_against_the_compose_specification(validator):
    assert errors(validator, compose_raw()) == []
    assert errors(validator, compose(ENV)) == []  # as compose checks it: interpolated


def test_the_compose_file_has_no_obsolete_version_key():
    assert "version" not in compose_raw()


def test_the_schema_refuses_what_compose_refuses(validator):
    """The validation is no formality: a misspelt key or an unknown condition fails it."""
    document = copy.deepcopy(compose_raw())
    document["services"]["beat"]["replica"] = 2
    assert errors(validator, document)
    document = copy.deepcopy(compose_raw())
    document["services"]["web"]["depends_on"]["redis"]["condition"] = "service_ready"
    assert errors(validator, document)
    document = copy.deepcopy(compose_raw())
    document["services"]["redis"]["healthcheck"]["test"] = {"cmd": "redis-cli ping"}
    assert errors(validator, document)
