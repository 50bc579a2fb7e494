"""azoai's errors are the openai SDK's exceptions too (issue 17): code written against the replaced
packages (``except openai.RateLimitError``, llama-index's tenacity retry on openai exceptions,
LangChain's ``with_retry(retry_if_exception_type=(openai.RateLimitError,))``) keeps catching what
azoai raises, through every raise path, once openai is imported; ``import azoai`` and a call
never import it (azoai.openai_compat)."""

from __future__ import annotations

import copy
import json
import pickle
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import openai
import pytest

from azoai import errors as E
from azoai.client import Client
from azoai.config.settings import RetryPolicy
from azoai.wire import ChatRequest, Message
from azoai_emulator import Emulator, Fault

NO_RETRY = RetryPolicy(max_retries=0)
ASK = ChatRequest(
    messages=[Message("user", "Context: The sky is blue.\n\nWhat colour is the sky?")]
)


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
    kw.setdefault("retry", NO_RETRY)
    return Client(endpoint=emu.endpoint, env={}, config_file="", **kw)


# --- each HTTP status, as the SDK maps it -----------------------------------------------------

STATUSES = [
    pytest.param(Fault.status(400), openai.BadRequestError, E.BadRequestError, id="400"),
    pytest.param(Fault.status(401), openai.AuthenticationError, E.AuthenticationError, id="401"),
    pytest.param(
        Fault.status(403), openai.PermissionDeniedError, E.PermissionDeniedError, id="403"
    ),
    pytest.param(Fault.status(404), openai.NotFoundError, E.NotFoundError, id="404"),
    pytest.param(Fault.status(422), openai.UnprocessableEntityError, E.BadRequestError, id="422"),
    pytest.param(
        Fault.rate_limit(retry_after_ms=86_400_000),
        openai.RateLimitError,
        E.RateLimitError,
        id="429",
    ),
    pytest.param(Fault.paused(count=1), openai.APIStatusError, E.DeploymentPausedError, id="423"),
    pytest.param(
        Fault.status(500), openai.InternalServerError, E.ServiceUnavailableError, id="500"
    ),
    pytest.param(
        Fault.status(503), openai.InternalServerError, E.ServiceUnavailableError, id="503"
    ),
    pytest.param(
        Fault.content_filter("prompt", "violence"),
        openai.BadRequestError,
        E.ContentFilterError,
        id="400-content-filter",
    ),
]


@pytest.mark.parametrize(("fault", "sdk_error", "azoai_error"), STATUSES)
def test_each_status_is_caught_by_the_sdk_exception(
    emu: Emulator, fault: Fault, sdk_error: type[Exception], azoai_error: type[Exception]
) -> None:
    emu.inject("chat", fault)
    try:
        client(emu).chat(ASK)
    except sdk_error as exc:
        caught: Any = exc
    assert isinstance(caught, azoai_error)
    assert isinstance(caught, openai.APIStatusError) and isinstance(caught, E.AzoaiError)
    status = emu.requests[-1].status
    # what code written for the SDK reads
    assert caught.status_code == status == caught.response.status_code
    assert caught.response.json() == caught.body  # the error body Azure sent
    assert caught.code == caught.body["error"]["code"]
    assert caught.message and caught.request.method == "POST"
    assert caught.request_id and caught.request_id == caught.response.headers.get("apim-request-id")
    assert emu.api_key not in str(caught) + repr(caught) + caught.response.text
    assert all(emu.api_key not in v for v in caught.response.headers.values())
    # named as its azoai class, so tracebacks and reprs read as before
    azoai_class = next(c for c in type(caught).__mro__[1:] if c.__module__ == "azoai.errors")
    assert (type(caught).__module__, type(caught).__qualname__) == (
        "azoai.errors",
        azoai_class.__qualname__,
    )


def test_a_429_carries_retry_after_where_the_frameworks_read_it(emu: Emulator) -> None:
    emu.inject("chat", Fault.rate_limit(retry_after_ms=86_400_000))
    with pytest.raises(openai.RateLimitError) as exc:
        client(emu).chat(ASK)
    err: Any = exc.value
    assert err.response.headers["retry-after"] == "86400"  # llama-index's _WaitRetryAfter
    assert err.retry_after == 86_400 and err.quota_exhausted  # azoai's own attributes stay


