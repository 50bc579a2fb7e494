"""Managed identity (App Service, Functions, Container Apps, VMs), chosen by configuration:
AZURE_USE_MANAGED_IDENTITY=true in the environment, or auth_mode="managed_identity" as below (add
managed_identity_client_id=... or AZURE_MANAGED_IDENTITY_CLIENT_ID for a user-assigned identity).
azure-identity is imported only when the first token is needed."""

from langchain_azoai import AzureChatOpenAI, AzureOpenAIEmbeddings

llm = AzureChatOpenAI(auth_mode="managed_identity", temperature=0)
print("auth:", llm.settings.auth.mode, "| scope:", llm.settings.auth.scope)
print(llm.invoke("Say hello").content)

embeddings = AzureOpenAIEmbeddings(auth_mode="managed_identity", azure_deployment="embed")
print("embedding dimensions:", len(embeddings.embed_query("hello")))
