"""The emulator's built-in Responses tools (issue 16): the tools Azure's Responses API runs are
accepted and answered with deterministic output items (no network: no page is fetched, no code
runs, the MCP server is not contacted), streamed with their progress events, and sent back;
the ones Azure does not take are refused with its 400 shape. Driven with the openai SDK, whose
types check the items' shapes."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from openai import OpenAI

from azoai.wire import builtin_tools as core_tools
from azoai_emulator import DEFAULT_DEPLOYMENTS, Emulator, EmulatorDeployment
from azoai_emulator import builtin_tools as emu_tools

WEB = {"type": "web_search"}
CODE = {"type": "code_interpreter", "container": {"type": "auto"}}
FILES = {"type": "file_search", "vector_store_ids": ["vs_a", "vs_b"]}
IMAGE = {"type": "image_generation"}
MCP = {"type": "mcp", "server_label": "wiki", "server_url": "https://mcp.invalid/mcp"}
IMAGE_HEADER = {"x-ms-oai-image-generation-deployment": "image"}


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    deployments = [
        *DEFAULT_DEPLOYMENTS,
        EmulatorDeployment("image", model="gpt-image-1"),
        EmulatorDeployment("image-off", model="gpt-image-1", state="Creating"),
    ]
    with Emulator(deployments) as e:
        yield e


@pytest.fixture
def sdk(emu: Emulator) -> OpenAI:
    return OpenAI(base_url=emu.v1_base_url, api_key=emu.api_key, max_retries=0)


def refusal(exc: pytest.ExceptionInfo[openai.BadRequestError]) -> dict[str, Any]:
    """The ``error`` object of Azure's 400 (the SDK keeps it as the error's body)."""
    body = exc.value.body
    assert isinstance(body, dict)
    return body


# --- each tool ---------------------------------------------------------------------------------


def test_web_search(sdk: OpenAI) -> None:
    r = sdk.responses.create(model="chat", input="Search the web for Lima weather", tools=[WEB])
    call, message = r.output
    assert call.type == "web_search_call" and call.status == "completed"
    assert call.action.type == "search" and call.action.query == "Lima weather"
    assert call.action.sources is None  # only with include (below)
    assert message.type == "message"
    (part,) = message.content
    assert part.type == "output_text"
    (note,) = part.annotations
    assert note.type == "url_citation" and note.url == "https://example.com/search?q=Lima+weather"
    assert part.text[note.start_index : note.end_index] == note.title == "Example Domain"
    assert r.tools[0].type == "web_search"
    shown = sdk.responses.create(
        model="chat",
        input="Search the web for Lima weather",
        tools=[{"type": "web_search_preview"}],
        include=["web_search_call.action.sources"],
    )
    assert shown.output[0].action.sources[0].url == note.url  # type: ignore[union-attr]


def test_file_search(sdk: OpenAI) -> None:
    plain = sdk.responses.create(
        model="chat", input="Check the documents about leave", tools=[FILES]
    )
    assert plain.output[0].type == "file_search_call" and plain.output[0].results is None
    r = sdk.responses.create(
        model="chat",
        input="Check the documents about leave",
        tools=[{**FILES, "max_num_results": 1}],
        include=["file_search_call.results"],
    )
    call, message = r.output
    assert call.type == "file_search_call" and call.queries == ["leave"]
    (hit,) = call.results or []
    assert hit.filename == "vs_a.md" and hit.text == "Notes in vs_a about leave."
    (note,) = message.content[0].annotations  # type: ignore[union-attr]
    assert note.type == "file_citation" and note.file_id == hit.file_id
    assert note.index == len(hit.text)  # the end of the cited passage in the answer


def test_code_interpreter(sdk: OpenAI) -> None:
    r = sdk.responses.create(
        model="chat",
        input="Run code to calculate 3 * (4 + 5)",
        tools=[{"type": "code_interpreter", "container": "cntr_mine"}],
        include=["code_interpreter_call.outputs"],
    )
    call, message = r.output
    assert call.type == "code_interpreter_call" and call.container_id == "cntr_mine"
    assert call.code == "print(3 * (4 + 5))" and call.outputs[0].logs == "27\n"  # type: ignore[index,union-attr]
    assert message.content[0].text == "27"  # type: ignore[union-attr]
    words = sdk.responses.create(model="chat", input="Run code on this sentence", tools=[CODE])
    assert words.output[0].outputs is None  # type: ignore[union-attr]
    assert words.output[1].content[0].text == "5"  # type: ignore[union-attr]


def test_image_generation(sdk: OpenAI) -> None:
    r = sdk.responses.create(
        model="chat",
        input="Draw a picture of a llama",
        tools=[{**IMAGE, "size": "1024x1536"}],
        extra_headers=IMAGE_HEADER,
    )
    call, _ = r.output
    assert call.type == "image_generation_call" and call.status == "completed"
    png = base64.b64decode(call.result or "")
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and png[12:16] == b"IHDR"
    again = sdk.responses.create(
        model="chat", input="Draw a picture of a llama", tools=[IMAGE], extra_headers=IMAGE_HEADER
    )
    assert again.output[0].result == call.result  # the same prompt draws the same image


def test_mcp_without_the_network(sdk: OpenAI) -> None:
    # mcp.invalid cannot resolve: an answer proves the server was not contacted
    tool = {**MCP, "require_approval": "never", "allowed_tools": ["search", "fetch"]}
    r = sdk.responses.create(model="chat", input="Use mcp fetch for Lima", tools=[tool])
    listed, called, message = r.output
    assert listed.type == "mcp_list_tools" and [t.name for t in listed.tools] == ["search", "fetch"]
    assert "not contacted" in (listed.tools[0].description or "")
    assert called.type == "mcp_call" and called.name == "fetch" and called.error is None
    assert json.loads(called.arguments) == {"text": "Use mcp fetch for Lima"}
    assert called.output == message.content[0].text  # type: ignore[union-attr]
    # continued: the tools are not listed again
    more = sdk.responses.create(
        model="chat", input="Use mcp search for Quito", tools=[tool], previous_response_id=r.id
    )
    assert [o.type for o in more.output] == ["mcp_call", "message"]


def test_mcp_approval_asked_then_answered(sdk: OpenAI) -> None:
    r = sdk.responses.create(model="chat", input="Ask the wiki about Lima", tools=[MCP])
    assert [o.type for o in r.output] == ["mcp_list_tools", "mcp_approval_request"]
    request = r.output[1]
    no = sdk.responses.create(
        model="chat",
        previous_response_id=r.id,
        tools=[MCP],
        input=[
            {"type": "mcp_approval_response", "approval_request_id": request.id, "approve": False}
        ],
    )
    assert [o.type for o in no.output] == ["message"]
    assert "not approved" in no.output[0].content[0].text  # type: ignore[union-attr]
    # stateless: the conversation sent back item by item
    replay = [
        {"role": "user", "content": "Ask the wiki about Lima"},
        *(o.model_dump(exclude_none=True) for o in r.output),
        {"type": "mcp_approval_response", "approval_request_id": request.id, "approve": True},
    ]
    yes = sdk.responses.create(model="chat", input=replay, tools=[MCP], store=False)
    called, message = yes.output
    assert called.type == "mcp_call" and called.approval_request_id == request.id
    assert called.output == message.content[0].text == "Ask the wiki about Lima"  # type: ignore[union-attr]


def test_nothing_runs_unasked_and_a_forced_tool_runs(sdk: OpenAI) -> None:
    plain = sdk.responses.create(model="chat", input="Say 'hi'", tools=[WEB, CODE])
    assert [o.type for o in plain.output] == ["message"]
    none = sdk.responses.create(
        model="chat", input="Search the web", tools=[WEB], tool_choice="none"
    )
    assert [o.type for o in none.output] == ["message"]
    forced = sdk.responses.create(
        model="chat", input="Say 'hi'", tools=[WEB, CODE], tool_choice={"type": "code_interpreter"}
    )
    assert [o.type for o in forced.output] == ["code_interpreter_call", "message"]


# --- streams ---------------------------------------------------------------------------------


def test_streamed_items_with_their_progress_events(sdk: OpenAI) -> None:
    with sdk.responses.stream(
        model="chat",
        input="Search the web and run code to compute 6 * 7",
        tools=[WEB, CODE, {**MCP, "require_approval": "never"}, IMAGE],
        include=["code_interpreter_call.outputs"],
        extra_headers=IMAGE_HEADER,
    ) as stream:
        events = [e.type for e in stream]
        final = stream.get_final_response()
    assert [o.type for o in final.output] == ["web_search_call", "code_interpreter_call", "message"]
    web = events[events.index("response.output_item.added") :]
    assert web[:5] == [
        "response.output_item.added",
        "response.web_search_call.in_progress",
        "response.web_search_call.searching",
        "response.web_search_call.completed",
        "response.output_item.done",
    ]
    for kind in (
        "response.code_interpreter_call.interpreting",
        "response.code_interpreter_call_code.delta",
        "response.code_interpreter_call_code.done",
        "response.code_interpreter_call.completed",
        "response.output_text.annotation.added",
    ):
        assert kind in events
    assert events.index("response.output_text.annotation.added") < events.index(
        "response.output_text.done"
    )
    assert final.output[1].outputs[0].logs == "42\n"  # type: ignore[union-attr,index]


def test_streamed_mcp_and_image_events(emu: Emulator, sdk: OpenAI) -> None:
    with sdk.responses.stream(
        model="chat",
        input="Draw a picture for the wiki mcp",
        tools=[{**IMAGE, "partial_images": 2}, {**MCP, "require_approval": "never"}],
        extra_headers=IMAGE_HEADER,
    ) as stream:
        events = list(stream)
    kinds = [e.type for e in events]
    partial = [e for e in events if e.type == "response.image_generation_call.partial_image"]
    assert [e.partial_image_index for e in partial] == [0, 1]  # type: ignore[union-attr]
    assert "response.image_generation_call.generating" in kinds
    assert "response.mcp_list_tools.completed" in kinds
    assert kinds.count("response.mcp_call_arguments.done") == 1
    added = next(
        e
        for e in events
        if e.type == "response.output_item.added" and e.item.type == "mcp_call"  # type: ignore[union-attr]
    )
    assert added.item.output is None and added.item.status == "in_progress"  # type: ignore[union-attr]


# --- sent back -------------------------------------------------------------------------------


def test_items_sent_back_whole_or_by_reference(sdk: OpenAI) -> None:
    drawn = sdk.responses.create(
        model="chat", input="Draw a picture of a llama", tools=[IMAGE], extra_headers=IMAGE_HEADER
    )
    image = drawn.output[0]
    history: list[Any] = [
        {"role": "user", "content": "Draw a picture of a llama"},
        {"type": "item_reference", "id": image.id},
        {"role": "user", "content": "Say 'ok'"},
    ]
    assert sdk.responses.create(model="chat", input=history).output_text == "ok"
    whole = [*history[:1], image.model_dump(exclude_none=True), *history[2:]]
    assert sdk.responses.create(model="chat", input=whole, store=False).output_text == "ok"
    with pytest.raises(openai.BadRequestError) as stateless:
        sdk.responses.create(model="chat", input=history, store=False)
    assert "Items are not persisted when `store` is set to false" in str(stateless.value)
    with pytest.raises(openai.BadRequestError) as unknown:
        sdk.responses.create(
            model="chat", input=[{"type": "item_reference", "id": "ig_nothing"}, *history[2:]]
        )
    assert refusal(unknown)["message"] == "Item with id 'ig_nothing' not found."


# --- refusals --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tools", "param", "code", "words"),
    [
        (
            [{"type": "local_shell"}],
            "tools[0].type",
            "invalid_value",
            "Invalid value: 'local_shell'",
        ),
        ([WEB, {"type": "shell"}], "tools[1].type", "invalid_value", "'web_search_preview'"),
        ([{"type": "code_interpreter"}], "tools[0].container", "missing_required_parameter", ""),
        ([{"type": "file_search"}], "tools[0].vector_store_ids", "missing_required_parameter", ""),
        (
            [{"type": "mcp", "server_label": "x"}],
            "tools[0].server_url",
            "missing_required_parameter",
            "",
        ),
        (
            [
                {
                    "type": "computer_use_preview",
                    "display_width": 1,
                    "display_height": 1,
                    "environment": "browser",
                }
            ],
            "tools",
            None,
            "Hosted tool 'computer_use_preview' is not supported with gpt-4o.",
        ),
    ],
)
def test_what_azure_refuses(
    sdk: OpenAI, tools: list[dict[str, Any]], param: str, code: str | None, words: str
) -> None:
    with pytest.raises(openai.BadRequestError) as exc:
        sdk.responses.create(model="chat", input="hi", tools=tools)  # type: ignore[arg-type]
    error = refusal(exc)
    assert error["type"] == "invalid_request_error" and error["param"] == param
    assert error["code"] == code and words in error["message"]


@pytest.mark.parametrize(
    ("headers", "words"),
    [
        ({}, "needs the 'x-ms-oai-image-generation-deployment' header"),
        ({"x-ms-oai-image-generation-deployment": "nope"}, "is not an image generation deployment"),
        ({"x-ms-oai-image-generation-deployment": "chat"}, "is not an image generation deployment"),
        ({"x-ms-oai-image-generation-deployment": "image-off"}, "is not an image generation"),
    ],
)
def test_image_generation_needs_an_image_deployment(
    sdk: OpenAI, headers: dict[str, str], words: str
) -> None:
    with pytest.raises(openai.BadRequestError, match=words):
        sdk.responses.create(
            model="chat", input="Draw a llama", tools=[IMAGE], extra_headers=headers
        )


def test_a_forced_tool_must_be_bound_and_approvals_must_match(sdk: OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as exc:
        sdk.responses.create(
            model="chat", input="hi", tools=[CODE], tool_choice={"type": "web_search"}
        )
    assert refusal(exc)["message"] == "Tool choice 'web_search' not found in 'tools' parameter."
    with pytest.raises(openai.BadRequestError, match="No MCP approval request found"):
        sdk.responses.create(
            model="chat",
            tools=[MCP],
            input=[
                {"type": "mcp_approval_response", "approval_request_id": "mcpr_x", "approve": True}
            ],
        )


def test_chat_completions_takes_no_built_in_tools(emu: Emulator) -> None:
    with httpx.Client(base_url=emu.endpoint, headers={"api-key": emu.api_key}) as http:
        r = http.post(
            "/openai/v1/chat/completions",
            json={"model": "chat", "messages": [{"role": "user", "content": "hi"}], "tools": [WEB]},
        )
    assert r.status_code == 400 and r.json()["error"]["param"] == "tools[0].type"


def test_the_emulator_and_the_product_agree_on_the_tools() -> None:
    # written separately (the emulator imports nothing from azoai): the product sends every tool
    # the emulator takes, but computer use, which it refuses before sending
    assert set(emu_tools.SUPPORTED) - {"computer_use_preview"} == set(
        core_tools.AZURE_BUILTIN_TOOLS
    )
    assert emu_tools.SUPPORTED["mcp"] == core_tools.AZURE_BUILTIN_TOOLS["mcp"]
    for kind, required in core_tools.AZURE_BUILTIN_TOOLS.items():
        assert emu_tools.SUPPORTED[kind] == required
    assert set(core_tools.OUTPUT_ITEMS) == set(emu_tools.OUTPUT_ITEMS) - {"computer_call"}
    assert core_tools.IMAGE_DEPLOYMENT_HEADER == emu_tools.IMAGE_DEPLOYMENT_HEADER
