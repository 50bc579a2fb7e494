"""The span-wrapped methods carry their signatures ready-made (``llamaindex_azoai._signatures``):
llama-index reads them on every call, and each must be exactly what ``inspect`` would build."""

from __future__ import annotations

import inspect
import types

import pytest

from llamaindex_azoai import AzureOpenAI, AzureOpenAICompletion, AzureOpenAIEmbedding


def _fresh(fn: types.FunctionType) -> inspect.Signature:
    """``fn``'s signature built from scratch, from a copy of it without ``__signature__``."""
    copy = types.FunctionType(
        fn.__code__, fn.__globals__, fn.__name__, fn.__defaults__, fn.__closure__
    )
    copy.__kwdefaults__ = fn.__kwdefaults__
    copy.__annotations__ = fn.__annotations__
    return inspect.signature(copy)


@pytest.mark.parametrize("cls", [AzureOpenAI, AzureOpenAICompletion, AzureOpenAIEmbedding])
def test_every_span_wrapped_method_carries_the_signature_inspect_would_build(cls: type) -> None:
    wrapped = {
        name: inspect.unwrap(value)
        for name, value in vars(cls).items()
        if hasattr(value, "__wrapped__") and isinstance(inspect.unwrap(value), types.FunctionType)
    }
    assert wrapped, "llama-index's instrumentation wraps no method any more"
    for name, inner in wrapped.items():
        assert "__signature__" in vars(inner), name
        assert inner.__signature__ == _fresh(inner), name


def test_the_tool_preparation_and_chat_are_among_them() -> None:
    for name in ("chat", "achat", "stream_chat", "astream_chat", "_prepare_chat_with_tools"):
        assert "__signature__" in vars(inspect.unwrap(vars(AzureOpenAI)[name])), name
    params = inspect.signature(AzureOpenAI._prepare_chat_with_tools).parameters
    assert "tool_required" in params  # what FunctionCallingLLM looks for on every call
