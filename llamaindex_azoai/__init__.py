"""LlamaIndex adapter for azoai: Azure OpenAI chat models, embeddings, instruct (completion)
models and an image generation tool spec through one shared core.

Drop-in replacements for ``llama_index.llms.azure_openai.AzureOpenAI`` and
``llama_index.embeddings.azure_openai.AzureOpenAIEmbedding``: change the import, keep the
arguments. ``AzureOpenAICompletion`` serves instruct deployments (``is_chat_model=False``);
``AzureImageToolSpec`` gives agents image generation. See ``docs/llamaindex.md``.
"""

from typing import TYPE_CHECKING, Any

from llamaindex_azoai import _requires  # noqa: F401  (first: a missing framework is one line)
from llamaindex_azoai._convert import InvalidToolArgumentsError
from llamaindex_azoai.llms import AzureOpenAI

if TYPE_CHECKING:
    from llamaindex_azoai.audio import AzureSpeechToTextReader, AzureTextToSpeechToolSpec
    from llamaindex_azoai.completion import AzureOpenAICompletion
    from llamaindex_azoai.embeddings import AzureOpenAIEmbedding
    from llamaindex_azoai.tools import AzureImageToolSpec

__all__ = [
    "AzureImageToolSpec",
    "AzureOpenAI",
    "AzureOpenAICompletion",
    "AzureOpenAIEmbedding",
    "AzureSpeechToTextReader",
    "AzureTextToSpeechToolSpec",
    "InvalidToolArgumentsError",
]

#: Classes imported on first use: a chat-only program does not pay for them.
_LAZY = {
    "AzureOpenAIEmbedding": "llamaindex_azoai.embeddings",
    "AzureOpenAICompletion": "llamaindex_azoai.completion",
    "AzureImageToolSpec": "llamaindex_azoai.tools",
    "AzureSpeechToTextReader": "llamaindex_azoai.audio",
    "AzureTextToSpeechToolSpec": "llamaindex_azoai.audio",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(module), name)
