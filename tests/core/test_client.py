"""The core client against the emulator over loopback: both APIs and routes, retries, errors,
streams, embeddings, discovery, pooling (issue 4's "Done when")."""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import Iterator
from typing import Any

import pytest
from azure.core.credentials import AccessToken as AzureAccessToken

from azoai import errors as E
from azoai.client import CallOptions, Client
from azoai.config.settings import RetryPolicy
from azoai.embeddings import EmbeddingBatchError
from azoai.wire import ChatRequest, Message, ResponseFormat, StreamAccumulator, ToolSpec
from azoai_emulator import Emulator, EmulatorDeployment, Fault

WEATHER = ToolSpec(
    "get_weather",
    "Current weather for a city",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
FAST_RETRY = RetryPolicy(max_retries=2, initial_delay=0.01, max_delay=0.05, max_retry_after=5.0)


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator() as e:
        yield e


@pytest.fixture(autouse=True)
def _reset(emu: Emulator) -> None:
    emu.reset()


def client(emu: Emulator, **kw: Any) -> Client:
    kw.setdefault("api_key", emu.api_key)
    kw.setdefault("deployment", "chat")
    kw.setdefault("retry", FAST_RETRY)
    return Client(endpoint=emu.endpoint, env={}, config_file="", **kw)


# --- both APIs, both routes ---------------------------------------------------------------------

VARIANTS = [
    pytest.param({"api": "chat"}, id="chat-v1"),
    pytest.param({"api": "chat", "api_version": "2024-10-21"}, id="chat-deployments"),
    pytest.param({"api": "chat", "api_version": "preview"}, id="chat-v1-preview"),
    pytest.param({"api": "responses"}, id="responses-v1"),
]


@pytest.mark.parametrize("variant", VARIANTS)
def test_same_request_same_result_on_every_api_and_route(
    emu: Emulator, variant: dict[str, str]
) -> None:
    c = client(emu, model="gpt-4o", **variant)
    question = ChatRequest(
        messages=[
            Message("system", "Answer from the context."),
            Message(
                "user",
                "Context: The Eiffel Tower is in Paris. The Colosseum is in Rome.\n\nWhere is the Colosseum?",
            ),
        ],
        temperature=0,
    )
    r = c.chat(question)
    assert "Colosseum is in Rome" in r.text
    assert (
        r.finish_reason == "stop"
        and r.deployment == "chat"
        and r.model
        and r.model.startswith("gpt-4o")
    )
    assert r.usage is not None and r.usage.input_tokens > 0 and r.usage.output_tokens > 0
    tools = c.chat(
        ChatRequest(
            messages=[Message("user", "What's the weather in Paris? Use get_weather.")],
            tools=[WEATHER],
        )
    )
    assert tools.finish_reason == "tool_calls"
    assert [(t.name, t.arguments) for t in tools.tool_calls] == [("get_weather", {"city": "Paris"})]
    acc = StreamAccumulator(deployment="chat", api=variant["api"])
    for d in c.stream(question):
        acc.add(d)
    streamed = acc.result()
    assert streamed.text == r.text and streamed.finish_reason == "stop"
    assert streamed.usage is not None and streamed.usage.output_tokens == r.usage.output_tokens
    sent = emu.requests[-1]
    route = variant.get("api_version", "v1")
    if variant["api"] == "responses":
        assert sent.path == "/openai/v1/responses" and sent.body["model"] == "chat"
    elif route == "2024-10-21":
        assert (
            sent.path == "/openai/deployments/chat/chat/completions"
            and sent.api_version == "2024-10-21"
        )
    else:
        assert sent.path == "/openai/v1/chat/completions" and sent.body["model"] == "chat"
        assert sent.api_version == (None if route == "v1" else "preview")


@pytest.mark.parametrize("variant", VARIANTS)
async def test_async_matches_sync(emu: Emulator, variant: dict[str, str]) -> None:
    c = client(emu, model="gpt-4o", **variant)
    req = ChatRequest(messages=[Message("user", "Context: Oslo is in Norway.\n\nWhere is Oslo?")])
    sync = c.chat(req)
    result = await c.achat(req)
    assert result.text == sync.text
    texts = [d.text async for d in c.astream(req)]
    assert "".join(texts) == sync.text
    await c.aclose()


@pytest.mark.parametrize("api_version", [None, "2024-10-21"])
def test_per_call_deployment_override_on_both_routes(
    emu: Emulator, api_version: str | None
) -> None:
    c = client(emu, api_version=api_version) if api_version else client(emu)
    c.chat(ChatRequest(messages=[Message("user", "hi")]), model="chat-mini")
    assert emu.requests[-1].deployment == "chat-mini"
    c.chat(ChatRequest(messages=[Message("user", "hi")]), model="azure-openai/chat")
    assert emu.requests[-1].deployment == "chat"


def test_deployment_map_routes_model_names(emu: Emulator) -> None:
    c = client(emu, deployment_map={"gpt-4o-mini": "chat-mini"})
    c.chat(ChatRequest(messages=[Message("user", "hi")]), model="gpt-4o-mini")
    assert emu.requests[-1].deployment == "chat-mini"
    assert c.model_info("gpt-4o-mini").family == "gpt-4o"


def test_reasoning_rules_from_the_real_model(emu: Emulator) -> None:
    c = client(emu, deployment="reasoner", model="o3-mini")
    r = c.chat(
        ChatRequest(
            messages=[Message("system", "Be terse."), Message("user", "Say hi")],
            temperature=0.2,
            max_tokens=400,
        )
    )
    sent = emu.requests[-1].body
    assert "temperature" not in sent and sent["max_completion_tokens"] == 400
    assert sent["messages"][0]["role"] == "developer"
    assert r.usage is not None and r.usage.reasoning_tokens > 0


def test_an_unknown_model_is_learned_from_the_first_400(
    emu: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    c = client(emu, deployment="reasoner")  # no model= given: family unknown
    r = c.chat(ChatRequest(messages=[Message("user", "Say hi")], temperature=0.2, max_tokens=400))
    assert r.finish_reason in ("stop", "length")
    assert [q.status for q in emu.requests] == [400, 200]
    assert "treating it as a reasoning model" in caplog.text
    c.chat(ChatRequest(messages=[Message("user", "Again")], temperature=0.2))
    assert emu.requests[-1].status == 200 and len(emu.requests) == 3  # learned: no extra 400


# --- retries ------------------------------------------------------------------------------------


def test_5xx_is_retried_then_succeeds(emu: Emulator) -> None:
    emu.inject("chat", Fault.status(503, count=2))
    r = client(emu).chat(ChatRequest(messages=[Message("user", "hi")]))
    assert r.text
    assert [q.status for q in emu.requests] == [503, 503, 200]


def test_5xx_beyond_max_retries_raises_typed_error(emu: Emulator) -> None:
    emu.inject("chat", Fault.status(500, count=None))
    with pytest.raises(E.ServiceUnavailableError) as exc:
        client(emu).chat(ChatRequest(messages=[Message("user", "hi")]))
    assert exc.value.status_code == 500 and len(emu.requests) == 3  # 1 + max_retries


def test_429_honours_retry_after_ms(emu: Emulator) -> None:
    emu.inject("chat", Fault.rate_limit(retry_after_ms=300))
    started = time.monotonic()
    client(emu).chat(ChatRequest(messages=[Message("user", "hi")]))
    assert time.monotonic() - started >= 0.3
    assert [q.status for q in emu.requests] == [429, 200]


def test_429_longer_than_the_cap_fails_at_once_with_retry_after(emu: Emulator) -> None:
    emu.inject("chat", Fault.rate_limit(retry_after_ms=86_400_000))
    started = time.monotonic()
    with pytest.raises(E.RateLimitError) as exc:
        client(emu).chat(ChatRequest(messages=[Message("user", "hi")]))
    assert time.monotonic() - started < 2
    assert exc.value.retry_after == 86_400 and exc.value.quota_exhausted
    assert len(emu.requests) == 1


def test_connection_closed_is_retried(emu: Emulator) -> None:
    emu.inject("chat", Fault.close_connection())
    assert client(emu).chat(ChatRequest(messages=[Message("user", "hi")])).text
    assert len(emu.requests) == 2


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (Fault.status(400), E.BadRequestError),
        (Fault.status(403), E.PermissionDeniedError),
        (Fault.status(404), E.NotFoundError),
        (Fault.paused(), E.DeploymentPausedError),
    ],
)
def test_4xx_is_not_retried(emu: Emulator, fault: Fault, error: type[Exception]) -> None:
    emu.inject("chat", fault)
    with pytest.raises(error):
        client(emu).chat(ChatRequest(messages=[Message("user", "hi")]))
    assert len(emu.requests) == 1


