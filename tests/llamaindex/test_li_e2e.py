"""End to end, what LlamaIndex users build, against the emulator over loopback: RAG with an
ingestion pipeline, agents, structured output, and Entra ID with a real azure-identity
credential whose tokens expire during the run."""

from __future__ import annotations

import asyncio
import itertools
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import llama_index.core
import pytest
from li_helpers import DOCS, ISOLATED, bodies, chat_bodies
from llama_index.core import SimpleDirectoryReader, VectorStoreIndex
from llama_index.core.agent.workflow import (
    AgentStream,
    AgentWorkflow,
    FunctionAgent,
    ReActAgent,
    ToolCallResult,
)
from llama_index.core.base.llms.types import ChatMessage
from llama_index.core.ingestion import IngestionPipeline
from llama_index.core.node_parser import SentenceSplitter
from llama_index.core.schema import BaseNode
from llama_index.core.tools import FunctionTool
from pydantic import BaseModel

from azoai_emulator import Emulator
from llamaindex_azoai import AzureOpenAI, AzureOpenAIEmbedding

# --- RAG --------------------------------------------------------------------------------------------


def pipeline(embed_model: AzureOpenAIEmbedding) -> IngestionPipeline:
    return IngestionPipeline(
        transformations=[SentenceSplitter(chunk_size=128, chunk_overlap=0), embed_model]
    )


@pytest.fixture
def nodes(embed_model: AzureOpenAIEmbedding) -> list[BaseNode]:
    documents = SimpleDirectoryReader(str(DOCS)).load_data()
    return pipeline(embed_model).run(documents=documents)


QUESTIONS = [
    (
        "How many times a day should you feed the starter?",
        "sourdough.md",
        "Feed the starter twice a day with equal weights of rye flour and water.",
    ),
    (
        "How many steps does the tower have?",
        "lighthouses.md",
        "The tower has 143 steps and a gallery that visitors may climb on summer weekends.",
    ),
    (
        "What does the duration of the waggle run encode?",
        "honeybees.md",
        "The duration of the waggle run encodes the distance to the flowers.",
    ),
    (
        "Which is the largest active shield volcano?",
        "volcanoes.md",
        "Mauna Loa in Hawaii is the largest active shield volcano on Earth.",
    ),
]


def test_ingestion_embeds_every_chunk(nodes: list[BaseNode], emu: Emulator) -> None:
    assert len(nodes) == 4
    assert all(n.embedding is not None and len(n.embedding) == 1536 for n in nodes)
    [request] = bodies(emu, "/embeddings")  # one Azure-sized batch for the whole set
    assert len(request["input"]) == 4


@pytest.mark.parametrize(("question", "source", "answer"), QUESTIONS)
def test_rag_query_answers_from_the_right_document(
    nodes: list[BaseNode],
    embed_model: AzureOpenAIEmbedding,
    llm: AzureOpenAI,
    emu: Emulator,
    question: str,
    source: str,
    answer: str,
) -> None:
    index = VectorStoreIndex(nodes, embed_model=embed_model)
    response = index.as_query_engine(llm=llm, similarity_top_k=2).query(question)
    assert response.source_nodes[0].metadata["file_name"] == source
    assert str(response) == answer
    prompt = chat_bodies(emu)[-1]["messages"][-1]["content"]
    assert answer in prompt  # the answer came from the retrieved context


def test_rag_streaming_query(
    nodes: list[BaseNode], embed_model: AzureOpenAIEmbedding, llm: AzureOpenAI, emu: Emulator
) -> None:
    question, source, answer = QUESTIONS[1]
    engine = VectorStoreIndex(nodes, embed_model=embed_model).as_query_engine(
        llm=llm, similarity_top_k=2, streaming=True
    )
    streaming = engine.query(question)
    pieces = list(streaming.response_gen)  # type: ignore[union-attr]
    assert len(pieces) > 3
    assert "".join(pieces) == answer
    assert streaming.source_nodes[0].metadata["file_name"] == source
    assert chat_bodies(emu)[-1]["stream"] is True


