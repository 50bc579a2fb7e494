"""LlamaIndex adapter for azoai: Azure OpenAI chat models and embeddings through one shared core.

Drop-in replacements for ``llama_index.llms.azure_openai.AzureOpenAI`` and
``llama_index.embeddings.azure_openai.AzureOpenAIEmbedding``: change the import, keep the
arguments. See ``docs/llamaindex.md``.
"""

from typing import TYPE_CHECKING, Any

from llamaindex_azoai._convert import InvalidToolArgumentsError
from llamaindex_azoai.llms import AzureOpenAI

if TYPE_CHECKING:
    from llamaindex_azoai.embeddings import AzureOpenAIEmbedding

__all__ = ["AzureOpenAI", "AzureOpenAIEmbedding", "InvalidToolArgumentsError"]


def __getattr__(name: str) -> Any:
    # The embedding class is imported on first use: a chat-only program does not pay for it.
    if name == "AzureOpenAIEmbedding":
        from llamaindex_azoai.embeddings import AzureOpenAIEmbedding

        return AzureOpenAIEmbedding
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
