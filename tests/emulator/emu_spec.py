"""Validate emulator bodies against the official Azure OpenAI OpenAPI specs.

The specs live beside the repository (``../shared/azure-openai-spec``; override with
``AZOAI_SPEC_DIR``). Both use OpenAPI's ``nullable`` (the 3.1 preview spec too), which is turned
into JSON Schema (``anyOf [..., {"type": "null"}]``); ``$ref``s resolve within the document.
"""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path
from typing import Any

import pytest

jsonschema = pytest.importorskip("jsonschema")

SPEC_DIR = Path(
    os.environ.get(
        "AZOAI_SPEC_DIR", Path(__file__).resolve().parents[3] / "shared" / "azure-openai-spec"
    )
)
STABLE = "inference-stable-2024-10-21.json"
PREVIEW = "inference-preview-2025-04-01-preview.json"


def _to_json_schema(node: Any) -> Any:
    if isinstance(node, list):
        return [_to_json_schema(x) for x in node]
    if not isinstance(node, dict):
        return node
    out = {
        k: _to_json_schema(v)
        for k, v in node.items()
        if k not in ("nullable", "discriminator", "example")
    }
    for key in ("exclusiveMinimum", "exclusiveMaximum"):
        if isinstance(out.get(key), bool):  # OpenAPI 3.0's boolean form
            del out[key]
    if node.get("nullable") is True:
        return {"anyOf": [out, {"type": "null"}]}
    return out


@cache
def _document(name: str) -> dict[str, Any]:
    path = SPEC_DIR / name
    if not path.exists():
        pytest.skip(f"OpenAPI spec {path} not available")
    return _to_json_schema(json.loads(path.read_text()))  # type: ignore[no-any-return]


@cache
def _validator(name: str, pointer: str) -> Any:
    doc = _document(name)
    schema = {**doc, "$ref": pointer}
    return jsonschema.Draft202012Validator(schema)


def validate(instance: Any, schema: str, *, spec: str = PREVIEW) -> None:
    """Validate ``instance`` against ``#/components/schemas/<schema>`` (or a full ``#/...``
    pointer) of ``spec``; raise with every error listed."""
    pointer = schema if schema.startswith("#") else f"#/components/schemas/{schema}"
    errors = sorted(
        _validator(spec, pointer).iter_errors(instance), key=lambda e: list(e.absolute_path)
    )
    if errors:
        lines = [f"{list(e.absolute_path)}: {e.message[:300]}" for e in errors[:10]]
        raise AssertionError(
            f"{len(errors)} spec error(s) against {schema} in {spec}:\n" + "\n".join(lines)
        )


EMBEDDINGS_200 = "#/paths/~1deployments~1{deployment-id}~1embeddings/post/responses/200/content/application~1json/schema"
