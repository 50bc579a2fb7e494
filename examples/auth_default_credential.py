"""Entra ID with DefaultAzureCredential (az login locally, managed or workload identity in Azure).
Tokens are cached and refreshed by azoai; one credential call per token lifetime."""

from azure.identity import DefaultAzureCredential

from langchain_azoai import AzureChatOpenAI

llm = AzureChatOpenAI(
    credential=DefaultAzureCredential(exclude_interactive_browser_credential=True), temperature=0
)
print("auth:", llm.settings.auth.mode, "| scope:", llm.settings.auth.scope)
print(llm.invoke("Say hello").content)