def test_unknown_deployment_names_it_and_the_route(emu: Emulator) -> None:
    with pytest.raises(E.DeploymentNotFoundError) as exc:
        client(emu, deployment="nope").chat(ChatRequest(messages=[Message("user", "hi")]))
    assert "'nope'" in str(exc.value) and "route v1" in str(exc.value)


def test_per_call_retry_override(emu: Emulator) -> None:
    emu.inject("chat", Fault.status(503, count=1))
    with pytest.raises(E.ServiceUnavailableError):
        client(emu).chat(
            ChatRequest(messages=[Message("user", "hi")]), options=CallOptions(max_retries=0)
        )
    assert len(emu.requests) == 1


def test_read_timeout_is_a_typed_error(emu: Emulator) -> None:
    emu.inject("chat", Fault.latency(1.0))
    with pytest.raises(E.TimeoutError):
        client(emu, timeout=0.2, retry=RetryPolicy(max_retries=0)).chat(
            ChatRequest(messages=[Message("user", "hi")])
        )


async def test_async_retries(emu: Emulator) -> None:
    emu.inject("chat", Fault.status(502, count=1))
    emu.inject("chat", Fault.rate_limit(retry_after_ms=50))
    c = client(emu)
    r = await c.achat(ChatRequest(messages=[Message("user", "hi")]))
    assert r.text and [q.status for q in emu.requests] == [502, 429, 200]
    await c.aclose()


