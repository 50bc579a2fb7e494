"""A service principal (an app registration's client secret), chosen by configuration:
auth_mode="client_secret" as below (or auth_mode = "client_secret" in the config file), with
AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET in the environment. azure-identity's
ClientSecretCredential gets the tokens (imported only when the first one is needed); the secret
stays a SecretStr and never appears in reprs, logs or errors. For a sovereign cloud, or a private
authority, set AZURE_AUTHORITY_HOST."""

from langchain_azoai import AzureChatOpenAI

llm = AzureChatOpenAI(auth_mode="client_secret", temperature=0)
print("auth:", llm.settings.auth.mode, "| scope:", llm.settings.auth.scope)
print("secret from:", llm.settings.sources["client_secret"])  # where it came from, never its value
print(llm.invoke("Say hello").content)
