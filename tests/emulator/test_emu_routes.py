"""URL families, api-version rules, authentication, Azure's error bodies, headers and the log."""

from __future__ import annotations

import asyncio

import httpx
import openai
import pytest
from emu_helpers import CHAT, V1_CHAT, FakeClock
from openai import AsyncOpenAI, AzureOpenAI, OpenAI

from azoai.error_reading import error_from_response
from azoai.errors import (
    AuthenticationError,
    DeploymentNotFoundError,
    NotFoundError,
    UnsupportedParameterError,
)
from azoai_emulator import Emulator, EmulatorDeployment

HELLO = {"messages": [{"role": "user", "content": "hello"}]}
KEY_DENIED = {
    "error": {
        "code": "401",
        "message": "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a "
        "valid key for an active subscription and use a correct regional API endpoint for your resource.",
    }
}
TOKEN_DENIED = {
    "statusCode": 401,
    "message": "Unauthorized. Access token is missing, invalid, audience is incorrect "
    "(https://cognitiveservices.azure.com), or have expired.",
}
NOT_FOUND_MESSAGE = (
    "The API deployment for this resource does not exist. If you created the deployment within the last 5 "
    "minutes, please wait a moment and try again."
)


def test_both_url_families_with_the_sdk(azure: AzureOpenAI, v1: OpenAI, emu: Emulator) -> None:
    dated = azure.chat.completions.create(
        model="chat", messages=[{"role": "user", "content": "Say 'one'"}]
    )
    plain = v1.chat.completions.create(
        model="chat", messages=[{"role": "user", "content": "Say 'two'"}]
    )
    assert dated.choices[0].message.content == "one"
    assert plain.choices[0].message.content == "two"
    assert dated.model == plain.model == "gpt-4o-2024-11-20"
    first, second = emu.requests
    assert (first.path, first.query, first.deployment) == (
        "/openai/deployments/chat/chat/completions",
        {"api-version": "2024-10-21"},
        "chat",
    )
    assert (second.path, second.query, second.deployment) == (
        "/openai/v1/chat/completions",
        {},
        "chat",
    )


def test_missing_api_version_is_404_and_unknown_is_400(http: httpx.Client) -> None:
    missing = http.post("/openai/deployments/chat/chat/completions", json=HELLO)
    assert (missing.status_code, missing.json()) == (
        404,
        {"error": {"code": "404", "message": "Resource not found"}},
    )
    unknown = http.post(
        "/openai/deployments/chat/chat/completions?api-version=2024-13-99", json=HELLO
    )
    assert (unknown.status_code, unknown.json()) == (
        400,
        {"error": {"code": "BadRequest", "message": "API version not supported"}},
    )
    v1_dated = http.post(f"{V1_CHAT}?api-version=2024-10-21", json={"model": "chat", **HELLO})
    assert v1_dated.status_code == 400
    for version in ("v1", "preview"):
        assert (
            http.post(
                f"{V1_CHAT}?api-version={version}", json={"model": "chat", **HELLO}
            ).status_code
            == 200
        )


def test_an_operation_older_than_the_api_version_is_404(http: httpx.Client) -> None:
    old = http.post("/openai/deployments/chat/chat/completions?api-version=2022-12-01", json=HELLO)
    assert old.status_code == 404
    responses = http.post(
        "/openai/responses?api-version=2024-10-21", json={"model": "chat", "input": "hi"}
    )
    assert responses.json() == {"error": {"code": "404", "message": "Resource not found"}}


def test_unknown_paths_and_methods_are_404(http: httpx.Client) -> None:
    assert http.get("/nothing/here").json() == {
        "error": {"code": "404", "message": "Resource not found"}
    }
    assert http.get(CHAT).status_code == 404
    assert http.put("/openai/v1/models").status_code == 404


def test_keys(emu: Emulator, http: httpx.Client) -> None:
    wrong = httpx.post(f"{emu.endpoint}{CHAT}", headers={"api-key": "nope"}, json=HELLO)
    assert (wrong.status_code, wrong.json()) == (401, KEY_DENIED)
    missing = httpx.post(f"{emu.endpoint}{CHAT}", json=HELLO)
    assert (missing.status_code, missing.json()) == (401, KEY_DENIED)
    # the plain OpenAI client sends the key as a bearer: fine on v1, not on the dated route
    bearer = {"authorization": f"Bearer {emu.api_key}"}
    assert (
        httpx.post(
            f"{emu.endpoint}{V1_CHAT}", headers=bearer, json={"model": "chat", **HELLO}
        ).status_code
        == 200
    )
    dated = httpx.post(f"{emu.endpoint}{CHAT}", headers=bearer, json=HELLO)
    assert (dated.status_code, dated.json()) == (401, TOKEN_DENIED)