async def test_async_and_streams_are_caught_too(emu: Emulator) -> None:
    c = client(emu)
    emu.inject("chat", Fault.status(500))
    with pytest.raises(openai.InternalServerError):
        await c.achat(ASK)
    emu.inject("chat", Fault.rate_limit(retry_after_ms=86_400_000))
    with pytest.raises(openai.RateLimitError):
        async for _ in c.astream(ASK):
            pass
    emu.inject("chat", Fault.status(400))
    with pytest.raises(openai.BadRequestError):
        for _ in c.stream(ASK):
            pass
    await c.aclose()


def test_embeddings_errors_are_caught_too(emu: Emulator) -> None:
    emu.inject("embed", Fault.status(503))
    with pytest.raises(openai.InternalServerError) as exc:
        client(emu).embed(["a"], model="embed")
    assert isinstance(exc.value, E.AzoaiError)


@pytest.mark.parametrize("api", ["chat", "responses"])
def test_the_responses_api_is_caught_too(emu: Emulator, api: str) -> None:
    emu.inject("chat", Fault.status(404))
    with pytest.raises(openai.NotFoundError):
        client(emu, api=api).chat(ASK)


# --- failures without an HTTP answer ------------------------------------------------------------


def test_a_dropped_connection_is_an_api_connection_error(emu: Emulator) -> None:
    emu.inject("chat", Fault.close_connection())
    with pytest.raises(openai.APIConnectionError) as exc:
        client(emu).chat(ASK)
    assert isinstance(exc.value, E.APIConnectionError)
    assert not isinstance(exc.value, openai.APIStatusError)


def test_a_timeout_is_an_api_timeout_error(emu: Emulator) -> None:
    emu.inject("chat", Fault.latency(1.0))
    with pytest.raises(openai.APITimeoutError) as exc:
        client(emu, timeout=0.2).chat(ASK)
    assert isinstance(exc.value, E.TimeoutError) and isinstance(exc.value, TimeoutError)


def test_a_stream_cut_midway_is_an_api_connection_error(emu: Emulator) -> None:
    emu.inject("chat", Fault.cut_stream(after_chunks=3))
    with pytest.raises(openai.APIConnectionError) as exc:
        for _ in client(emu).stream(ASK):
            pass
    assert isinstance(exc.value, E.StreamInterruptedError) and exc.value.partial_text


@pytest.mark.parametrize("stream", [False, True])
def test_a_filtered_completion_is_a_content_filter_finish_reason_error(
    emu: Emulator, stream: bool
) -> None:
    emu.inject("chat", Fault.content_filter("completion", "hate"))
    with pytest.raises(openai.ContentFilterFinishReasonError) as exc:
        if stream:
            for _ in client(emu).stream(ASK):
                pass
        else:
            client(emu).chat(ASK)
    err: Any = exc.value
    assert isinstance(err, E.ContentFilterError) and err.side == "completion"
    assert err.completion is None  # the SDK's attribute; azoai's partial_result holds the result


def test_errors_with_no_sdk_counterpart_stay_plain() -> None:
    err = E.ConfigError("bad", setting="endpoint")
    assert not isinstance(err, openai.OpenAIError)
    assert isinstance(err, ValueError)


# --- copies keep both identities -----------------------------------------------------------------


def test_pickle_and_copy_keep_both_classes_and_attributes(emu: Emulator) -> None:
    emu.inject("chat", Fault.rate_limit(retry_after_ms=86_400_000))
    with pytest.raises(E.RateLimitError) as exc:
        client(emu).chat(ASK)
    for twin in (pickle.loads(pickle.dumps(exc.value)), copy.copy(exc.value)):
        assert isinstance(twin, openai.RateLimitError) and isinstance(twin, E.RateLimitError)
        assert twin.retry_after == 86_400 and str(twin) == str(exc.value)
        assert twin.response.status_code == 429
    assert copy.deepcopy(exc.value).response.headers["retry-after"] == "86400"


# --- the frameworks' retry helpers ----------------------------------------------------------------


