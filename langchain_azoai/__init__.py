"""LangChain adapter for azoai: Azure OpenAI chat models and embeddings.

``AzureChatOpenAI`` and ``AzureOpenAIEmbeddings`` take the same arguments as the classes of the same
name in ``langchain_openai``, so changing the import is enough; the azoai core handles endpoints,
auth, API versions, deployments, content filtering and retries.
"""

from typing import TYPE_CHECKING, Any

from langchain_azoai.chat_models import AzureChatOpenAI

if TYPE_CHECKING:
    from langchain_azoai.embeddings import AzureOpenAIEmbeddings

__all__ = ["AzureChatOpenAI", "AzureOpenAIEmbeddings"]


def __getattr__(name: str) -> Any:
    # The embeddings class is imported on first use: a chat-only program does not pay for it.
    if name == "AzureOpenAIEmbeddings":
        from langchain_azoai.embeddings import AzureOpenAIEmbeddings

        return AzureOpenAIEmbeddings
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
