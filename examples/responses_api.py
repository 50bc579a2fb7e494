"""The Responses API (v1 route), with a reasoning deployment and chained turns."""

from langchain_azoai import AzureChatOpenAI

REASONING_DEPLOYMENT = "reasoner"  # a reasoning model deployment (o3-mini, gpt-5-mini, ...)

llm = AzureChatOpenAI(
    azure_deployment=REASONING_DEPLOYMENT,
    model="o3-mini",  # the real model: azoai applies its parameter rules (no temperature)
    use_responses_api=True,
    reasoning={"effort": "low", "summary": "auto"},
)
first = llm.invoke(
    "Context: Bees communicate the direction of flowers by dancing.\n\nHow do bees share where flowers are?"
)
print("answer:", first.text)
print(
    "reasoning tokens:",
    (first.usage_metadata or {}).get("output_token_details", {}).get("reasoning", 0),
)
print("response id:", first.response_metadata.get("id"))