async def test_rag_async_query(
    nodes: list[BaseNode], embed_model: AzureOpenAIEmbedding, llm: AzureOpenAI
) -> None:
    question, _, answer = QUESTIONS[2]
    engine = VectorStoreIndex(nodes, embed_model=embed_model).as_query_engine(llm=llm)
    assert str(await engine.aquery(question)) == answer


async def test_rag_async_ingestion(embed_model: AzureOpenAIEmbedding) -> None:
    documents = SimpleDirectoryReader(str(DOCS)).load_data()
    built = await pipeline(embed_model).arun(documents=documents)
    assert len(built) == 4 and all(n.embedding for n in built)


@pytest.fixture
def offline_tokenizer(monkeypatch: pytest.MonkeyPatch) -> None:
    # Worker processes rebuild SentenceSplitter, whose tokenizer would download tiktoken's
    # cl100k file unless pointed at the copy llama-index ships (this suite runs offline).
    cache = Path(llama_index.core.__file__).parent / "_static" / "tiktoken_cache"
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(cache))


@pytest.mark.slow
@pytest.mark.usefixtures("offline_tokenizer")
def test_ingestion_pipeline_num_workers(
    embed_model: AzureOpenAIEmbedding, nodes: list[BaseNode], emu: Emulator
) -> None:
    emu.clear_requests()
    documents = SimpleDirectoryReader(str(DOCS)).load_data()
    parallel = pipeline(embed_model).run(documents=documents, num_workers=2)
    # the model travelled to two worker processes, each rebuilt its client and embedded a share
    assert len(bodies(emu, "/embeddings")) == 2
    by_text = {n.get_content(): n.embedding for n in nodes}
    assert {n.get_content(): n.embedding for n in parallel} == by_text


# --- agents -----------------------------------------------------------------------------------------

calls: list[tuple[str, Any]] = []


def get_weather(city: str) -> str:
    """Get the current weather for a city."""
    calls.append(("get_weather", city))
    return f"It is sunny and 21 degrees in {city}."


def multiply(a: int, b: int) -> int:
    """Multiply two integers."""
    calls.append(("multiply", (a, b)))
    return a * b


TOOLS = [FunctionTool.from_defaults(get_weather), FunctionTool.from_defaults(multiply)]


@pytest.fixture(autouse=True)
def _no_calls() -> None:
    calls.clear()


@pytest.mark.parametrize("streaming", [True, False])
async def test_function_agent_calls_tools_and_answers(
    llm: AzureOpenAI, emu: Emulator, streaming: bool
) -> None:
    agent = FunctionAgent(
        tools=TOOLS, llm=llm, system_prompt="You answer with tools.", streaming=streaming
    )
    handler = agent.run("What is the weather in Paris and London?")
    deltas, results = [], []
    async for event in handler.stream_events():
        if isinstance(event, AgentStream):
            deltas.append(event.delta)
        elif isinstance(event, ToolCallResult):
            results.append(event.tool_output.content)
    answer = str(await handler)
    assert calls == [("get_weather", "Paris"), ("get_weather", "London")]
    assert "sunny and 21 degrees in Paris" in answer
    assert "sunny and 21 degrees in London" in answer
    assert results == [
        "It is sunny and 21 degrees in Paris.",
        "It is sunny and 21 degrees in London.",
    ]
    if streaming:
        assert "".join(deltas) == answer
    first = chat_bodies(emu)[0]
    assert first["parallel_tool_calls"] is True  # FunctionAgent's choice, sent as chosen
    assert first.get("stream", False) is streaming


async def test_function_agent_on_the_responses_api_with_a_reasoning_model(emu: Emulator) -> None:
    llm = AzureOpenAI(
        engine="reasoner",
        model="o3-mini",
        use_responses_api=True,
        reasoning_options={"summary": "auto"},
        azure_endpoint=emu.endpoint,
        api_key=emu.api_key,
        **ISOLATED,
    )
    answer = await FunctionAgent(tools=TOOLS, llm=llm).run("What is the weather in Oslo?")
    assert calls == [("get_weather", "Oslo")]
    assert str(answer) == "It is sunny and 21 degrees in Oslo."
    first, second = bodies(emu, "/responses")
    assert first["model"] == "reasoner"
    kinds = [item["type"] for item in second["input"]]
    # the reasoning item travels back with the call and its output, as the API requires
    assert kinds == ["message", "reasoning", "function_call", "function_call_output"]
    assert second["input"][3]["output"] == "It is sunny and 21 degrees in Oslo."


