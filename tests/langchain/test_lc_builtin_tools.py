"""Built-in Responses tools through LangChain (issue 16, "refused by both adapters"): bound as
langchain-openai binds them, mixed with function tools, their items shown as langchain-openai
shows them ("responses/v1" content, standard ``server_tool_call`` / ``server_tool_result`` /
image / citation blocks), sent back with the next turn; refused on Chat Completions before
sending. Against the emulator, sync and async, streamed and not."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, ToolMessage
from pydantic import BaseModel, Field

from azoai import ConfigError
from azoai_emulator import DEFAULT_DEPLOYMENTS, Emulator, EmulatorDeployment
from langchain_azoai import AzureChatOpenAI

WEB = {"type": "web_search"}
CODE = {"type": "code_interpreter", "container": {"type": "auto"}}
FILES = {"type": "file_search", "vector_store_ids": ["vs_handbook"]}
IMAGE = {"type": "image_generation"}
MCP = {
    "type": "mcp",
    "server_label": "wiki",
    "server_url": "https://mcp.invalid/mcp",  # never contacted: the emulator answers for it
    "require_approval": "never",
}
INCLUDE = ["code_interpreter_call.outputs", "file_search_call.results"]


class GetWeather(BaseModel):
    """Get the current weather in a city."""

    city: str = Field(description="The city")


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator([*DEFAULT_DEPLOYMENTS, EmulatorDeployment("image", model="gpt-image-1")]) as e:
        yield e


def model(emu: Emulator, **kw: Any) -> AzureChatOpenAI:
    kw.setdefault("use_responses_api", True)
    return AzureChatOpenAI(
        azure_endpoint=emu.endpoint,
        api_key=emu.api_key,
        azure_deployment="chat",
        model="gpt-4o",
        default_headers={"x-ms-oai-image-generation-deployment": "image"},
        include=INCLUDE,
        **kw,
    )


def aggregate(chunks: list[AIMessageChunk]) -> AIMessageChunk:
    full = chunks[0]
    for c in chunks[1:]:
        full = full + c
    return full


async def _acollect(runnable: Any, prompt: Any) -> list[AIMessageChunk]:
    return [c async for c in runnable.astream(prompt)]


def call(runnable: Any, prompt: Any, how: str) -> AIMessage:
    if how == "invoke":
        return runnable.invoke(prompt)  # type: ignore[no-any-return]
    if how == "ainvoke":
        return asyncio.run(runnable.ainvoke(prompt))  # type: ignore[no-any-return]
    chunks = (
        list(runnable.stream(prompt))
        if how == "stream"
        else asyncio.run(_acollect(runnable, prompt))
    )
    return aggregate(chunks)


HOW = ["invoke", "ainvoke", "stream", "astream"]


def sent(emu: Emulator) -> dict[str, Any]:
    body = emu.requests[-1].body
    assert isinstance(body, dict)
    return body


def kinds(content: Any) -> list[str]:
    return [b["type"] for b in content]


# --- each tool, as a LangChain user sees it --------------------------------------------------


@pytest.mark.parametrize("how", HOW)
def test_web_search_items_and_citations(emu: Emulator, how: str) -> None:
    msg = call(model(emu).bind_tools([WEB]), "Search the web for Lima weather", how)
    assert kinds(msg.content) == ["web_search_call", "text"]
    item, text = msg.content
    assert isinstance(item, dict) and isinstance(text, dict)
    assert item["id"].startswith("ws_") and item["action"]["query"] == "Lima weather"
    (note,) = text["annotations"]
    assert note["type"] == "url_citation" and note["title"] == "Example Domain"
    assert msg.text == "The web has one page about Lima weather: Example Domain."
    request, result, answer = msg.content_blocks
    assert request == {
        "type": "server_tool_call",
        "id": item["id"],
        "name": "web_search",
        "args": {"type": "search", "query": "Lima weather"},
        "extras": request["extras"],
        **({"index": "lc_stc_0"} if "stream" in how else {}),
    }
    assert result["type"] == "server_tool_result" and result["tool_call_id"] == item["id"]
    assert result["status"] == "success"
    assert answer["type"] == "text" and answer["text"] == msg.text
    (cite,) = answer["annotations"]
    assert cite["type"] == "citation" and cite["url"] == note["url"]  # type: ignore[typeddict-item]
    assert msg.text[cite["start_index"] : cite["end_index"]] == "Example Domain"  # type: ignore[typeddict-item]


@pytest.mark.parametrize("how", HOW)
def test_code_interpreter_code_and_logs(emu: Emulator, how: str) -> None:
    msg = call(model(emu).bind_tools([CODE]), "Run python to compute 12 * 12", how)
    assert kinds(msg.content) == ["code_interpreter_call", "text"] and msg.text == "144"
    request, result, _ = msg.content_blocks
    assert request["name"] == "code_interpreter" and request["args"] == {"code": "print(12 * 12)"}
    assert result["output"] == [{"type": "logs", "logs": "144\n"}]  # type: ignore[typeddict-item]


@pytest.mark.parametrize("how", HOW)
def test_file_search_results_and_file_citation(emu: Emulator, how: str) -> None:
    msg = call(model(emu).bind_tools([FILES]), "Search my files for the travel policy", how)
    assert kinds(msg.content) == ["file_search_call", "text"]
    request, result, answer = msg.content_blocks
    assert request["name"] == "file_search" and request["args"] == {
        "queries": ["the travel policy"]
    }
    (hit,) = result["output"]  # type: ignore[typeddict-item]
    assert hit["text"] in msg.text
    (cite,) = answer["annotations"]  # type: ignore[typeddict-item]
    assert cite["title"] == "vs_handbook.md" and cite["extras"]["file_id"] == hit["file_id"]


@pytest.mark.parametrize("how", HOW)
def test_image_generation_as_an_image_block(emu: Emulator, how: str) -> None:
    msg = call(model(emu).bind_tools([IMAGE]), "Draw a picture of a llama", how)
    assert kinds(msg.content) == ["image_generation_call", "text"]
    image, _ = msg.content_blocks
    assert image["type"] == "image" and image["mime_type"] == "image/png"  # type: ignore[typeddict-item]
    assert base64.b64decode(image["base64"]).startswith(b"\x89PNG")  # type: ignore[typeddict-item]
    assert image["id"].startswith("ig_")  # type: ignore[typeddict-item]


@pytest.mark.parametrize("how", HOW)
def test_remote_mcp_list_and_call(emu: Emulator, how: str) -> None:
    msg = call(model(emu).bind_tools([MCP]), "Ask the wiki about Lima", how)
    assert kinds(msg.content) == ["mcp_list_tools", "mcp_call", "text"]
    blocks = msg.content_blocks
    assert [(b["type"], b.get("name")) for b in blocks] == [
        ("server_tool_call", "mcp_list_tools"),
        ("server_tool_result", None),
        ("server_tool_call", "remote_mcp"),
        ("server_tool_result", None),
        ("text", None),
    ]
    assert blocks[2]["args"] == {"text": "Ask the wiki about Lima"}  # type: ignore[typeddict-item]
    assert blocks[2]["extras"]["server_label"] == "wiki"  # type: ignore[typeddict-item]
    assert blocks[3]["output"] == msg.text  # type: ignore[typeddict-item]


@pytest.mark.parametrize("how", ["invoke", "stream"])
def test_output_version_v1_gives_standard_blocks(emu: Emulator, how: str) -> None:
    llm = model(emu, output_version="v1").bind_tools([WEB, CODE])
    msg = call(llm, "Search the web for Lima weather", how)
    assert kinds(msg.content) == ["server_tool_call", "server_tool_result", "text"]
    # and a v1 message goes back as the item it came from
    llm.invoke([HumanMessage("Search the web for Lima weather"), msg, HumanMessage("Say 'ok'")])
    (item,) = [i for i in sent(emu)["input"] if i.get("type") == "web_search_call"]
    assert item["id"] == msg.content[0]["id"]  # type: ignore[index]


# --- mixed with function tools, over several turns -------------------------------------------


@pytest.mark.parametrize("how", ["invoke", "stream"])
def test_a_multi_turn_agent_conversation_is_sent_back(emu: Emulator, how: str) -> None:
    llm = model(emu).bind_tools([WEB, GetWeather, IMAGE])
    history: list[Any] = [HumanMessage("Search the web for Lima news")]
    searched = call(llm, history, how)
    history += [searched, HumanMessage("What is the weather in Lima?")]
    asked = call(llm, history, how)
    (tc,) = asked.tool_calls
    assert tc["name"] == "GetWeather" and tc["args"] == {"city": "Lima"}
    history += [asked, ToolMessage("Sunny, 24 C", tool_call_id=tc["id"])]
    answered = call(llm, history, how)
    assert answered.text == "Sunny, 24 C"
    items = sent(emu)["input"]
    assert [i.get("type") for i in items] == [
        "message",
        "web_search_call",
        "message",
        "message",
        "function_call",
        "function_call_output",
    ]
    web = dict(searched.content[0])  # type: ignore[arg-type]
    web.pop("index", None)  # LangChain's stream index stays home
    assert items[1] == web
    assert items[2]["content"][0]["annotations"][0]["type"] == "url_citation"
    history += [answered, HumanMessage("Draw a picture of a llama")]
    drawn = call(llm, history, how)
    history += [drawn, HumanMessage("Say 'thanks'")]
    assert call(llm, history, how).text == "thanks"
    image_id = drawn.content[0]["id"]  # type: ignore[index]
    assert {"type": "item_reference", "id": image_id} in sent(emu)["input"]


def test_an_mcp_approval_is_asked_and_answered(emu: Emulator) -> None:
    llm = model(emu).bind_tools([{**MCP, "require_approval": "always"}])
    first = llm.invoke("Ask the wiki about Lima")
    assert kinds(first.content) == ["mcp_list_tools", "mcp_approval_request"]
    request = first.content[1]
    assert isinstance(request, dict)
    assert first.content_blocks[-1] == {"type": "non_standard", "value": request}
    answer = HumanMessage(
        [{"type": "mcp_approval_response", "approve": True, "approval_request_id": request["id"]}]
    )
    done = llm.invoke([HumanMessage("Ask the wiki about Lima"), first, answer])
    assert kinds(done.content) == ["mcp_call", "text"]
    assert done.content[0]["approval_request_id"] == request["id"]  # type: ignore[index]
    assert sent(emu)["input"][-1] == {
        "type": "mcp_approval_response",
        "approve": True,
        "approval_request_id": request["id"],
    }


def test_tool_choice_may_name_a_built_in_tool(emu: Emulator) -> None:
    for choice in ("web_search", {"type": "web_search"}):
        msg = model(emu).bind_tools([WEB, GetWeather], tool_choice=choice).invoke("Hello there")
        assert sent(emu)["tool_choice"] == {"type": "web_search"}
        assert kinds(msg.content)[0] == "web_search_call"
    assert model(emu).get_num_tokens_from_messages([HumanMessage("hi")], tools=[WEB, GetWeather])


# --- refused before sending --------------------------------------------------------------------


@pytest.mark.parametrize("how", HOW)
def test_chat_completions_refuses_built_in_tools_naming_the_fix(emu: Emulator, how: str) -> None:
    emu.clear_requests()
    llm = model(emu, use_responses_api=False).bind_tools([WEB, GetWeather])
    with pytest.raises(ConfigError) as info:
        call(llm, "Search the web for Lima", how)
    assert "run only on the Responses API" in str(info.value)
    assert info.value.setting == "use_responses_api"
    assert "use_responses_api=True" in (info.value.fix or "")
    assert emu.requests == []


def test_a_tool_type_azure_does_not_run_is_refused(emu: Emulator) -> None:
    emu.clear_requests()
    with pytest.raises(ConfigError, match="'local_shell' is not a built-in tool"):
        model(emu).bind_tools([{"type": "local_shell"}]).invoke("hi")
    assert emu.requests == []
