"""A LlamaIndex FunctionAgent (AgentWorkflow) that calls a tool and answers."""

import asyncio

from llama_index.core.agent.workflow import FunctionAgent

from llamaindex_azoai import AzureOpenAI


def get_population(city: str) -> str:
    """Return the population of a city."""
    populations = {"lagos": "about 15 million", "lima": "about 11 million"}
    return populations.get(city.lower(), f"no figure for {city}")


async def main() -> None:
    agent = FunctionAgent(tools=[get_population], llm=AzureOpenAI(temperature=0))
    handler = agent.run("What is the population of Lima? Use get_population.")
    async for event in handler.stream_events():
        if type(event).__name__ == "ToolCallResult":
            print(f"tool call: {event.tool_name}({event.tool_kwargs}) -> {event.tool_output}")
    print("answer:", await handler)


asyncio.run(main())
