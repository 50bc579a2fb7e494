"""LlamaIndex adapter for azoai: Azure OpenAI chat models and embeddings through one shared core.

Drop-in replacements for ``llama_index.llms.azure_openai.AzureOpenAI`` and
``llama_index.embeddings.azure_openai.AzureOpenAIEmbedding``: change the import, keep the
arguments. See ``docs/llamaindex.md``.
"""

from llamaindex_azoai._convert import InvalidToolArgumentsError
from llamaindex_azoai.embeddings import AzureOpenAIEmbedding
from llamaindex_azoai.llms import AzureOpenAI

__all__ = ["AzureOpenAI", "AzureOpenAIEmbedding", "InvalidToolArgumentsError"]
