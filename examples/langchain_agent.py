"""A LangChain tool-calling agent (langchain.agents.create_agent) that calls a tool and answers."""

from langchain.agents import create_agent
from langchain_core.tools import tool

from langchain_azoai import AzureChatOpenAI


@tool
def get_local_time(city: str) -> str:
    """Return the current local time in a city."""
    times = {"tokyo": "09:30 JST", "lisbon": "00:30 WET"}
    return times.get(city.lower(), f"unknown time zone for {city}")


agent = create_agent(AzureChatOpenAI(temperature=0), tools=[get_local_time])
result = agent.invoke({"messages": [("user", "What time is it in Tokyo? Use get_local_time.")]})
for message in result["messages"]:
    for call in getattr(message, "tool_calls", []):
        print(f"tool call: {call['name']}({call['args']})")
print("answer:", result["messages"][-1].content)
