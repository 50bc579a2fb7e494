"""Built-in Responses tools in the core (issue 16): the checks before sending, the request body,
their output items read into the neutral model (streamed and not, sync and async) and sent back
with the next turn, against the emulator over loopback."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Iterator
from typing import Any

import pytest

from azoai import errors as E
from azoai.client import Client
from azoai.config.catalog import lookup_model
from azoai.config.versions import parse_api_version
from azoai.wire import (
    BuiltinToolCall,
    ChatRequest,
    ChatResult,
    Message,
    StreamAccumulator,
    ToolSpec,
    builtin_tools,
    responses,
)
from azoai_emulator import DEFAULT_DEPLOYMENTS, Emulator, EmulatorDeployment

WEB = {"type": "web_search"}
CODE = {"type": "code_interpreter", "container": {"type": "auto"}}
FILES = {"type": "file_search", "vector_store_ids": ["vs_handbook"]}
IMAGE = {"type": "image_generation"}
MCP = {
    "type": "mcp",
    "server_label": "wiki",
    # never contacted: the emulator makes the server's answers up (a reserved, unresolvable name)
    "server_url": "https://mcp.invalid/mcp",
    "require_approval": "never",
}
IMAGE_HEADER = {"x-ms-oai-image-generation-deployment": "image"}
WEATHER = ToolSpec(
    "get_weather",
    "Current weather for a city",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator([*DEFAULT_DEPLOYMENTS, EmulatorDeployment("image", model="gpt-image-1")]) as e:
        yield e


@pytest.fixture(autouse=True)
def _reset(emu: Emulator) -> None:
    emu.reset()


def client(emu: Emulator, **kw: Any) -> Client:
    kw.setdefault("api", "responses")
    return Client(
        endpoint=emu.endpoint,
        api_key=emu.api_key,
        deployment="chat",
        model="gpt-4o",
        env={},
        config_file="",
        default_headers=IMAGE_HEADER,
        **kw,
    )


def ask(text: str, *tools: dict[str, Any], **kw: Any) -> ChatRequest:
    return ChatRequest(messages=[Message("user", text)], builtin_tools=list(tools), **kw)


def streamed(c: Client, request: ChatRequest) -> ChatResult:
    acc = StreamAccumulator()
    for _ in c.stream(request, into=acc):
        pass
    return acc.result()


async def astreamed(c: Client, request: ChatRequest) -> ChatResult:
    acc = StreamAccumulator()
    async for _ in c.astream(request, into=acc):
        pass
    return acc.result()


def run(c: Client, request: ChatRequest, how: str) -> ChatResult:
    if how == "invoke":
        return c.chat(request)
    if how == "stream":
        return streamed(c, request)
    if how == "ainvoke":
        return asyncio.run(c.achat(request))
    return asyncio.run(astreamed(c, request))


HOW = ["invoke", "stream", "ainvoke", "astream"]


def sent(emu: Emulator) -> dict[str, Any]:
    body = emu.requests[-1].body
    assert isinstance(body, dict)
    return body


# --- each tool, each way of calling ----------------------------------------------------------


@pytest.mark.parametrize("how", HOW)
def test_web_search_call_and_url_citation(emu: Emulator, how: str) -> None:
    r = run(client(emu), ask("Search the web for Lima weather", WEB), how)
    (call,) = r.message.builtin_calls
    assert (call.tool, call.args, call.status) == (
        "web_search",
        {"type": "search", "query": "Lima weather"},
        "success",
    )
    assert call.id.startswith("ws_") and call.item["type"] == "web_search_call"
    (cite,) = r.message.annotations
    assert cite["type"] == "url_citation" and cite["url"].startswith("https://example.com/")
    assert r.text[cite["start_index"] : cite["end_index"]] == cite["title"] == "Example Domain"
    assert sent(emu)["tools"] == [WEB]


@pytest.mark.parametrize("how", HOW)
def test_code_interpreter_call_with_code_and_logs(emu: Emulator, how: str) -> None:
    request = ask("Run python to compute 12 * 12", CODE, include=["code_interpreter_call.outputs"])
    r = run(client(emu), request, how)
    (call,) = r.message.builtin_calls
    assert call.tool == "code_interpreter" and call.args == {"code": "print(12 * 12)"}
    assert call.output == [{"type": "logs", "logs": "144\n"}]
    assert call.extras["container_id"].startswith("cntr_")
    assert r.text == "144"


@pytest.mark.parametrize("how", HOW)
def test_file_search_call_with_results_and_file_citation(emu: Emulator, how: str) -> None:
    request = ask(
        "Search my files for the travel policy", FILES, include=["file_search_call.results"]
    )
    r = run(client(emu), request, how)
    (call,) = r.message.builtin_calls
    assert call.tool == "file_search" and call.args == {"queries": ["the travel policy"]}
    (hit,) = call.output
    assert hit["filename"] == "vs_handbook.md" and hit["text"] in r.text
    (cite,) = r.message.annotations
    assert cite["type"] == "file_citation" and cite["file_id"] == hit["file_id"]


@pytest.mark.parametrize("how", HOW)
def test_image_generation_call_with_the_image(emu: Emulator, how: str) -> None:
    r = run(client(emu), ask("Draw a picture of a llama", IMAGE), how)
    (call,) = r.message.builtin_calls
    assert call.tool == "image_generation" and call.image is not None
    assert call.image.mime_type == "image/png" and call.image.data is not None
    assert call.image.data.startswith(b"\x89PNG\r\n\x1a\n")
    assert base64.b64decode(call.item["result"]) == call.image.data
    assert emu.requests[-1].headers["x-ms-oai-image-generation-deployment"] == "image"


@pytest.mark.parametrize("how", HOW)
def test_mcp_list_tools_and_call(emu: Emulator, how: str) -> None:
    r = run(client(emu), ask("Ask the wiki about Lima", MCP), how)
    listed, called = r.message.builtin_calls
    assert listed.tool == "mcp_list_tools" and listed.extras["server_label"] == "wiki"
    assert [t["name"] for t in listed.output] == ["echo"]
    assert called.tool == "mcp" and called.status == "success"
    assert called.extras == {"server_label": "wiki", "tool_name": "echo"}
    assert called.args == {"text": "Ask the wiki about Lima"} and called.output == r.text


def test_mixed_with_function_tools(emu: Emulator) -> None:
    c = client(emu)
    r = c.chat(ask("What is the weather in Lima?", WEB, tools=[WEATHER]))
    assert [t.name for t in r.tool_calls] == ["get_weather"] and not r.message.builtin_calls
    assert [t["type"] for t in sent(emu)["tools"]] == ["function", "web_search"]


# --- what goes out ---------------------------------------------------------------------------


def test_tool_choice_names_a_built_in_tool(emu: Emulator) -> None:
    c = client(emu)
    r = c.chat(ask("Hello there", WEB, tool_choice="web_search"))
    assert sent(emu)["tool_choice"] == {"type": "web_search"}
    assert [x.tool for x in r.message.builtin_calls] == ["web_search"]  # forced, not asked for
    c.chat(ask("Hello there", MCP, tool_choice="mcp"))
    assert sent(emu)["tool_choice"] == {"type": "mcp", "server_label": "wiki"}


@pytest.mark.parametrize(
    ("tool", "words", "setting_fix"),
    [
        ({"type": "local_shell"}, "not a built-in tool of Azure's Responses API", "web_search"),
        ({"type": "computer_use_preview"}, "not supported by azoai", "function tools"),
        ({"type": "code_interpreter"}, "needs 'container'", '"container": {"type": "auto"}'),
        ({"type": "file_search"}, "needs 'vector_store_ids'", "vector_store_ids"),
        ({"type": "mcp", "server_url": "https://x"}, "needs 'server_label'", "server_label"),
        ({"type": "mcp", "server_label": "x"}, "'server_url' or 'connector_id'", "server_url"),
    ],
)
def test_what_azure_would_refuse_is_refused_before_sending(
    emu: Emulator, tool: dict[str, Any], words: str, setting_fix: str
) -> None:
    with pytest.raises(E.ConfigError) as info:
        client(emu).chat(ask("Hello", tool))
    assert words in str(info.value) and setting_fix in (info.value.fix or "")
    assert info.value.setting == "tools"
    assert emu.requests == []


@pytest.mark.parametrize("how", HOW)
def test_chat_completions_refuses_them_before_sending_naming_the_fix(
    emu: Emulator, how: str
) -> None:
    with pytest.raises(E.ConfigError) as info:
        run(client(emu, api="chat"), ask("Search the web for Lima", WEB, CODE), how)
    err = info.value
    assert "code_interpreter, web_search" in err.message and "Chat Completions" in err.message
    assert err.setting == "use_responses_api" and "use_responses_api=True" in (err.fix or "")
    assert emu.requests == []


# --- a conversation sent back ----------------------------------------------------------------


def test_a_conversation_with_tool_items_is_sent_back_and_accepted(emu: Emulator) -> None:
    c = client(emu)
    first = c.chat(ask("Search the web for Lima weather", WEB, IMAGE))
    drawn = c.chat(ask("Draw a picture of a llama", WEB, IMAGE))
    history = [
        Message("user", "Search the web for Lima weather"),
        first.message,
        Message("user", "Draw a picture of a llama"),
        drawn.message,
        Message("user", "Say 'thanks'"),
    ]
    r = c.chat(ChatRequest(messages=history, builtin_tools=[WEB, IMAGE]))
    assert r.text == "thanks"
    items = sent(emu)["input"]
    assert [i.get("type") for i in items] == [
        "message",
        "web_search_call",
        "message",
        "message",
        "item_reference",  # a stored image goes back by reference, its bytes not sent again
        "message",
        "message",
    ]
    assert items[1] == first.message.builtin_calls[0].item
    assert items[2]["content"][0]["annotations"] == first.message.annotations
    assert items[4] == {"type": "item_reference", "id": drawn.message.builtin_calls[0].id}


def test_stateless_conversations_send_the_items_whole(emu: Emulator) -> None:
    c = client(emu)
    drawn = c.chat(ask("Draw a picture of a llama", IMAGE, store=False))
    history = [Message("user", "Draw a picture of a llama"), drawn.message, Message("user", "Hi")]
    c.chat(ChatRequest(messages=history, builtin_tools=[IMAGE], store=False))
    (item,) = [i for i in sent(emu)["input"] if i.get("type") == "image_generation_call"]
    assert item == drawn.message.builtin_calls[0].item and item["result"]


def test_an_mcp_approval_round_trip(emu: Emulator) -> None:
    c = client(emu)
    guarded = {**MCP, "require_approval": "always"}
    r = c.chat(ask("Ask the wiki about Lima", guarded))
    listed, pending = r.message.builtin_calls
    assert listed.tool == "mcp_list_tools"
    assert pending.tool == "mcp_approval_request" and pending.status == "pending"
    assert r.text == "" and r.finish_reason == "stop"
    answer = BuiltinToolCall(
        id="",
        tool="mcp_approval_response",
        item={"type": "mcp_approval_response", "approval_request_id": pending.id, "approve": True},
    )
    history = [
        Message("user", "Ask the wiki about Lima"),
        r.message,
        Message("user", None, builtin_calls=[answer]),
    ]
    done = c.chat(ChatRequest(messages=history, builtin_tools=[guarded]))
    (called,) = done.message.builtin_calls  # the tools were listed already
    assert called.tool == "mcp" and called.extras["approval_request_id"] == pending.id
    assert done.text == "Ask the wiki about Lima"
    assert sent(emu)["input"][-1] == answer.item


# --- the wire pieces -------------------------------------------------------------------------


def test_progress_events_carry_nothing_and_items_come_whole() -> None:
    assert responses.parse_event({"type": "response.web_search_call.searching"}) is None
    assert responses.parse_event({"type": "response.code_interpreter_call_code.delta"}) is None
    item = {"id": "ws_1", "type": "web_search_call", "status": "completed", "action": {}}
    delta = responses.parse_event({"type": "response.output_item.done", "item": item})
    assert delta is not None and [c.item for c in delta.builtin_calls] == [item]
    note = {"type": "url_citation", "url": "https://x", "start_index": 0, "end_index": 1}
    delta = responses.parse_event(
        {"type": "response.output_text.annotation.added", "annotation": note}
    )
    assert delta is not None and delta.annotations == [note]


def test_items_kept_by_other_clients_are_read_too() -> None:
    from openai.types.responses import ResponseFunctionWebSearch

    sdk = ResponseFunctionWebSearch.model_validate(
        {
            "id": "ws_1",
            "type": "web_search_call",
            "status": "failed",
            "action": {"type": "search", "query": "q"},
        }
    )
    call = builtin_tools.read_item(sdk)
    assert call is not None and call.status == "error" and call.args["query"] == "q"
    assert builtin_tools.read_item({"type": "message"}) is None
    # an adapter's stream index is not sent back
    kept = builtin_tools.read_item({**sdk.model_dump(exclude_none=True), "index": 3})
    assert kept is not None and "index" not in builtin_tools.replay_item(kept)


def test_the_body_puts_built_in_tools_beside_function_tools() -> None:
    body, _ = responses.build_body(
        ChatRequest(messages=[Message("user", "x")], tools=[WEATHER], builtin_tools=[WEB]),
        deployment="d",
        model=lookup_model("gpt-4o"),
        version=parse_api_version("v1"),
    )
    assert [t["type"] for t in body["tools"]] == ["function", "web_search"]
    assert builtin_tools.is_builtin_tool(WEB) and not builtin_tools.is_builtin_tool(
        {"type": "function", "function": {}}
    )
