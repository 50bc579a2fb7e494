"""azoai's errors leave the LangChain classes as langchain-core's standard model exceptions too
(``ContextOverflowError``, ``ModelRateLimitError``, ...), as langchain-openai's do: what
``SummarizationMiddleware`` and users' ``except`` clauses catch. The azoai class stays."""

from __future__ import annotations

import asyncio
import pickle

import pytest
from langchain_core import exceptions as lc

from azoai import errors as E
from azoai.openai_compat import azoai_class
from azoai_emulator import Emulator, Fault
from langchain_azoai import AzureChatOpenAI, AzureOpenAIEmbeddings

pytestmark = pytest.mark.skipif(
    not hasattr(lc, "ContextOverflowError"), reason="langchain-core without its model exceptions"
)


def chat(emu: Emulator, **kw: object) -> AzureChatOpenAI:
    return AzureChatOpenAI(
        azure_endpoint=emu.endpoint,
        api_key=emu.api_key,
        azure_deployment="chat",
        api_version="2024-10-21",
        max_retries=0,
        **kw,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("status", "azoai_cls", "lc_cls"),
    [
        (429, E.RateLimitError, "ModelRateLimitError"),
        (401, E.AuthenticationError, "ModelAuthenticationError"),
        (400, E.BadRequestError, "ModelInvalidRequestError"),
        (500, E.APIStatusError, "ModelAPIError"),
    ],
)
def test_invoke_stream_and_async_raise_both_classes(
    emu: Emulator, status: int, azoai_cls: type, lc_cls: str
) -> None:
    llm = chat(emu)
    target = getattr(lc, lc_cls)
    for run in (
        lambda: llm.invoke("hi"),
        lambda: list(llm.stream("hi")),
        lambda: asyncio.run(llm.ainvoke("hi")),
        lambda: asyncio.run(_drain(llm)),
    ):
        emu.inject("*", Fault.status(status))
        with pytest.raises(target) as caught:
            run()
        assert isinstance(caught.value, azoai_cls)
        assert isinstance(caught.value, lc.ModelError)
    emu.clear_faults()


async def _drain(llm: AzureChatOpenAI) -> None:
    async for _ in llm.astream("hi"):
        pass


def test_a_context_length_error_is_a_context_overflow(emu: Emulator) -> None:
    llm = chat(emu)
    with pytest.raises(lc.ContextOverflowError) as caught:
        llm.invoke("word " * 200_000)
    err = caught.value
    assert isinstance(err, E.ContextLengthError)
    again = pickle.loads(pickle.dumps(err))  # pickles as its azoai class
    # (once openai is imported, an unpickled error is also its openai twin again)
    assert azoai_class(type(again)) is E.ContextLengthError and str(again) == str(err)


def test_embeddings_raise_both_classes(emu: Emulator) -> None:
    emb = AzureOpenAIEmbeddings(
        azure_endpoint=emu.endpoint,
        api_key=emu.api_key,
        azure_deployment="embed",
        max_retries=0,
    )
    emu.inject("*", Fault.status(401))
    with pytest.raises(lc.ModelAuthenticationError):
        emb.embed_query("hello")
    emu.clear_faults()


def test_wrapped_methods_hand_over_their_signature() -> None:
    """langchain-core reads ``_generate``'s signature on every call (does it take
    ``run_manager``?): the error-translating wrapper carries the wrapped method's, computed once,
    so the call neither unwraps nor rebuilds it, and LangChain sees the same parameters."""
    import inspect

    from langchain_core.utils._signature import _signature_parameters

    llm = AzureChatOpenAI(
        azure_endpoint="https://r.openai.azure.com", api_key="k", azure_deployment="chat"
    )
    for name in ("_generate", "_agenerate"):
        method = getattr(AzureChatOpenAI, name)
        assert "__signature__" in vars(method)
        assert inspect.signature(method) == inspect.signature(inspect.unwrap(method))
        params = _signature_parameters(getattr(llm, name))
        assert list(params)[:3] == ["messages", "stop", "run_manager"]