# --- auth ---------------------------------------------------------------------------------------


class ListProvider:
    """A token provider that hands out the given tokens in turn and counts calls."""

    def __init__(self, *tokens: str) -> None:
        self.tokens = list(tokens)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        return self.tokens[min(self.calls - 1, len(self.tokens) - 1)]


def _forged(exp: float) -> str:
    import base64

    def seg(o: object) -> str:
        return base64.urlsafe_b64encode(json.dumps(o).encode()).rstrip(b"=").decode()

    return f"{seg({'alg': 'none'})}.{seg({'exp': int(exp), 'aud': 'https://cognitiveservices.azure.com'})}.x"


def test_a_401_refreshes_the_token_once_and_retries(emu: Emulator) -> None:
    provider = ListProvider(_forged(time.time() + 3600), emu.issue_token())
    c = client(emu, api_key=None, token_provider=provider)
    assert c.chat(ChatRequest(messages=[Message("user", "hi")])).text
    assert provider.calls == 2 and [q.status for q in emu.requests] == [401, 200]
    assert (
        emu.requests[-1].headers["authorization"] == "***"
        and "api-key" not in emu.requests[-1].headers
    )


def test_a_second_401_is_not_retried_again(emu: Emulator) -> None:
    provider = ListProvider(_forged(time.time() + 3600))
    with pytest.raises(E.AuthenticationError):
        client(emu, api_key=None, token_provider=provider).chat(
            ChatRequest(messages=[Message("user", "hi")])
        )
    assert provider.calls == 2 and len(emu.requests) == 2


def test_wrong_key_is_an_authentication_error_not_retried(emu: Emulator) -> None:
    with pytest.raises(E.AuthenticationError) as exc:
        client(emu, api_key="wrong-key-123").chat(ChatRequest(messages=[Message("user", "hi")]))
    assert "wrong-key-123" not in str(exc.value) and len(emu.requests) == 1


def test_no_secret_in_any_url(emu: Emulator) -> None:
    c = client(emu, api_version="2024-10-21")
    c.chat(ChatRequest(messages=[Message("user", "hi")]))
    c.embed(["a"], model="embed")
    for q in emu.requests:
        assert emu.api_key not in q.path and emu.api_key not in json.dumps(q.query)
        assert q.headers.get("api-key") == "***"


# --- content filter -----------------------------------------------------------------------------


