"""API-key authentication: the key goes in the api-key header. It is read from
AZURE_OPENAI_API_KEY (or AZURE_OPENAI_KEY), or passed as api_key=...; OPENAI_API_KEY is never read."""

from langchain_azoai import AzureChatOpenAI

llm = AzureChatOpenAI(temperature=0)  # or AzureChatOpenAI(api_key="...")
print("auth:", llm.settings.auth.mode, "| key from:", llm.settings.sources["api_key"])
print(llm.invoke("Say hello").content)
