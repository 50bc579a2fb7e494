"""The LangChain part of ``azoai demo``: a streamed LCEL chain and a tool-calling agent.

Registered through the ``azoai.demo`` entry point; the runner in the core decides where the
steps point (the emulator or a real resource) and prints the summary lines.
"""

from __future__ import annotations

from typing import Any

from azoai.demo import DemoContext, DemoStep, StepReport


def _model(ctx: DemoContext, **kw: Any) -> Any:
    from langchain_azoai import AzureChatOpenAI

    return AzureChatOpenAI(azure_deployment=ctx.chat_deployment, **ctx.settings_kwargs, **kw)


def _usage(handler: Any) -> tuple[int, int]:
    inp = out = 0
    for usage in handler.usage_metadata.values():
        inp += usage.get("input_tokens", 0)
        out += usage.get("output_tokens", 0)
    return inp, out


def streamed_chain(ctx: DemoContext) -> StepReport:
    from langchain_core.callbacks import UsageMetadataCallbackHandler
    from langchain_core.output_parsers import StrOutputParser
    from langchain_core.prompts import ChatPromptTemplate

    prompt = ChatPromptTemplate.from_messages(
        [
            ("system", "You answer in one short paragraph, using the context when it helps."),
            ("user", "Context: {context}\n\nQuestion: {question}"),
        ]
    )
    chain = prompt | _model(ctx, temperature=0) | StrOutputParser()
    usage = UsageMetadataCallbackHandler()
    question = "Why do lighthouses flash in patterns?"
    ctx.write(f"  question: {question}")
    ctx.stream("  answer: ")
    chunks = 0
    for piece in chain.stream(
        {
            "context": "Lighthouses flash in distinct patterns so sailors can tell one lighthouse from another at night. "
            "The pattern is printed on nautical charts.",
            "question": question,
        },
        config={"callbacks": [usage]},
    ):
        ctx.stream(piece)
        chunks += 1
    ctx.stream("\n")
    inp, out = _usage(usage)
    return StepReport(
        f"streamed {chunks} chunks through prompt | AzureChatOpenAI | StrOutputParser", inp, out
    )


def tool_agent(ctx: DemoContext) -> StepReport:
    from langchain.agents import create_agent
    from langchain_core.callbacks import UsageMetadataCallbackHandler
    from langchain_core.messages import HumanMessage
    from langchain_core.runnables import RunnableConfig
    from langchain_core.tools import tool

    calls: list[str] = []

    @tool
    def get_weather(city: str) -> str:
        """Return today's weather for a city."""
        calls.append(city)
        forecasts = {"paris": "18 C and sunny", "oslo": "4 C with light snow"}
        return forecasts.get(city.lower(), "12 C and cloudy")

    agent = create_agent(_model(ctx, temperature=0), tools=[get_weather])
    usage = UsageMetadataCallbackHandler()
    question = "What is the weather in Paris? Use the get_weather tool."
    ctx.write(f"  question: {question}")
    config: RunnableConfig = {"callbacks": [usage]}
    result = agent.invoke({"messages": [HumanMessage(question)]}, config=config)
    answer = result["messages"][-1].content
    ctx.write(f"  tool calls: {', '.join(f'get_weather({c!r})' for c in calls) or 'none'}")
    ctx.write(f"  answer: {answer}")
    inp, out = _usage(usage)
    return StepReport(f"create_agent ran {len(calls)} tool call(s) and answered", inp, out)


def steps() -> list[DemoStep]:
    return [
        DemoStep("LangChain: a streamed chain (prompt | model | parser)", streamed_chain),
        DemoStep("LangChain: a tool-calling agent (langchain.agents.create_agent)", tool_agent),
    ]
