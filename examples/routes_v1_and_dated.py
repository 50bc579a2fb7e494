"""The two URL families: the v1 route (no api-version, deployment in the body) and the dated
deployments route (api-version in the query). The same code works on both."""

from langchain_azoai import AzureChatOpenAI

for label, kwargs in [
    ("v1 route (default)", {}),
    ("dated route", {"api_version": "2024-10-21"}),
]:
    llm = AzureChatOpenAI(temperature=0, **kwargs)
    answer = llm.invoke(
        "Context: Ottawa is the capital of Canada.\n\nWhat is the capital of Canada?"
    )
    print(
        f"{label}: route={llm.settings.route} api_version={llm.settings.api_version.value} -> {answer.content}"
    )
