"""Embeddings: deterministic vectors, dimensions, base64, limits, and spec conformance."""

from __future__ import annotations

import math
from typing import Any

import httpx
import pytest
from emu_spec import EMBEDDINGS_200, PREVIEW, STABLE, validate
from openai import AzureOpenAI, OpenAI

EMBED = "/openai/deployments/embed/embeddings?api-version=2024-10-21"


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


def test_sdk_default_base64_and_float_give_the_same_vectors(azure: AzureOpenAI, v1: OpenAI) -> None:
    texts = ["The cat sat on the mat", "A cat sat on a mat", "Interest rates rose in March"]
    decoded = azure.embeddings.create(model="embed", input=texts)  # the SDK asks for base64
    floats = v1.embeddings.create(model="embed", input=texts, encoding_format="float")
    for packed, plain in zip(decoded.data, floats.data, strict=True):
        assert packed.embedding == pytest.approx(plain.embedding, abs=1e-6)
    a, b, c = (d.embedding for d in floats.data)
    assert len(a) == 1536
    assert math.isclose(math.sqrt(sum(x * x for x in a)), 1.0, rel_tol=1e-9)
    assert cosine(a, b) > 0.5 > cosine(a, c)
    assert floats.usage.prompt_tokens == floats.usage.total_tokens == 6 + 6 + 5
    assert floats.model == "text-embedding-3-small"


@pytest.mark.parametrize(
    ("version", "spec"), [("2024-10-21", STABLE), ("2025-04-01-preview", PREVIEW)]
)
def test_body_validates_against_the_spec(http: httpx.Client, version: str, spec: str) -> None:
    body = http.post(
        f"/openai/deployments/embed/embeddings?api-version={version}", json={"input": ["a", "b c"]}
    ).json()
    validate(body, EMBEDDINGS_200, spec=spec)
    assert [d["index"] for d in body["data"]] == [0, 1]


def test_dimensions(http: httpx.Client) -> None:
    small = http.post(EMBED, json={"input": "hello", "dimensions": 256}).json()
    assert len(small["data"][0]["embedding"]) == 256
    large = http.post(
        "/openai/v1/embeddings", json={"model": "embed-large", "input": "hello"}
    ).json()
    assert len(large["data"][0]["embedding"]) == 3072
    too_many = http.post(EMBED, json={"input": "hello", "dimensions": 2000})
    assert too_many.json()["error"]["param"] == "dimensions"
    ada = http.post(
        "/openai/v1/embeddings", json={"model": "embed-ada", "input": "x", "dimensions": 256}
    )
    assert ada.json()["error"]["message"] == "This model does not support specifying dimensions."
    old = http.post(
        "/openai/deployments/embed/embeddings?api-version=2024-02-01",
        json={"input": "x", "dimensions": 8},
    )
    assert old.json()["error"]["message"] == "Unrecognized request argument supplied: dimensions"


def test_token_id_inputs(http: httpx.Client) -> None:
    body = http.post(EMBED, json={"input": [[1, 2, 3], [4, 5]], "dimensions": 8}).json()
    assert len(body["data"]) == 2
    assert body["usage"]["prompt_tokens"] == 5
    single = http.post(EMBED, json={"input": [1, 2, 3], "dimensions": 8}).json()
    assert single["data"][0]["embedding"] == body["data"][0]["embedding"]


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"input": ["ok", ""]}, "'$.input' is invalid."),
        ({"input": []}, "'$.input' is invalid."),
        ({"input": ["x"] * 2049}, "Too many inputs. The max number of inputs is 2048."),
        ({"input": "word " * 8193}, "maximum context length is 8192 tokens"),
        ({"input": "x", "encoding_format": "hex"}, "Supported values are: 'float' and 'base64'."),
        ({"input": "x", "frobnicate": 1}, "Unrecognized request argument supplied: frobnicate"),
        ({}, "Missing required parameter: 'input'."),
    ],
)
def test_limits(http: httpx.Client, payload: dict[str, Any], message: str) -> None:
    r = http.post(EMBED, json=payload)
    assert r.status_code == 400
    assert message in r.json()["error"]["message"]


def test_the_full_batch_is_accepted(http: httpx.Client) -> None:
    body = http.post(
        EMBED, json={"input": [f"text {i}" for i in range(2048)], "dimensions": 4}
    ).json()
    assert len(body["data"]) == 2048


def test_v1_embeddings_refuse_entra_tokens_as_azure_documents(emu: Any) -> None:
    """Azure: "The Azure OpenAI embeddings API doesn't currently support Microsoft Entra ID with
    the v1 API. Use API key authentication." Keys work there; tokens work on the deployment
    route, and on v1 for everything else."""
    token = {"Authorization": f"Bearer {emu.issue_token()}"}
    key = {"api-key": emu.api_key}
    body = {"model": "embed", "input": ["a"]}
    with httpx.Client(base_url=emu.endpoint, timeout=10) as http:
        refused = http.post("/openai/v1/embeddings", json=body, headers=token)
        assert refused.status_code == 401
        error = refused.json()["error"]
        assert error["code"] == "PermissionDenied"
        assert "Entra ID with the v1 API" in error["message"]
        assert http.post("/openai/v1/embeddings", json=body, headers=key).status_code == 200
        assert http.post(EMBED, json={"input": ["a"]}, headers=token).status_code == 200
        chat = {"model": "chat", "messages": [{"role": "user", "content": "hi"}]}
        assert http.post("/openai/v1/chat/completions", json=chat, headers=token).status_code == 200