def test_prompt_filter_is_a_typed_error_with_categories(emu: Emulator) -> None:
    emu.inject("chat", Fault.content_filter("prompt", "violence"))
    with pytest.raises(E.ContentFilterError) as exc:
        client(emu).chat(ChatRequest(messages=[Message("user", "hi")]))
    assert exc.value.side == "prompt" and "violence" in exc.value.filtered_categories
    assert len(emu.requests) == 1


def test_completion_filter_raises_with_partial_text_unless_asked(emu: Emulator) -> None:
    emu.inject("chat", Fault.content_filter("completion", "hate", count=2))
    req = ChatRequest(
        messages=[
            Message("user", "Context: Cats purr when content. Dogs bark.\n\nWhat do cats do?")
        ]
    )
    with pytest.raises(E.ContentFilterError) as exc:
        client(emu).chat(req)
    assert exc.value.side == "completion" and "hate" in exc.value.filtered_categories
    assert exc.value.partial_result is not None
    r = client(emu).chat(req, options=CallOptions(return_filtered=True))
    assert r.finish_reason == "content_filter"
    assert any(f.side == "completion" and f.filtered for f in r.content_filter)


def test_mid_stream_filter_raises_after_the_text_it_let_through(emu: Emulator) -> None:
    emu.inject("chat", Fault.content_filter("completion", "violence", after_chunks=2))
    req = ChatRequest(
        messages=[
            Message(
                "user",
                "Context: The quick brown fox jumps over the lazy dog near the river bank.\n\nWhat does the fox do?",
            )
        ]
    )
    got: list[str] = []
    with pytest.raises(E.ContentFilterError) as exc:
        for d in client(emu).stream(req):
            got.append(d.text)
    assert (
        exc.value.side == "completion"
        and exc.value.partial_text == "".join(got)
        and exc.value.partial_text
    )


# --- streams ------------------------------------------------------------------------------------


def test_stream_quirks_and_headers(emu: Emulator) -> None:
    deltas = list(
        client(emu).stream(
            ChatRequest(
                messages=[
                    Message("user", "Context: Water boils at 100 C.\n\nWhen does water boil?")
                ]
            )
        )
    )
    assert deltas[0].headers and deltas[0].headers.get("x-ms-region")
    assert (
        deltas[0].content_filter and deltas[0].content_filter[0].side == "prompt"
    )  # the empty-choices first chunk
    finishes = [d for d in deltas if d.finish_reason]
    assert len(finishes) == 1
    usages = [d for d in deltas if d.usage is not None]
    assert len(usages) == 1 and deltas.index(usages[0]) > deltas.index(
        finishes[0]
    )  # usage arrives last


def test_stream_tool_call_fragments_assemble(emu: Emulator) -> None:
    acc = StreamAccumulator()
    for d in client(emu).stream(
        ChatRequest(
            messages=[
                Message("user", "what is the weather in Lisbon and in Madrid? use get_weather")
            ],
            tools=[WEATHER],
        )
    ):
        acc.add(d)
    r = acc.result()
    assert r.finish_reason == "tool_calls"
    assert sorted(t.arguments["city"] for t in r.tool_calls if t.arguments) == ["Lisbon", "Madrid"]


def test_streamed_logprobs_accumulate_to_the_whole_answers(emu: Emulator) -> None:
    ask = ChatRequest(
        messages=[Message("user", "Say 'one two three'")], logprobs=True, top_logprobs=3
    )
    c = client(emu)
    whole = c.chat(ask)
    acc = StreamAccumulator()
    per_delta = []
    for d in c.stream(ask):
        acc.add(d)
        if d.text:
            per_delta.append(d.logprobs)
    assert acc.result().text == whole.text == "one two three"
    assert all(lp is not None and len(lp) == 1 for lp in per_delta)
    assert acc.result().logprobs == whole.logprobs
    assert whole.logprobs is not None and all(len(e["top_logprobs"]) == 3 for e in whole.logprobs)


@pytest.mark.parametrize("api", ["chat", "responses"])
def test_a_cut_stream_raises_with_the_text_so_far(emu: Emulator, api: str) -> None:
    emu.inject("chat", Fault.cut_stream(after_chunks=4))
    got: list[str] = []
    with pytest.raises(E.StreamInterruptedError) as exc:
        for d in client(emu, api=api).stream(
            ChatRequest(
                messages=[
                    Message(
                        "user",
                        "Context: Honey never spoils because it is acidic and dry.\n\nWhy does honey not spoil?",
                    )
                ]
            )
        ):
            got.append(d.text)
    assert exc.value.partial_text == "".join(got)
    assert len(emu.requests) == 1  # never replayed after chunks arrived


