"""Built-in Responses tools through LlamaIndex (issue 16, "refused by both adapters"):
llama-index's ``OpenAIResponses(built_in_tools=[...])`` form on the Responses API, their items in
``additional_kwargs["built_in_tool_calls"]`` and the citations in ``additional_kwargs
["annotations"]`` as llama-index shows them, a generated image as an ``ImageBlock``, all sent
back with the next turn; refused on Chat Completions before sending. Against the emulator, sync
and async, streamed and not."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from li_helpers import ISOLATED
from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    ImageBlock,
    MessageRole,
    TextBlock,
)
from llama_index.core.tools import FunctionTool

from azoai import ConfigError
from azoai_emulator import DEFAULT_DEPLOYMENTS, Emulator, EmulatorDeployment
from llamaindex_azoai import AzureOpenAI

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


def get_weather(city: str) -> str:
    """Get the current weather in a city."""
    return f"Sunny in {city}"


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator([*DEFAULT_DEPLOYMENTS, EmulatorDeployment("image", model="gpt-image-1")]) as e:
        yield e


def llm(emu: Emulator, *tools: dict[str, Any], **kw: Any) -> AzureOpenAI:
    kw.setdefault("use_responses_api", True)
    return AzureOpenAI(
        engine="chat",
        model="gpt-4o",
        azure_endpoint=emu.endpoint,
        api_key=emu.api_key,
        built_in_tools=list(tools),
        default_headers={"x-ms-oai-image-generation-deployment": "image"},
        include=["code_interpreter_call.outputs", "file_search_call.results"],
        **kw,
        **ISOLATED,
    )


def user(text: str) -> ChatMessage:
    return ChatMessage(role=MessageRole.USER, content=text)


async def _alast(model: AzureOpenAI, messages: list[ChatMessage], **kw: Any) -> ChatResponse:
    last = None
    async for r in await model.astream_chat(messages, **kw):
        last = r
    assert last is not None
    return last


def chat(model: AzureOpenAI, messages: list[ChatMessage], how: str, **kw: Any) -> ChatResponse:
    if how == "chat":
        return model.chat(messages, **kw)
    if how == "achat":
        return asyncio.run(model.achat(messages, **kw))
    if how == "stream_chat":
        return list(model.stream_chat(messages, **kw))[-1]
    return asyncio.run(_alast(model, messages, **kw))


HOW = ["chat", "achat", "stream_chat", "astream_chat"]


def sent(emu: Emulator) -> dict[str, Any]:
    body = emu.requests[-1].body
    assert isinstance(body, dict)
    return body


def items(r: ChatResponse) -> list[dict[str, Any]]:
    found = r.additional_kwargs["built_in_tool_calls"]
    assert found == r.message.additional_kwargs["built_in_tool_calls"]  # kept for the next turn
    return list(found)


# --- each tool, as a LlamaIndex user sees it -------------------------------------------------


@pytest.mark.parametrize("how", HOW)
def test_web_search_calls_and_url_citations(emu: Emulator, how: str) -> None:
    r = chat(llm(emu, WEB), [user("Search the web for Lima weather")], how)
    (item,) = items(r)
    assert item["type"] == "web_search_call" and item["action"]["query"] == "Lima weather"
    (note,) = r.additional_kwargs["annotations"]
    assert note["type"] == "url_citation" and note["title"] == "Example Domain"
    text = r.message.content or ""
    assert text[note["start_index"] : note["end_index"]] == "Example Domain"
    assert [type(b) for b in r.message.blocks] == [TextBlock]


@pytest.mark.parametrize("how", HOW)
def test_code_interpreter_code_and_logs(emu: Emulator, how: str) -> None:
    r = chat(llm(emu, CODE), [user("Run python to compute 12 * 12")], how)
    (item,) = items(r)
    assert item["type"] == "code_interpreter_call" and item["code"] == "print(12 * 12)"
    assert item["outputs"] == [{"type": "logs", "logs": "144\n"}]
    assert r.message.content == "144"


@pytest.mark.parametrize("how", HOW)
def test_file_search_results_and_file_citations(emu: Emulator, how: str) -> None:
    r = chat(llm(emu, FILES), [user("Search my files for the travel policy")], how)
    (item,) = items(r)
    (hit,) = item["results"]
    assert item["type"] == "file_search_call" and hit["text"] in (r.message.content or "")
    (note,) = r.additional_kwargs["annotations"]
    assert note["type"] == "file_citation" and note["file_id"] == hit["file_id"]


@pytest.mark.parametrize("how", HOW)
def test_image_generation_as_an_image_block(emu: Emulator, how: str) -> None:
    r = chat(llm(emu, IMAGE), [user("Draw a picture of a llama")], how)
    (item,) = items(r)
    assert item["type"] == "image_generation_call"
    image, text = r.message.blocks
    assert isinstance(image, ImageBlock) and isinstance(text, TextBlock)
    assert image.resolve_image(as_base64=False).read().startswith(b"\x89PNG")
    assert image.image_mimetype == "image/png"


@pytest.mark.parametrize("how", HOW)
def test_remote_mcp_list_and_call(emu: Emulator, how: str) -> None:
    r = chat(llm(emu, MCP), [user("Ask the wiki about Lima")], how)
    listed, called = items(r)
    assert listed["type"] == "mcp_list_tools" and listed["server_label"] == "wiki"
    assert called["type"] == "mcp_call" and called["output"] == r.message.content


def test_built_in_tools_may_come_per_call_too(emu: Emulator) -> None:
    r = llm(emu).chat([user("Search the web for Lima weather")], tools=[WEB])
    assert [i["type"] for i in items(r)] == ["web_search_call"]
    assert sent(emu)["tools"] == [WEB]


# --- with function tools, over several turns -------------------------------------------------


@pytest.mark.parametrize("how", ["chat", "stream_chat"])
def test_an_agent_conversation_with_both_kinds_of_tools_is_sent_back(
    emu: Emulator, how: str
) -> None:
    model = llm(emu, WEB, IMAGE)
    weather = FunctionTool.from_defaults(get_weather)
    history = [user("Search the web for Lima news")]
    searched = chat(model, history, how)
    history += [searched.message, user("What is the weather in Lima?")]
    asked = model.chat_with_tools([weather], chat_history=history)
    (selection,) = model.get_tool_calls_from_response(asked)
    assert selection.tool_name == "get_weather" and selection.tool_kwargs == {"city": "Lima"}
    assert [t["type"] for t in sent(emu)["tools"]] == ["function", "web_search", "image_generation"]
    history += [
        asked.message,
        ChatMessage(
            role=MessageRole.TOOL,
            content=get_weather("Lima"),
            additional_kwargs={"tool_call_id": selection.tool_id},
        ),
    ]
    answered = chat(model, history, how)
    assert answered.message.content == "Sunny in Lima"
    sent_items = sent(emu)["input"]
    assert [i.get("type") for i in sent_items] == [
        "message",
        "web_search_call",
        "message",
        "message",
        "function_call",
        "function_call_output",
    ]
    assert sent_items[1] == items(searched)[0]
    assert sent_items[2]["content"][0]["annotations"] == searched.additional_kwargs["annotations"]
    history += [answered.message, user("Draw a picture of a llama")]
    drawn = chat(model, history, how)
    history += [drawn.message, user("Say 'thanks'")]
    assert chat(model, history, how).message.content == "thanks"
    # the image goes back by reference (stored), not as an input image of the assistant
    image_id = items(drawn)[0]["id"]
    assert {"type": "item_reference", "id": image_id} in sent(emu)["input"]
    assert all(
        p.get("type") != "input_image"
        for i in sent(emu)["input"]
        for p in (i.get("content") if isinstance(i.get("content"), list) else ())
    )


def test_stateless_turns_send_the_image_item_whole(emu: Emulator) -> None:
    model = llm(emu, IMAGE, store=False)
    drawn = model.chat([user("Draw a picture of a llama")])
    model.chat([user("Draw a picture of a llama"), drawn.message, user("Say 'thanks'")])
    (item,) = [i for i in sent(emu)["input"] if i.get("type") == "image_generation_call"]
    assert item == items(drawn)[0] and item["result"]


def test_an_mcp_approval_is_asked_and_answered(emu: Emulator) -> None:
    model = llm(emu, {**MCP, "require_approval": "always"})
    first = model.chat([user("Ask the wiki about Lima")])
    listed, request = items(first)
    assert request["type"] == "mcp_approval_request" and first.message.content == ""
    answer = ChatMessage(
        role=MessageRole.USER,
        content="",
        additional_kwargs={
            "built_in_tool_calls": [
                {
                    "type": "mcp_approval_response",
                    "approve": True,
                    "approval_request_id": request["id"],
                }
            ]
        },
    )
    done = model.chat([user("Ask the wiki about Lima"), first.message, answer])
    (called,) = items(done)
    assert called["type"] == "mcp_call" and called["approval_request_id"] == request["id"]
    assert listed["type"] == "mcp_list_tools"


def test_tool_choice_may_force_a_built_in_tool(emu: Emulator) -> None:
    r = llm(emu, WEB).chat([user("Hello there")], tool_choice={"type": "web_search"})
    assert sent(emu)["tool_choice"] == {"type": "web_search"}
    assert [i["type"] for i in items(r)] == ["web_search_call"]


# --- refused before sending --------------------------------------------------------------------


@pytest.mark.parametrize("how", HOW)
def test_chat_completions_refuses_built_in_tools_naming_the_fix(emu: Emulator, how: str) -> None:
    emu.clear_requests()
    with pytest.raises(ConfigError) as info:
        chat(llm(emu, WEB, use_responses_api=False), [user("Search the web for Lima")], how)
    assert "run only on the Responses API" in str(info.value)
    assert "use_responses_api=True" in (info.value.fix or "")
    assert emu.requests == []
