"""Workload identity (AKS, or any platform that federates its tokens with Entra), chosen by
configuration: auth_mode="workload_identity" as below, with AZURE_TENANT_ID, AZURE_CLIENT_ID and
AZURE_FEDERATED_TOKEN_FILE in the environment (the AKS webhook injects them, plus
AZURE_AUTHORITY_HOST). azure-identity's WorkloadIdentityCredential exchanges the projected token
file for Entra tokens and picks up the rotated file when it refreshes."""

from langchain_azoai import AzureChatOpenAI

llm = AzureChatOpenAI(auth_mode="workload_identity", temperature=0)
print("auth:", llm.settings.auth.mode, "| scope:", llm.settings.auth.scope)
print(llm.invoke("Say hello").content)