async def test_a_cut_async_stream_raises(emu: Emulator) -> None:
    emu.inject("chat", Fault.cut_stream(after_chunks=3))
    c = client(emu)
    with pytest.raises(E.StreamInterruptedError):
        async for _ in c.astream(
            ChatRequest(
                messages=[Message("user", "Context: Snow is cold and white.\n\nWhat is snow?")]
            )
        ):
            pass
    await c.aclose()


def test_stream_idle_timeout(emu: Emulator) -> None:
    emu.inject("chat", Fault.latency(0, per_token=1.0))
    # No event within stream_idle: nothing reached the caller, so it is a retryable timeout
    # (after a first chunk it is a StreamInterruptedError: tests/core/test_deadlines.py).
    with pytest.raises(E.TimeoutError, match="stream_idle"):
        list(
            client(emu, stream_idle_timeout=0.3).stream(
                ChatRequest(messages=[Message("user", "Context: Tea is a drink.\n\nWhat is tea?")])
            )
        )


def test_stream_errors_before_the_first_chunk_are_retried(emu: Emulator) -> None:
    emu.inject("chat", Fault.status(503, count=1))
    assert "".join(
        d.text for d in client(emu).stream(ChatRequest(messages=[Message("user", "hi")]))
    )
    assert [q.status for q in emu.requests] == [503, 200]


def test_json_schema_output_validates(emu: Emulator) -> None:
    schema = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
        "required": ["name", "age"],
        "additionalProperties": False,
    }
    for api in ("chat", "responses"):
        r = client(emu, api=api).chat(
            ChatRequest(
                messages=[Message("user", "Ada is 36.")],
                response_format=ResponseFormat("json_schema", schema, name="Person", strict=True),
            )
        )
        data = json.loads(r.text)
        assert isinstance(data["name"], str) and isinstance(data["age"], int)


# --- embeddings ---------------------------------------------------------------------------------


