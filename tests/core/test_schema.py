"""azoai.wire.strict_json_schema: pydantic schemas in Structured Outputs' strict form."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import BaseModel, Field

from azoai.client import Client
from azoai.errors import BadRequestError
from azoai.wire import ChatRequest, Message, ResponseFormat, strict_json_schema
from azoai_emulator import Emulator


class Address(BaseModel):
    city: str
    zip: str | None = None


class Person(BaseModel):
    """A person."""

    name: str
    age: int = Field(description="years")
    home: Address
    previous: list[Address] = []
    work: Address | None = None


class Loose(BaseModel):
    extra: dict[str, int]


def _objects(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        if node.get("type") == "object" or "properties" in node:
            yield node
        for value in node.values():
            yield from _objects(value)
    elif isinstance(node, list):
        for value in node:
            yield from _objects(value)


def test_every_object_is_closed_and_requires_every_property() -> None:
    original = Person.model_json_schema()
    before = copy.deepcopy(original)
    strict = strict_json_schema(original)
    assert strict is not None
    assert original == before  # the caller's schema is not modified
    objects = list(_objects(strict))
    assert len(objects) == 2  # Person and Address ($defs)
    for obj in objects:
        assert obj["additionalProperties"] is False
        assert obj["required"] == list(obj["properties"])
    assert strict["required"] == ["name", "age", "home", "previous", "work"]
    assert "default" not in strict["$defs"]["Address"]["properties"]["zip"]
    assert strict["properties"]["age"]["description"] == "years"
    json.dumps(strict)


def test_a_reference_with_siblings_is_inlined_and_closed() -> None:
    schema = {
        "type": "object",
        "properties": {"home": {"$ref": "#/$defs/A", "description": "where they live"}},
        "$defs": {"A": {"type": "object", "properties": {"city": {"type": "string"}}}},
    }
    strict = strict_json_schema(schema)
    assert strict is not None
    home = strict["properties"]["home"]
    assert "$ref" not in home
    assert home["description"] == "where they live"
    assert home["additionalProperties"] is False and home["required"] == ["city"]


@pytest.mark.parametrize(
    "schema",
    [
        Loose.model_json_schema(),
        {"type": "object"},
        {"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": True},
        {
            "type": "object",
            "properties": {"a": {"$ref": "other.json#/A", "description": "elsewhere"}},
        },
        {"type": "array", "items": {"type": "object", "additionalProperties": {"type": "int"}}},
    ],
    ids=["dict-field", "no-properties", "open", "external-ref", "open-items"],
)
def test_schemas_strict_mode_cannot_express_give_none(schema: dict[str, Any]) -> None:
    assert strict_json_schema(schema) is None


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    with Emulator() as emu:
        c = Client(
            endpoint=emu.endpoint,
            api_key=emu.api_key,
            deployment="chat",
            env={},
            config_file="",
        )
        yield c
        c.close()


def test_azure_accepts_the_strict_form_and_refuses_the_raw_pydantic_schema(client: Client) -> None:
    ask = [Message("user", "Ada Lovelace is 36 and lives in London.")]
    raw = Person.model_json_schema()
    with pytest.raises(BadRequestError) as caught:
        client.chat(
            ChatRequest(
                messages=ask,
                response_format=ResponseFormat(
                    "json_schema", schema=raw, name="Person", strict=True
                ),
            )
        )
    assert "additionalProperties" in str(caught.value)

    strict = strict_json_schema(raw)
    assert strict is not None
    result = client.chat(
        ChatRequest(
            messages=ask,
            response_format=ResponseFormat(
                "json_schema", schema=strict, name="Person", strict=True
            ),
        )
    )
    person = Person.model_validate_json(result.text)
    assert person.name and isinstance(person.age, int)
