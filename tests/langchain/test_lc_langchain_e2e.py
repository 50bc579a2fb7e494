"""Real LangChain usage against the emulator: an LCEL chain, an agent loop built with
``langchain.agents.create_agent``, structured output, and Entra ID through azure-identity's
``ManagedIdentityCredential`` with tokens expiring during the run."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from azure.identity import ManagedIdentityCredential, get_bearer_token_provider
from langchain.agents import create_agent
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.tools import tool
from pydantic import BaseModel, Field

from azoai_emulator import Emulator, EmulatorDeployment
from langchain_azoai import AzureChatOpenAI

SCOPE = "https://cognitiveservices.azure.com/.default"


def test_lcel_chain_streams_text(llm: AzureChatOpenAI) -> None:
    prompt = ChatPromptTemplate.from_messages(
        [("system", "You are a helpful assistant."), ("human", "Say '{phrase}'")]
    )
    chain = prompt | llm | StrOutputParser()
    pieces = list(chain.stream({"phrase": "streams flow through chains"}))
    assert len(pieces) > 1
    assert all(isinstance(p, str) for p in pieces)
    assert "".join(pieces) == "streams flow through chains"
    assert chain.invoke({"phrase": "and invoke works too"}) == "and invoke works too"


async def test_lcel_chain_astreams_text(llm: AzureChatOpenAI) -> None:
    chain = ChatPromptTemplate.from_messages([("human", "Say '{x}'")]) | llm | StrOutputParser()
    pieces = [p async for p in chain.astream({"x": "async pieces arrive"})]
    assert "".join(pieces) == "async pieces arrive"


@tool
def get_weather(city: str) -> str:
    """Get the current weather in a city."""
    return f"It is sunny and 24 degrees in {city}."


@pytest.mark.parametrize("api", ["chat", "responses"])
def test_create_agent_calls_the_tool_and_answers(emu: Emulator, api: str) -> None:
    llm = AzureChatOpenAI(
        azure_endpoint=emu.endpoint,
        api_key=emu.api_key,
        azure_deployment="chat",
        model="gpt-4o",
        use_responses_api=api == "responses",
    )
    agent = create_agent(llm, tools=[get_weather], system_prompt="Use tools to answer.")
    state = agent.invoke({"messages": [HumanMessage("What is the weather in Paris?")]})
    messages = state["messages"]
    calls = [m for m in messages if isinstance(m, AIMessage) and m.tool_calls]
    assert [tc["name"] for tc in calls[0].tool_calls] == ["get_weather"]
    assert calls[0].tool_calls[0]["args"] == {"city": "Paris"}
    [tool_result] = [m for m in messages if isinstance(m, ToolMessage)]
    assert tool_result.content == "It is sunny and 24 degrees in Paris."
    final = messages[-1]
    assert isinstance(final, AIMessage) and not final.tool_calls
    assert "sunny" in final.text and "24" in final.text


async def test_create_agent_streams_asynchronously(llm: AzureChatOpenAI) -> None:
    agent = create_agent(llm, tools=[get_weather])
    seen_tool = False
    final = None
    async for update in agent.astream(
        {"messages": [HumanMessage("What is the weather in Oslo?")]}, stream_mode="values"
    ):
        last = update["messages"][-1]
        seen_tool = seen_tool or isinstance(last, ToolMessage)
        final = last
    assert seen_tool
    assert isinstance(final, AIMessage) and "Oslo" in final.text


class City(BaseModel):
    """A city."""

    name: str = Field(description="The city's name")
    population: int = Field(description="Number of inhabitants")


def test_structured_output_into_a_pydantic_model_in_a_chain(llm: AzureChatOpenAI) -> None:
    prompt = ChatPromptTemplate.from_messages([("human", "{text} Extract the city.")])
    chain = prompt | llm.with_structured_output(City)
    city = chain.invoke({"text": "Lisbon has 545000 inhabitants."})
    assert city == City(name="Lisbon", population=545000)
    tools_chain = prompt | llm.with_structured_output(City, method="function_calling")
    assert tools_chain.invoke({"text": "Lisbon has 545000 inhabitants."}) == city


# --- Entra ID --------------------------------------------------------------------------------

TOKEN_LIFETIME = 2.0


@pytest.fixture
def entra_emu(monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    """An emulator whose Entra tokens live two seconds, and azure-identity pointed at its App
    Service managed-identity endpoint."""
    with Emulator(
        deployments=[EmulatorDeployment("chat", model="gpt-4o")], token_lifetime=TOKEN_LIFETIME
    ) as emu:
        monkeypatch.setenv("IDENTITY_ENDPOINT", emu.identity_endpoint)
        monkeypatch.setenv("IDENTITY_HEADER", emu.identity_header)
        yield emu


def _chat_statuses(emu: Emulator) -> list[int | None]:
    return [r.status for r in emu.requests if r.path.endswith("/chat/completions")]


def _sleep_past_expiry(started: float) -> None:
    time.sleep(max(0.0, started + TOKEN_LIFETIME + 0.2 - time.time()))


def test_managed_identity_credential_refreshes_an_expired_token(entra_emu: Emulator) -> None:
    emu = entra_emu
    llm = AzureChatOpenAI(
        azure_endpoint=emu.endpoint,
        credential=ManagedIdentityCredential(),
        azure_deployment="chat",
    )
    assert llm.settings.auth.mode == "credential"
    chain = ChatPromptTemplate.from_messages([("human", "Say '{x}'")]) | llm | StrOutputParser()
    started = time.time()
    assert chain.invoke({"x": "first"}) == "first"
    assert "".join(chain.stream({"x": "second call"})) == "second call"
    assert emu.tokens_issued == 1  # the token is cached between calls
    _sleep_past_expiry(started)
    assert "".join(chain.stream({"x": "after expiry"})) == "after expiry"
    assert chain.invoke({"x": "and again"}) == "and again"
    assert emu.tokens_issued == 2  # exactly one new token after the first expired
    assert _chat_statuses(emu) == [200, 200, 200, 200]  # no call ever went out with a stale token
    sent = [r.headers for r in emu.requests if r.path.endswith("/chat/completions")]
    assert all("authorization" in h and "api-key" not in h for h in sent)


async def test_token_provider_from_azure_identity_async(entra_emu: Emulator) -> None:
    """The langchain-openai way: azure_ad_token_provider=get_bearer_token_provider(...)."""
    emu = entra_emu
    provider = get_bearer_token_provider(ManagedIdentityCredential(), SCOPE)
    llm = AzureChatOpenAI(
        azure_endpoint=emu.endpoint, azure_ad_token_provider=provider, azure_deployment="chat"
    )
    started = time.time()
    assert (await llm.ainvoke("Say 'one'")).text == "one"
    assert (await llm.ainvoke("Say 'two'")).text == "two"
    assert emu.tokens_issued == 1
    _sleep_past_expiry(started)
    assert (await llm.ainvoke("Say 'three'")).text == "three"
    assert emu.tokens_issued == 2
    assert _chat_statuses(emu) == [200, 200, 200]


async def test_async_credential(entra_emu: Emulator) -> None:
    from azure.identity.aio import ManagedIdentityCredential as AsyncManagedIdentityCredential

    emu = entra_emu
    credential = AsyncManagedIdentityCredential()
    try:
        llm = AzureChatOpenAI(
            azure_endpoint=emu.endpoint, credential=credential, azure_deployment="chat"
        )
        assert (await llm.ainvoke("Say 'async credential'")).text == "async credential"
        chunks = [c.text async for c in llm.astream("Say 'streamed too'")]
        assert "".join(chunks) == "streamed too"
        assert emu.tokens_issued == 1
    finally:
        await credential.close()
