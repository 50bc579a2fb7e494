"""Several deployments (or regions) behind one name: when one answers 429 or 5xx the call moves
to the next at once, and the failed one rests for the retry-after Azure asked for."""

from langchain_azoai import AzureChatOpenAI

routes = {
    "chat-pool": {
        "strategy": "failover",  # or "weighted"
        "targets": [
            {"deployment": "chat"},
            {"deployment": "chat-mini"},
            # another region: {"deployment": "gpt-4o", "endpoint": "https://myres-west.openai.azure.com",
            #                  "api_key_env": "AZURE_OPENAI_API_KEY_WEST"},
        ],
    }
}
llm = AzureChatOpenAI(azure_deployment="chat-pool", routes=routes, temperature=0)
answer = llm.invoke(
    "Context: Kyoto was Japan's capital for over a thousand years.\n\nWhat was Japan's old capital?"
)
print("served by:", answer.response_metadata.get("target"), "->", answer.content)