def test_langchain_with_retry_on_openai_rate_limit_retries_azoai_429(emu: Emulator) -> None:
    from langchain_azoai import AzureChatOpenAI

    emu.inject("chat", Fault.rate_limit(retry_after_ms=86_400_000))  # azoai gives up at once
    llm = AzureChatOpenAI(
        azure_endpoint=emu.endpoint,
        api_key=emu.api_key,
        azure_deployment="chat",
        model="gpt-4o",
        api_version="2024-10-21",
        max_retries=0,
    )
    retrying = llm.with_retry(
        retry_if_exception_type=(openai.RateLimitError,),
        wait_exponential_jitter=False,
        stop_after_attempt=2,
    )
    answer = retrying.invoke("Context: The sky is blue.\n\nWhat colour is the sky?")
    assert "blue" in str(answer.content)
    assert [q.status for q in emu.requests] == [429, 200]


def test_llama_index_openai_retry_decorator_retries_azoai_errors(emu: Emulator) -> None:
    utils = pytest.importorskip(
        "llama_index.llms.openai.utils",
        reason="llama-index-llms-openai is not installed (CI's second stage installs it)",
    )
    c = client(emu)
    calls: list[int] = []

    @utils.create_retry_decorator(max_retries=3, min_seconds=0, max_seconds=0)
    def ask() -> str:
        calls.append(1)
        return c.chat(ASK).text

    emu.inject("chat", Fault.status(503))  # openai.InternalServerError
    emu.inject("chat", Fault.close_connection())  # openai.APIConnectionError
    assert "blue" in ask()
    assert len(calls) == 3


# --- openai is never imported by azoai ------------------------------------------------------------


def _child(code: str, *args: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=90
    )
    assert out.returncode == 0, out.stderr
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


_CALL = (
    "import json, sys\n"
    "import azoai\n"
    "from azoai import errors as E\n"
    "from azoai.client import CallOptions, Client\n"
    "from azoai.config.settings import RetryPolicy\n"
    "from azoai.wire import ChatRequest, Message\n"
    "ask = ChatRequest(messages=[Message('user', 'Say hi')])\n"
    "c = Client(endpoint=sys.argv[1], api_key=sys.argv[2], deployment='chat', env={},"
    " config_file='', retry=RetryPolicy(max_retries=0))\n"
    "text = c.chat(ask).text\n"
    "def fail():\n"
    "    try:\n"
    "        c.chat(ask, options=CallOptions(extra_headers={'x-azoai-emulator-fault': 'status=500'}))\n"
    "    except E.AzoaiError as exc:\n"
    "        return exc\n"
)


def test_import_azoai_and_a_call_do_not_import_openai(emu: Emulator) -> None:
    code = _CALL + (
        "plain = fail()\n"
        "after_calls = 'openai' in sys.modules\n"
        "import openai\n"
        "twin = fail()\n"
        "print(json.dumps({'text': text, 'after_calls': after_calls,"
        " 'plain': isinstance(plain, openai.InternalServerError),"
        " 'plain_azoai': isinstance(plain, E.ServiceUnavailableError),"
        " 'twin': isinstance(twin, openai.InternalServerError),"
        " 'twin_azoai': isinstance(twin, E.ServiceUnavailableError)}))\n"
    )
    got = _child(code, emu.endpoint, emu.api_key)
    assert got == {
        "text": "hi",
        "after_calls": False,  # a call and an error did not import it
        "plain": False,  # raised before openai was imported: nothing changed
        "plain_azoai": True,
        "twin": True,
        "twin_azoai": True,
    }


def test_without_openai_errors_are_plain_azoai_errors(emu: Emulator) -> None:
    code = (
        "import sys\nsys.modules['openai'] = None\n"
        + _CALL
        + (
            "err = fail()\n"
            "print(json.dumps({'text': text, 'type': type(err).__name__,"
            " 'bases': [b.__module__ for b in type(err).__mro__ if b.__module__.startswith('openai')]}))\n"
        )
    )
    got = _child(code, emu.endpoint, emu.api_key)
    assert got == {"text": "hi", "type": "ServiceUnavailableError", "bases": []}
