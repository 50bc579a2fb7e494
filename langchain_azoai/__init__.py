"""LangChain adapter for azoai: Azure OpenAI chat models and embeddings.

``AzureChatOpenAI`` and ``AzureOpenAIEmbeddings`` take the same arguments as the classes of the same
name in ``langchain_openai``, so changing the import is enough; the azoai core handles endpoints,
auth, API versions, deployments, content filtering and retries.
"""

from langchain_azoai.chat_models import AzureChatOpenAI
from langchain_azoai.embeddings import AzureOpenAIEmbeddings

__all__ = ["AzureChatOpenAI", "AzureOpenAIEmbeddings"]