def test_entra_callers_embed_on_the_deployment_route_which_accepts_their_tokens(
    emu: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    """v1 embeddings refuse Entra ID (the emulator answers 401 as Azure documents); the client
    sends Entra callers' embeddings to the deployment route and everything else to v1."""
    c = client(emu, api_key=None, token_provider=emu.issue_token)
    with caplog.at_level("INFO", logger="azoai.client"):
        first = c.embed(["a cat", "a dog"], model="embed")
        second = c.embed(["a bird"], model="embed")
    assert len(first.vectors) == 2 and len(second.vectors) == 1
    assert c.chat(ChatRequest(messages=[Message("user", "hi")])).text
    paths = [(q.path, q.query.get("api-version"), q.status) for q in emu.requests]
    assert paths == [
        ("/openai/deployments/embed/embeddings", "2024-10-21", 200),
        ("/openai/deployments/embed/embeddings", "2024-10-21", 200),
        ("/openai/v1/chat/completions", None, 200),
    ]
    said = [r.getMessage() for r in caplog.records if "deployment route" in r.getMessage()]
    assert len(said) == 1 and "Entra ID" in said[0]

    emu.reset()
    keyed = client(emu)  # an API key: v1 as configured
    assert len(keyed.embed(["a cat"], model="embed").vectors) == 1
    assert [q.path for q in emu.requests] == ["/openai/v1/embeddings"]


def test_10000_texts_take_ceil_10000_over_2048_requests_in_order(emu: Emulator) -> None:
    c = client(emu, deployment="embed")
    texts = [f"document {i} about topic {i % 7}" for i in range(10_000)]
    result = c.embed(texts)
    assert len(result.vectors) == 10_000
    assert len([q for q in emu.requests if q.path.endswith("/embeddings")]) == math.ceil(
        10_000 / 2048
    )
    single = c.embed([texts[4321], texts[9999]])
    assert result.vectors[4321] == pytest.approx(single.vectors[0], abs=1e-6)
    assert result.vectors[9999] == pytest.approx(single.vectors[1], abs=1e-6)
    assert result.usage.input_tokens > 0


async def test_async_embeddings_keep_order_and_report_progress(emu: Emulator) -> None:
    c = client(emu, deployment="embed")
    seen: list[tuple[int, int]] = []
    texts = [f"text {i}" for i in range(5000)]
    result = await c.aembed(
        texts, progress=lambda done, total: seen.append((done, total)), batch_size=1000
    )
    # batches of 1000, after a 16-text probe when this process does not know the deployment's
    # quota yet (a pooled connection may know it from an earlier test)
    assert len(result.vectors) == 5000 and seen[-1] == (5000, 5000)
    done = [d for d, _ in seen]
    assert done == sorted(done) and (len(done) == 5 or (len(done) == 6 and done[0] == 16))
    again = await c.aembed([texts[2500]])
    assert result.vectors[2500] == pytest.approx(again.vectors[0], abs=1e-6)
    await c.aclose()
    # printed, a result is a summary, not 7.7 million floats (asyncio.run formats the task that
    # returned it on the way out, so a full repr would cost seconds after every large run)
    assert repr(result) == (
        "EmbeddingResult(vectors=<5000 x 1536>, "
        f"usage={result.usage!r}, model='text-embedding-3-small', deployment='embed')"
    )


def test_dimensions_and_empty_inputs(emu: Emulator) -> None:
    c = client(emu, deployment="embed")
    assert len(c.embed(["x"], dimensions=256).vectors[0]) == 256
    with pytest.raises(E.ConfigError, match="index 1"):
        c.embed(["a", ""])
    zero = c.embed(["a", "", "b"], empty="zero")
    assert zero.vectors[1] == [0.0] * len(zero.vectors[0])
    with pytest.raises(
        E.BadRequestError, match="dimensions"
    ):  # model unknown to the client: Azure says no
        c.embed(["x"], model="embed-ada", dimensions=256)
    known = client(
        emu,
        deployment="embed",
        deployments=[
            {"name": "embed-ada", "model": "text-embedding-ada-002"},
            {"name": "embed", "model": "text-embedding-3-small"},
        ],
    )
    emu.clear_requests()
    with pytest.raises(E.ConfigError, match="does not accept dimensions"):
        known.embed(["x"], model="embed-ada", dimensions=256)
    assert emu.requests == []  # refused before sending


def test_a_failed_batch_names_its_inputs_and_keeps_the_rest(emu: Emulator) -> None:
    emu.inject("embed", Fault.status(500, count=3))  # the first batch exhausts its retries
    c = client(emu, deployment="embed")
    texts = [f"t{i}" for i in range(30)]
    with pytest.raises(EmbeddingBatchError) as exc:
        c.embed(texts, batch_size=10, concurrency=1)
    err = exc.value
    assert err.failed_indices == list(range(10))
    assert all(v is None for v in err.partial[:10]) and all(v for v in err.partial[10:])


def test_long_inputs_are_split_and_averaged(emu: Emulator) -> None:
    c = client(emu, deployment="embed")
    long = "alpha beta gamma delta " * 3000
    result = c.embed(["short", long])
    embeds = [q for q in emu.requests if q.path.endswith("/embeddings")]
    assert len(embeds[0].body["input"]) > 2  # the long input went out in pieces
    v = result.vectors[1]
    assert abs(math.sqrt(sum(x * x for x in v)) - 1.0) < 1e-6


# --- deployments, discovery, pooling ------------------------------------------------------------


class ArmCredential:
    def __init__(self, emu: Emulator) -> None:
        self.emu = emu
        self.calls = 0

    def get_token(self, *scopes: str, **kw: Any) -> AzureAccessToken:
        self.calls += 1
        assert scopes == ("https://management.azure.com/.default",)
        return AzureAccessToken(
            self.emu.issue_token(audience="https://management.azure.com"), int(time.time() + 3600)
        )


def test_discovery_over_loopback_pages_and_drives_model_rules() -> None:
    deployments = [EmulatorDeployment(f"d{i}", model="gpt-4o") for i in range(5)] + [
        EmulatorDeployment("think", model="o3-mini")
    ]
    with Emulator(deployments, arm_page_size=2) as emu:
        cred = ArmCredential(emu)
        c = Client(
            endpoint=emu.endpoint,
            api_key=emu.api_key,
            deployment="think",
            discovery={
                "subscription_id": emu.subscription_id,
                "resource_group": emu.resource_group,
                "account": emu.account,
                "arm_host": emu.arm_endpoint,
                "credential": cred,
            },
            env={},
            config_file="",
        )
        names = [d.name for d in c.known_deployments()]
        assert names == ["d0", "d1", "d2", "d3", "d4", "think"]
        arm_calls = [q for q in emu.requests if q.path.startswith("/subscriptions/")]
        assert len(arm_calls) == 3 and cred.calls == 1
        assert c.model_info().reasoning  # the discovered model, not the name
        c.chat(ChatRequest(messages=[Message("user", "hi")], temperature=0.3))
        assert "temperature" not in emu.requests[-1].body
        c.known_deployments()
        assert (
            len([q for q in emu.requests if q.path.startswith("/subscriptions/")]) == 3
        )  # TTL cache


def test_discovery_failure_falls_back_to_the_static_list(
    emu: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken:
        def get_token(self, *s: str, **k: Any) -> AzureAccessToken:
            raise RuntimeError("no identity here")

    c = client(
        emu,
        deployments=[{"name": "chat", "model": "gpt-4o"}],
        discovery={
            "subscription_id": "s",
            "resource_group": "g",
            "account": "a",
            "arm_host": emu.arm_endpoint,
            "credential": Broken(),
        },
    )
    # static list + discovery: the static list wins (with a warning), so build discovery-only:
    c = client(
        emu,
        discovery={
            "subscription_id": "s",
            "resource_group": "g",
            "account": "a",
            "arm_host": emu.arm_endpoint,
            "credential": Broken(),
        },
    )
    assert c.chat(ChatRequest(messages=[Message("user", "hi")])).text
    assert "deployment discovery failed" in caplog.text


def test_clients_with_equal_settings_share_one_connection(emu: Emulator) -> None:
    a = client(emu)
    b = Client(a.settings)
    assert a.connection is b.connection
    a.close()
    a.close()  # idempotent
    assert b.chat(ChatRequest(messages=[Message("user", "hi")])).text
    fresh = client(emu)
    fresh.close()  # never created a connection
    assert fresh._conn is None
    b.close()


def test_credentials_never_go_to_another_host(emu: Emulator) -> None:
    c = client(emu)
    c._url = lambda op, dep: "http://127.0.0.2:9/openai/v1/chat/completions"  # type: ignore[method-assign]
    with pytest.raises(E.AuthenticationError, match="refusing to send credentials"):
        c.chat(ChatRequest(messages=[Message("user", "hi")]))
    assert emu.requests == []


def test_sync_and_async_in_new_event_loops(emu: Emulator) -> None:
    c = client(emu)
    for _ in range(3):  # each asyncio.run has its own loop; the client must not reuse a dead one
        assert asyncio.run(c.achat(ChatRequest(messages=[Message("user", "hi")]))).text
    assert c.chat(ChatRequest(messages=[Message("user", "hi")])).text


def test_embeddings_extra_body_reaches_every_batch(emu: Emulator) -> None:
    client(emu, deployment="embed").embed(
        ["a", "b", "c"], batch_size=2, concurrency=1, extra_body={"user": "team-7"}
    )
    bodies = [q.body for q in emu.requests if q.path.endswith("/embeddings")]
    assert len(bodies) == 2 and all(b["user"] == "team-7" for b in bodies)


def test_model_version_and_raw_chunks(emu: Emulator) -> None:
    c = client(emu, model="gpt-4o")
    r = c.chat(ChatRequest(messages=[Message("user", "hi")]))
    assert (
        r.model and r.model_version and r.model.endswith(r.model_version)
    )  # read from Azure's model name
    configured = client(emu, model="gpt-4o", model_version="2024-08-06")
    assert (
        configured.chat(ChatRequest(messages=[Message("user", "hi")])).model_version == "2024-08-06"
    )
    acc = StreamAccumulator()
    deltas = list(configured.stream(ChatRequest(messages=[Message("user", "hi")])))
    for d in deltas:
        acc.add(d)
    assert acc.result().model_version == "2024-08-06"
    assert all(isinstance(d.raw, dict) for d in deltas)  # the decoded chunk each delta came from
