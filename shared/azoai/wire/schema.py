"""Structured Outputs' strict JSON schemas.

With ``strict: true`` (a ``json_schema`` response format or a function tool) Azure OpenAI accepts a
schema only when every object is closed (``additionalProperties: false``) and lists every property
as required; a pydantic model's schema is neither. :func:`strict_json_schema` rewrites such a schema
into that form, or says it cannot be (an open ``dict[str, X]`` object), so the caller sends the
schema non-strict instead of getting a 400 back.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

__all__ = ["strict_json_schema", "without_defaults"]


class _NotStrict(Exception):
    pass


def strict_json_schema(schema: Mapping[str, Any]) -> dict[str, Any] | None:
    """A copy of ``schema`` in Structured Outputs' strict form (every object closed, every
    property required, ``default`` values dropped, ``$ref`` with siblings inlined), or ``None``
    when the schema has an open object (``dict[str, X]``) that strict mode cannot express."""
    root = copy.deepcopy(dict(schema))
    try:
        _strict(root, root)
    except _NotStrict:
        return None
    return without_defaults(root)


#: Keywords whose value is a map of name -> subschema (the names are not keywords).
_SCHEMA_MAPS = ("properties", "$defs", "definitions", "patternProperties")
#: Keywords whose value is one subschema or a list of them.
_SCHEMA_KEYS = ("items", "additionalProperties", "not", "anyOf", "allOf", "oneOf", "prefixItems")


def without_defaults(schema: Mapping[str, Any]) -> dict[str, Any]:
    """``schema`` without ``default`` values, for a strict schema: strict mode refuses a
    non-null ``default`` with a 400 (or an intermittent 500; openai/openai-agents-python#4390)
    and every property is required anyway, so a default never applies. A property *named*
    ``default`` is kept. Returns a new dict; ``schema`` is not changed."""
    out = _drop_defaults(schema)
    assert isinstance(out, dict)
    return out


def _drop_defaults(node: Any) -> Any:
    if isinstance(node, list):
        return [_drop_defaults(n) for n in node]
    if not isinstance(node, Mapping):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "default":
            continue
        if key in _SCHEMA_MAPS and isinstance(value, Mapping):
            out[key] = {k: _drop_defaults(v) for k, v in value.items()}
        elif key in _SCHEMA_KEYS:
            out[key] = _drop_defaults(value)
        else:
            out[key] = value  # enum, const, examples...: data, not subschemas
    return out


def _strict(node: Any, root: dict[str, Any]) -> Any:
    if not isinstance(node, dict):
        return node
    for key in ("$defs", "definitions"):
        defs = node.get(key)
        if isinstance(defs, dict):
            for sub in defs.values():
                _strict(sub, root)
    if node.get("type") == "object" or isinstance(node.get("properties"), dict):
        if node.get("additionalProperties") not in (None, False):
            raise _NotStrict
        props = node.get("properties")
        if not isinstance(props, dict) or not props:
            raise _NotStrict  # an object with no declared properties is an open dict
        node["additionalProperties"] = False
        node["required"] = list(props)
        for sub in props.values():
            _strict(sub, root)
    if isinstance(node.get("items"), dict):
        _strict(node["items"], root)
    for key in ("anyOf", "allOf"):
        for sub in node.get(key) or []:
            _strict(sub, root)
    node.pop("default", None)  # before the $ref rule: a default alone is no reason to inline
    ref = node.get("$ref")
    if isinstance(ref, str) and len(node) > 1:
        target = _resolve_ref(root, ref)
        merged = {**copy.deepcopy(target), **{k: v for k, v in node.items() if k != "$ref"}}
        node.clear()
        node.update(merged)
        return _strict(node, root)
    return node


def _resolve_ref(root: Mapping[str, Any], ref: str) -> dict[str, Any]:
    if not ref.startswith("#/"):
        raise _NotStrict
    node: Any = root
    for part in ref[2:].split("/"):
        if not isinstance(node, Mapping) or part not in node:
            raise _NotStrict
        node = node[part]
    if not isinstance(node, dict):
        raise _NotStrict
    return node