async def test_agent_workflow_with_memory_across_turns(llm: AzureOpenAI, emu: Emulator) -> None:
    from llama_index.core.memory import ChatMemoryBuffer

    workflow = AgentWorkflow(
        agents=[FunctionAgent(name="helper", description="helps", tools=TOOLS, llm=llm)],
        root_agent="helper",
    )
    memory = ChatMemoryBuffer.from_defaults()
    first = await workflow.run("Please multiply 6 and 7 using the tool.", memory=memory)
    assert calls == [("multiply", (6, 7))]
    assert "42" in str(first)
    await workflow.run("Thanks. My name is Ada.", memory=memory)
    second = await workflow.run("What is my name?", memory=memory)
    assert "Ada" in str(second)
    last = chat_bodies(emu)[-1]["messages"]
    assert any(m["role"] == "tool" and m["content"] == "42" for m in last)


async def test_react_agent_runs_the_text_protocol(llm: AzureOpenAI, emu: Emulator) -> None:
    # The emulator's rule-based model does not speak ReAct's Thought/Action text format, so
    # the model's two turns are scripted; everything else (prompting, streaming, parsing the
    # action, running the tool, sending the observation back) is the real ReAct agent.
    emu.script(
        "chat",
        [
            "Thought: I need the weather tool.\nAction: get_weather\n"
            'Action Input: {"city": "Paris"}',
            "Thought: I can answer without using any more tools.\n"
            "Answer: It is sunny in Paris today.",
        ],
    )
    agent = ReActAgent(tools=TOOLS, llm=llm)
    answer = await agent.run("What is the weather in Paris?")
    assert calls == [("get_weather", "Paris")]
    assert str(answer) == "It is sunny in Paris today."
    first, second = chat_bodies(emu)
    assert "get_weather" in first["messages"][0]["content"]  # the tool list in the ReAct prompt
    sent = " ".join(str(m["content"]) for m in second["messages"])
    assert "Observation: It is sunny and 21 degrees in Paris." in sent


# --- structured output ----------------------------------------------------------------------------


class Invoice(BaseModel):
    """An invoice."""

    customer: str
    total: float
    paid: bool
    items: list[str]


def test_as_structured_llm_into_a_pydantic_model(llm: AzureOpenAI, emu: Emulator) -> None:
    sllm = llm.as_structured_llm(Invoice)
    response = sllm.chat([ChatMessage(role="user", content="Invoice for ACME: two widgets, $40.")])
    assert isinstance(response.raw, Invoice)
    assert Invoice.model_validate_json(response.message.content or "") == response.raw
    [body] = chat_bodies(emu)
    assert body["response_format"]["json_schema"]["name"] == "Invoice"
    chunks = list(sllm.stream_chat([ChatMessage(role="user", content="Invoice for ACME.")]))
    assert isinstance(chunks[-1].raw, Invoice)


async def test_as_structured_llm_async_with_tool_calling(emu: Emulator) -> None:
    # An api_version without json_schema: the same call goes through a required tool call.
    llm = AzureOpenAI(
        engine="chat",
        model="gpt-4o",
        api_version="2024-06-01",
        azure_endpoint=emu.endpoint,
        api_key=emu.api_key,
        **ISOLATED,
    )
    sllm = llm.as_structured_llm(Invoice)
    response = await sllm.achat([ChatMessage(role="user", content="Invoice for ACME.")])
    assert isinstance(response.raw, Invoice)
    [body] = chat_bodies(emu)
    assert body["tool_choice"] == "required"


# --- Entra ID ---------------------------------------------------------------------------------------

