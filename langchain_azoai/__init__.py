"""LangChain adapter for azoai: Azure OpenAI chat models, embeddings, completion models and an
image generation tool.

``AzureChatOpenAI``, ``AzureOpenAIEmbeddings`` and ``AzureOpenAI`` (the completion ``BaseLLM``)
take the same arguments as the classes of the same name in ``langchain_openai``, so changing the
import is enough; the azoai core handles endpoints, auth, API versions, deployments, content
filtering and retries. ``AzureImageGenerationTool`` is a ``BaseTool`` an agent can call.
"""

from typing import TYPE_CHECKING, Any

from langchain_azoai import _requires  # noqa: F401  (first: a missing framework is one line)
from langchain_azoai.chat_models import AzureChatOpenAI

if TYPE_CHECKING:
    from langchain_azoai.audio import AzureSpeechToTextParser, AzureTextToSpeechTool
    from langchain_azoai.embeddings import AzureOpenAIEmbeddings
    from langchain_azoai.llms import AzureOpenAI
    from langchain_azoai.tools import AzureImageGenerationTool

__all__ = [
    "AzureChatOpenAI",
    "AzureImageGenerationTool",
    "AzureOpenAI",
    "AzureOpenAIEmbeddings",
    "AzureSpeechToTextParser",
    "AzureTextToSpeechTool",
]

#: Classes imported on first use: a chat-only program does not pay for them.
_LAZY = {
    "AzureOpenAIEmbeddings": "langchain_azoai.embeddings",
    "AzureOpenAI": "langchain_azoai.llms",
    "AzureImageGenerationTool": "langchain_azoai.tools",
    "AzureTextToSpeechTool": "langchain_azoai.audio",
    "AzureSpeechToTextParser": "langchain_azoai.audio",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(module), name)
