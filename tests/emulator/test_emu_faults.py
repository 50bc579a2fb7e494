"""Faults on demand: error bursts, quota, pauses, latency, dropped connections, content filters."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from emu_helpers import CHAT, V1_CHAT, FakeClock
from openai import AzureOpenAI

from azoai.error_reading import error_from_response
from azoai.errors import (
    ContentFilterError,
    DeploymentPausedError,
    RateLimitError,
    ServiceUnavailableError,
)
from azoai_emulator import Emulator, EmulatorDeployment, Fault

HELLO = {"messages": [{"role": "user", "content": "hello"}]}
FAULT = "x-azoai-emulator-fault"


def test_status_burst_then_recovery(emu: Emulator, http: httpx.Client) -> None:
    emu.inject("chat", Fault.status(503, count=2))
    statuses = [http.post(CHAT, json=HELLO).status_code for _ in range(3)]
    assert statuses == [503, 503, 200]
    first = emu.requests[0]
    assert first.status == 503
    body = http.post(CHAT, json=HELLO, headers={FAULT: "status=503"}).json()
    assert body == {
        "error": {
            "code": "ServiceUnavailable",
            "message": "The service is temporarily unable to process your request. Please try again later.",
        }
    }
    assert isinstance(error_from_response(503, body), ServiceUnavailableError)


def test_the_sdk_retries_through_a_burst(emu: Emulator) -> None:
    emu.inject("chat", Fault.status(500, count=2, retry_after_ms=10))
    client = AzureOpenAI(
        azure_endpoint=emu.endpoint, api_key=emu.api_key, api_version="2024-10-21", max_retries=2
    )
    assert client.chat.completions.create(
        model="chat", messages=[{"role": "user", "content": "Say 'ok'"}]
    ).choices
    assert [r.status for r in emu.requests] == [500, 500, 200]


def test_rate_limit_fault_headers_and_body(emu: Emulator, http: httpx.Client) -> None:
    emu.inject("chat", Fault.rate_limit(retry_after_ms=1500))
    r = http.post(CHAT, json=HELLO)
    assert r.status_code == 429
    assert r.headers["retry-after-ms"] == "1500"
    assert r.headers["retry-after"] == "2"
    assert r.headers["x-ratelimit-remaining-requests"] == "0"
    assert r.headers["x-ratelimit-remaining-tokens"] == "0"
    assert r.json()["error"]["code"] == "429"
    assert r.json()["error"]["message"].startswith(
        "Requests to the ChatCompletions_Create Operation under Azure OpenAI API version 2024-10-21 have exceeded "
        "token rate limit of your current OpenAI S0 pricing tier. Please retry after 2 seconds."
    )
    error = error_from_response(429, r.content, dict(r.headers))
    assert isinstance(error, RateLimitError)
    assert error.retry_after == 1.5
    assert http.post(CHAT, json=HELLO).status_code == 200


@pytest.fixture
def quota() -> Iterator[tuple[Emulator, FakeClock]]:
    clock = FakeClock()
    deployments = [EmulatorDeployment("small", model="gpt-4o", tpm=1000, rpm=3)]
    with Emulator(deployments=deployments, clock=clock) as emu:
        yield emu, clock


def test_token_quota(quota: tuple[Emulator, FakeClock]) -> None:
    emu, clock = quota
    url = f"{emu.endpoint}/openai/deployments/small/chat/completions?api-version=2024-10-21"
    body = {**HELLO, "max_tokens": 600}
    ok = httpx.post(url, headers={"api-key": emu.api_key}, json=body)
    assert ok.status_code == 200
    prompt = ok.json()["usage"]["prompt_tokens"]
    assert ok.headers["x-ratelimit-limit-tokens"] == "1000"
    assert int(ok.headers["x-ratelimit-remaining-tokens"]) == 1000 - prompt - 600
    assert ok.headers["x-ratelimit-remaining-requests"] == "2"
    refused = httpx.post(url, headers={"api-key": emu.api_key}, json=body)
    assert refused.status_code == 429
    wait = (prompt + 600 - (1000 - prompt - 600)) / (1000 / 60)
    assert int(refused.headers["retry-after-ms"]) == pytest.approx(wait * 1000, abs=1)
    assert "exceeded token rate limit" in refused.json()["error"]["message"]
    clock.advance(wait)
    assert httpx.post(url, headers={"api-key": emu.api_key}, json=body).status_code == 200


def test_request_quota(quota: tuple[Emulator, FakeClock]) -> None:
    emu, clock = quota
    url = f"{emu.endpoint}/openai/v1/chat/completions"
    body = {"model": "small", **HELLO}
    assert [
        httpx.post(url, headers={"api-key": emu.api_key}, json=body).status_code for _ in range(4)
    ] == [200] * 3 + [429]
    refused = httpx.post(url, headers={"api-key": emu.api_key}, json=body)
    assert "exceeded call rate limit" in refused.json()["error"]["message"]
    assert "API version v1" in refused.json()["error"]["message"]
    assert refused.headers["retry-after"] == "20"  # one request refills in 60 / 3 seconds
    clock.advance(20)
    assert httpx.post(url, headers={"api-key": emu.api_key}, json=body).status_code == 200


def test_paused_deployment(emu: Emulator, http: httpx.Client) -> None:
    emu.inject("chat", Fault.paused())
    for _ in range(2):
        r = http.post(CHAT, json=HELLO)
        assert r.status_code == 423
    assert isinstance(error_from_response(423, r.content, deployment="chat"), DeploymentPausedError)
    assert http.post(V1_CHAT, json={"model": "chat-mini", **HELLO}).status_code == 200
    emu.clear_faults("chat")
    assert http.post(CHAT, json=HELLO).status_code == 200


def test_latency(emu: Emulator, http: httpx.Client) -> None:
    emu.inject("chat", Fault.latency(0.25, count=1))
    started = time.perf_counter()
    assert http.post(CHAT, json=HELLO).status_code == 200
    assert time.perf_counter() - started >= 0.25
    started = time.perf_counter()
    http.post(CHAT, json=HELLO, headers={FAULT: "latency=0.1"})
    assert time.perf_counter() - started >= 0.1


def test_close_connection(emu: Emulator) -> None:
    emu.inject("chat", Fault.close_connection())
    with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
        httpx.post(f"{emu.endpoint}{CHAT}", headers={"api-key": emu.api_key}, json=HELLO)
    assert emu.requests[-1].status is None
    client = AzureOpenAI(
        azure_endpoint=emu.endpoint, api_key=emu.api_key, api_version="2024-10-21", max_retries=0
    )
    with pytest.raises(openai.APIConnectionError):
        client.chat.completions.create(
            model="chat",
            messages=[{"role": "user", "content": "x"}],
            extra_headers={FAULT: "close_connection"},
        )
    assert (
        httpx.post(
            f"{emu.endpoint}{CHAT}", headers={"api-key": emu.api_key}, json=HELLO
        ).status_code
        == 200
    )


def test_prompt_content_filter(emu: Emulator, http: httpx.Client) -> None:
    emu.inject("chat", Fault.content_filter("prompt", "violence"))
    r = http.post(CHAT, json=HELLO)
    assert r.status_code == 400
    error = r.json()["error"]
    assert error["code"] == "content_filter"
    assert error["param"] == "prompt"
    assert error["message"].startswith(
        "The response was filtered due to the prompt triggering Azure OpenAI's content"
    )
    verdict = error["innererror"]["content_filter_result"]
    assert error["innererror"]["code"] == "ResponsibleAIPolicyViolation"
    assert verdict["violence"] == {"filtered": True, "severity": "high"}
    assert verdict["hate"] == {"filtered": False, "severity": "safe"}
    mapped = error_from_response(400, r.content)
    assert isinstance(mapped, ContentFilterError)
    assert mapped.filtered_categories == ["violence"]
    jailbreak = http.post(
        CHAT, json=HELLO, headers={FAULT: "content_filter=prompt,category=jailbreak"}
    ).json()
    assert jailbreak["error"]["innererror"]["content_filter_result"]["jailbreak"] == {
        "filtered": True,
        "detected": True,
    }


def test_completion_content_filter(emu: Emulator, http: httpx.Client) -> None:
    emu.inject("chat", Fault.content_filter("completion", "hate"))
    choice = http.post(
        CHAT, json={"messages": [{"role": "user", "content": "Say 'a b c d'"}]}
    ).json()["choices"][0]
    assert choice["finish_reason"] == "content_filter"
    assert choice["message"]["content"] == "a b"
    assert choice["content_filter_results"]["hate"] == {"filtered": True, "severity": "high"}
    responses = http.post(
        "/openai/v1/responses",
        json={"model": "chat", "input": "Say 'x y'"},
        headers={FAULT: "content_filter=completion,category=sexual"},
    ).json()
    # Azure ends a filtered Responses completion as failed (maximhq/bifrost#6419); the spec's
    # incomplete_details.reason "content_filter" is still read by the product (tests/core)
    assert responses["status"] == "failed"
    assert responses["error"]["code"] == "content_filter"
    assert responses["content_filters"][0]["blocked"] is True
    assert responses["content_filters"][0]["content_filter_results"]["sexual"]["filtered"] is True


def test_header_faults_apply_to_one_request(http: httpx.Client) -> None:
    assert http.post(CHAT, json=HELLO, headers={FAULT: "status=502"}).status_code == 502
    assert http.post(CHAT, json=HELLO).status_code == 200
    both = http.post(CHAT, json=HELLO, headers={FAULT: "latency=0; status=504"})
    assert both.json()["error"]["code"] == "Timeout"
    bad = http.post(CHAT, json=HELLO, headers={FAULT: "explode"})
    assert bad.status_code == 400
    assert bad.json()["error"]["param"] == FAULT


def test_faults_for_every_deployment_and_unknown_targets(emu: Emulator, http: httpx.Client) -> None:
    emu.inject("*", Fault.status(500, count=None))
    assert http.post(CHAT, json=HELLO).status_code == 500
    assert (
        http.post("/openai/v1/embeddings", json={"model": "embed", "input": "x"}).status_code == 500
    )
    emu.clear_faults()
    assert http.post(CHAT, json=HELLO).status_code == 200
    with pytest.raises(KeyError, match="ghost"):
        emu.inject("ghost", Fault.paused())


def test_stream_faults_wait_for_a_stream(emu: Emulator, http: httpx.Client) -> None:
    emu.inject("chat", Fault.cut_stream(1))
    assert http.post(CHAT, json=HELLO).status_code == 200  # not a stream: the fault stays
    with pytest.raises(httpx.RemoteProtocolError):
        http.post(CHAT, json={**HELLO, "stream": True})


@pytest.mark.parametrize(
    ("factory", "message"),
    [
        (lambda: Fault.status(200), "not an error status"),
        (lambda: Fault.status(500, count=0), "count must be >= 1"),
        (lambda: Fault.latency(-1), "latencies must be >= 0"),
        (lambda: Fault.content_filter("completion", "jailbreak"), "completion category"),
    ],
)
def test_invalid_faults(factory: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        factory()
