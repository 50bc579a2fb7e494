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

__all__ = ["strict_json_schema"]


class _NotStrict(Exception):
    pass


def strict_json_schema(schema: Mapping[str, Any]) -> dict[str, Any] | None:
    """A copy of ``schema`` in Structured Outputs' strict form (every object closed, every
    property required, nullable defaults dropped, ``$ref`` with siblings inlined), or ``None``
    when the schema has an open object (``dict[str, X]``) that strict mode cannot express."""
    root = copy.deepcopy(dict(schema))
    try:
        _strict(root, root)
    except _NotStrict:
        return None
    return root


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
    if "default" in node and node["default"] is None:
        del node["default"]
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
