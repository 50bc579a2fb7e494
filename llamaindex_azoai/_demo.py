"""The LlamaIndex part of ``azoai demo``: a streamed RAG query and a tool-calling agent.

Registered through the ``azoai.demo`` entry point; the runner in the core decides where the
steps point (the emulator or a real resource) and prints the summary lines.
"""

from __future__ import annotations

import asyncio
from typing import Any

from azoai.demo import DemoContext, DemoStep, StepReport

_NOTES = [
    "Lighthouses flash in distinct patterns so sailors can tell one lighthouse from another at "
    "night. The pattern of each light is printed on nautical charts.",
    "A sourdough starter is fed twice a day with equal weights of flour and water. A healthy "
    "starter doubles in volume within six hours.",
    "Forager honeybees use the waggle dance to tell their sisters where flowers are. The "
    "duration of the waggle run encodes the distance.",
]


def _llm(ctx: DemoContext, counter: Any) -> Any:
    from llama_index.core.callbacks import CallbackManager

    from llamaindex_azoai import AzureOpenAI

    return AzureOpenAI(
        engine=ctx.chat_deployment,
        temperature=0,
        callback_manager=CallbackManager([counter]),
        **ctx.settings_kwargs,
    )


def _report(outcome: str, counter: Any) -> StepReport:
    return StepReport(outcome, counter.prompt_llm_token_count, counter.completion_llm_token_count)


def streamed_rag(ctx: DemoContext) -> StepReport:
    from llama_index.core import Document, VectorStoreIndex, get_response_synthesizer
    from llama_index.core.callbacks import CallbackManager, TokenCountingHandler
    from llama_index.core.query_engine import RetrieverQueryEngine

    from llamaindex_azoai import AzureOpenAIEmbedding

    counter = TokenCountingHandler()
    embed_model = AzureOpenAIEmbedding(azure_deployment=ctx.embed_deployment, **ctx.settings_kwargs)
    index = VectorStoreIndex.from_documents(
        [Document(text=t) for t in _NOTES], embed_model=embed_model
    )
    # The response synthesizer hands its callback manager to the LLM (Settings' unless given).
    synthesizer = get_response_synthesizer(
        llm=_llm(ctx, counter), streaming=True, callback_manager=CallbackManager([counter])
    )
    engine = RetrieverQueryEngine(
        index.as_retriever(similarity_top_k=1), response_synthesizer=synthesizer
    )
    question = "Why do lighthouses flash in patterns?"
    ctx.write(f"  question: {question}")
    ctx.stream("  answer: ")
    chunks = 0
    for piece in engine.query(question).response_gen:  # type: ignore[union-attr]
        ctx.stream(piece)
        chunks += 1
    ctx.stream("\n")
    return _report(
        f"embedded {len(_NOTES)} notes, retrieved one, streamed {chunks} chunks "
        "(VectorStoreIndex + AzureOpenAIEmbedding + AzureOpenAI)",
        counter,
    )


def tool_agent(ctx: DemoContext) -> StepReport:
    from llama_index.core.agent.workflow import FunctionAgent
    from llama_index.core.callbacks import TokenCountingHandler
    from llama_index.core.tools import FunctionTool

    calls: list[str] = []

    def get_weather(city: str) -> str:
        """Return today's weather for a city."""
        calls.append(city)
        forecasts = {"paris": "18 C and sunny", "oslo": "4 C with light snow"}
        return forecasts.get(city.lower(), "12 C and cloudy")

    counter = TokenCountingHandler()
    agent = FunctionAgent(tools=[FunctionTool.from_defaults(get_weather)], llm=_llm(ctx, counter))
    question = "What is the weather in Paris? Use the get_weather tool."
    ctx.write(f"  question: {question}")
    answer = asyncio.run(_run(agent, question))
    ctx.write(f"  tool calls: {', '.join(f'get_weather({c!r})' for c in calls) or 'none'}")
    ctx.write(f"  answer: {answer}")
    return _report(f"FunctionAgent ran {len(calls)} tool call(s) and answered", counter)


async def _run(agent: Any, question: str) -> str:
    return str(await agent.run(question))


def steps() -> list[DemoStep]:
    return [
        DemoStep(
            "LlamaIndex: a streamed RAG query (VectorStoreIndex)",
            streamed_rag,
            needs_embeddings=True,
        ),
        DemoStep("LlamaIndex: a tool-calling agent (FunctionAgent)", tool_agent),
    ]