TOKEN_LIFETIME = 3.0
# Emulator tokens carry a whole-second expiry, so one lives between LIFETIME - 1 and LIFETIME
# seconds. The core refreshes a token ahead of expiry: 5 minutes ahead for real (1 hour)
# tokens, half-way through the life of tokens as short as these. (azure-identity itself does not
# cache tokens this short-lived; without the core's cache every request would fetch one.)
SHORTEST_REFRESH = (TOKEN_LIFETIME - 1) / 2


@pytest.fixture
def entra(monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    """An emulator issuing short-lived tokens through its App Service managed-identity endpoint,
    with the environment azure-identity reads pointed at it."""
    with Emulator(token_lifetime=TOKEN_LIFETIME) as emulator:
        for name in list(os.environ):
            if name.startswith(("AZURE_", "MSI_", "IDENTITY_", "IMDS_")):
                monkeypatch.delenv(name)
        monkeypatch.setenv("IDENTITY_ENDPOINT", emulator.identity_endpoint)
        monkeypatch.setenv("IDENTITY_HEADER", emulator.identity_header)
        yield emulator


def _run_for(seconds: float, call: Any) -> int:
    n, start = 0, time.monotonic()
    while time.monotonic() - start < seconds:
        call()
        n += 1
        time.sleep(0.05)
    return n


def _check_tokens(emu: Emulator, seconds: float, calls_made: int) -> None:
    inference = [r for r in emu.requests if r.path.startswith("/openai/")]
    assert len(inference) >= calls_made
    assert {r.status for r in inference} == {200}  # no request went out with an expired token
    assert all("authorization" in r.headers and "api-key" not in r.headers for r in inference)
    fetched = [r.time for r in emu.requests if r.path.startswith("/msi/")]
    assert len(fetched) == emu.tokens_issued
    assert emu.tokens_issued >= 2  # the first token expired during the run and was replaced
    # each token was used for (at least) the part of its life before its refresh point: one
    # identity call per token lifetime, not one per request
    gaps = [b - a for a, b in itertools.pairwise(fetched)]
    assert min(gaps) >= SHORTEST_REFRESH - 0.1
    assert emu.tokens_issued <= seconds / SHORTEST_REFRESH + 1 < calls_made / 3


def test_entra_managed_identity_refreshes_expiring_tokens(entra: Emulator) -> None:
    from azure.identity import ManagedIdentityCredential

    credential = ManagedIdentityCredential()
    llm = AzureOpenAI(
        engine="chat", azure_endpoint=entra.endpoint, credential=credential, **ISOLATED
    )
    embed = AzureOpenAIEmbedding(
        deployment_name="embed", azure_endpoint=entra.endpoint, credential=credential, **ISOLATED
    )
    seconds = 4.0

    def both() -> None:
        assert llm.chat([ChatMessage(role="user", content="Say ok")]).message.content == "ok"
        assert len(embed.get_text_embedding("ok")) == 1536

    made = _run_for(seconds, both)
    _check_tokens(entra, seconds, made)


def test_entra_use_azure_ad_goes_through_default_azure_credential(entra: Emulator) -> None:
    llm = AzureOpenAI(engine="chat", azure_endpoint=entra.endpoint, use_azure_ad=True, **ISOLATED)
    assert llm.settings.auth.mode == "default_credential"
    seconds = 4.0
    made = _run_for(seconds, lambda: llm.chat([ChatMessage(role="user", content="Say ok")]))
    _check_tokens(entra, seconds, made)


async def test_entra_async_calls_share_the_token_cache(entra: Emulator) -> None:
    from azure.identity.aio import ManagedIdentityCredential

    async with ManagedIdentityCredential() as credential:
        llm = AzureOpenAI(
            engine="chat", azure_endpoint=entra.endpoint, credential=credential, **ISOLATED
        )
        replies = await asyncio.gather(
            *(llm.achat([ChatMessage(role="user", content="Say ok")]) for _ in range(8))
        )
    assert [r.message.content for r in replies] == ["ok"] * 8
    assert entra.tokens_issued == 1  # eight concurrent calls, one token request