def test_issued_tokens_work_on_both_routes(emu: Emulator) -> None:
    token = emu.issue_token()
    azure = AzureOpenAI(
        azure_endpoint=emu.endpoint, azure_ad_token=token, api_version="2024-10-21", max_retries=0
    )
    assert azure.chat.completions.create(
        model="chat", messages=[{"role": "user", "content": "hi"}]
    ).choices
    plain = OpenAI(base_url=emu.v1_base_url, api_key=token, max_retries=0)
    assert plain.chat.completions.create(
        model="chat", messages=[{"role": "user", "content": "hi"}]
    ).choices
    ai_azure = emu.issue_token(audience="https://ai.azure.com/.default")
    assert httpx.post(
        f"{emu.endpoint}{V1_CHAT}",
        headers={"authorization": f"Bearer {ai_azure}"},
        json={"model": "chat", **HELLO},
    ).is_success


def test_wrong_audience_forged_and_expired_tokens_are_401(emu: Emulator) -> None:
    management = emu.issue_token(audience="https://management.azure.com")
    forged = emu.issue_token()[:-4] + "AAAA"
    for token in (management, forged, "not-a-jwt"):
        r = httpx.post(
            f"{emu.endpoint}{CHAT}", headers={"authorization": f"Bearer {token}"}, json=HELLO
        )
        assert (r.status_code, r.json()) == (401, TOKEN_DENIED)


def test_tokens_expire_on_the_emulator_clock() -> None:
    clock = FakeClock()
    with Emulator(
        deployments=[EmulatorDeployment("chat", model="gpt-4o")], token_lifetime=300, clock=clock
    ) as emu:
        token = emu.issue_token()
        headers = {"authorization": f"Bearer {token}"}
        assert httpx.post(f"{emu.endpoint}{CHAT}", headers=headers, json=HELLO).status_code == 200
        clock.advance(299)
        assert httpx.post(f"{emu.endpoint}{CHAT}", headers=headers, json=HELLO).status_code == 200
        clock.advance(1)
        expired = httpx.post(f"{emu.endpoint}{CHAT}", headers=headers, json=HELLO)
        assert (expired.status_code, expired.json()) == (401, TOKEN_DENIED)
        assert isinstance(error_from_response(401, expired.content), AuthenticationError)


def test_deployment_not_found_shapes(http: httpx.Client) -> None:
    dated = http.post(
        "/openai/deployments/ghost/chat/completions?api-version=2024-10-21", json=HELLO
    )
    assert (dated.status_code, dated.json()) == (
        404,
        {"error": {"code": "DeploymentNotFound", "message": NOT_FOUND_MESSAGE}},
    )
    v1 = http.post(V1_CHAT, json={"model": "ghost", **HELLO})
    assert v1.json() == {
        "error": {
            "type": "invalid_request_error",
            "code": "DeploymentNotFound",
            "message": NOT_FOUND_MESSAGE,
        }
    }
    creating = http.post(
        "/openai/deployments/creating/chat/completions?api-version=2024-10-21", json=HELLO
    )
    assert creating.json()["error"]["code"] == "DeploymentNotFound"
    error = error_from_response(404, dated.content, deployment="ghost")
    assert isinstance(error, DeploymentNotFoundError)
    missing_model = http.post(V1_CHAT, json=HELLO)
    assert missing_model.json()["error"]["code"] == "missing_required_parameter"


@pytest.mark.parametrize(
    ("path", "body", "operation", "model"),
    [
        (
            "/openai/deployments/chat/embeddings?api-version=2024-10-21",
            {"input": "x"},
            "embeddings",
            "gpt-4o",
        ),
        (
            "/openai/deployments/embed/chat/completions?api-version=2024-10-21",
            HELLO,
            "chatCompletion",
            "text-embedding-3-small",
        ),
        (
            "/openai/deployments/chat/completions?api-version=2024-10-21",
            {"prompt": "x"},
            "completion",
            "gpt-4o",
        ),
        ("/openai/v1/embeddings", {"model": "chat", "input": "x"}, "embeddings", "gpt-4o"),
        (
            "/openai/v1/responses",
            {"model": "embed", "input": "x"},
            "responses",
            "text-embedding-3-small",
        ),
    ],
)
def test_operation_not_supported(
    http: httpx.Client, path: str, body: dict[str, object], operation: str, model: str
) -> None:
    r = http.post(path, json=body)
    assert r.status_code == 400
    assert r.json() == {
        "error": {
            "code": "OperationNotSupported",
            "message": f"The {operation} operation does not work with the specified model, {model}. Please choose "
            "different model and try again. You can learn more about which models can be used with each operation "
            "here: https://go.microsoft.com/fwlink/?linkid=2197993.",
        }
    }


def test_success_headers(http: httpx.Client) -> None:
    r = http.post(CHAT, json=HELLO, headers={"x-ms-client-request-id": "abc-123"})
    assert r.headers["x-ms-region"] == "East US"
    assert r.headers["apim-request-id"]
    assert r.headers["x-ms-client-request-id"] == "abc-123"
    assert r.headers["x-ms-deployment-name"] == "chat"
    assert int(r.headers["x-ratelimit-limit-requests"]) == 6000
    assert int(r.headers["x-ratelimit-limit-tokens"]) == 1_000_000
    assert int(r.headers["x-ratelimit-remaining-requests"]) < 6000
    assert int(r.headers["x-ratelimit-remaining-tokens"]) < 1_000_000
    error = http.post(
        "/openai/deployments/ghost/chat/completions?api-version=2024-10-21", json=HELLO
    )
    assert error.headers["apim-request-id"]
    assert error.headers["x-ms-region"] == "East US"


def test_request_log_redacts_secrets(emu: Emulator) -> None:
    token = emu.issue_token()
    httpx.post(
        f"{emu.endpoint}{CHAT}", headers={"api-key": emu.api_key, "x-custom": "kept"}, json=HELLO
    )
    httpx.post(
        f"{emu.endpoint}{V1_CHAT}",
        headers={"authorization": f"Bearer {token}"},
        json={"model": "chat", **HELLO},
    )
    httpx.post(
        f"{emu.endpoint}/openai/v1/embeddings",
        headers={"api-key": emu.api_key},
        content=b"{not json",
    )
    keyed, bearer, broken = emu.requests
    assert keyed.headers["api-key"] == "***"
    assert keyed.headers["x-custom"] == "kept"
    assert keyed.body == HELLO
    assert keyed.method == "POST"
    assert keyed.status == 200
    assert keyed.api_version == "2024-10-21"
    assert keyed.url == CHAT
    assert bearer.headers["authorization"] == "***"
    assert bearer.body == {"model": "chat", **HELLO}
    assert broken.body is None
    assert broken.status == 400
    everything = repr(emu.requests)
    assert emu.api_key not in everything
    assert token not in everything
    emu.clear_requests()
    assert emu.requests == []


def test_models_lists(http: httpx.Client, azure: AzureOpenAI, v1: OpenAI) -> None:
    ids = {m.id for m in v1.models.list()}
    assert {"gpt-4o", "o3-mini", "text-embedding-3-small"} <= ids
    assert {m.id for m in azure.models.list()} == ids
    legacy = http.get("/openai/deployments?api-version=2022-12-01").json()
    assert {"id": "chat", "model": "gpt-4o"}.items() <= legacy["data"][0].items()
    assert http.get("/openai/deployments?api-version=2024-10-21").status_code == 404


def test_core_error_mapping_understands_the_emulator(http: httpx.Client) -> None:
    r = http.post(
        "/openai/deployments/reasoner/chat/completions?api-version=2025-04-01-preview",
        json={**HELLO, "temperature": 0.2},
    )
    error = error_from_response(r.status_code, r.content, dict(r.headers))
    assert isinstance(error, UnsupportedParameterError)
    assert error.param == "temperature"
    assert isinstance(error_from_response(404, http.get("/x").content), NotFoundError)


def test_sdk_raises_the_matching_errors(emu: Emulator) -> None:
    bad = AzureOpenAI(
        azure_endpoint=emu.endpoint, api_key="wrong", api_version="2024-10-21", max_retries=0
    )
    with pytest.raises(openai.AuthenticationError):
        bad.chat.completions.create(model="chat", messages=[{"role": "user", "content": "x"}])
    good = AzureOpenAI(
        azure_endpoint=emu.endpoint, api_key=emu.api_key, api_version="2024-10-21", max_retries=0
    )
    with pytest.raises(openai.NotFoundError):
        good.chat.completions.create(model="ghost", messages=[{"role": "user", "content": "x"}])


async def test_concurrent_requests(emu: Emulator) -> None:
    client = AsyncOpenAI(base_url=emu.v1_base_url, api_key=emu.api_key, max_retries=0)
    replies = await asyncio.gather(
        *(
            client.chat.completions.create(
                model="chat", messages=[{"role": "user", "content": f"Say 'n{i}'"}]
            )
            for i in range(20)
        )
    )
    assert [r.choices[0].message.content for r in replies] == [f"n{i}" for i in range(20)]
    assert len(emu.requests) == 20
    await client.close()


def test_deployments_can_change_while_running(emu: Emulator, http: httpx.Client) -> None:
    emu.add_deployment(EmulatorDeployment("late", model="gpt-4o-mini"))
    try:
        assert http.post(V1_CHAT, json={"model": "late", **HELLO}).status_code == 200
    finally:
        emu.remove_deployment("late")
    assert (
        http.post(V1_CHAT, json={"model": "late", **HELLO}).json()["error"]["code"]
        == "DeploymentNotFound"
    )
    with pytest.raises(KeyError):
        emu.remove_deployment("late")
