"""The Responses API's built-in (hosted) tools, played deterministically.

Azure's Responses API runs these tools server-side within one response: ``code_interpreter``,
``file_search``, ``web_search`` (and ``web_search_preview``, the older name, "supported but not
recommended"), ``image_generation`` (drawing with the image deployment named in the
``x-ms-oai-image-generation-deployment`` header, which Azure's docs say is required), ``mcp``
(remote MCP servers) and ``computer_use_preview`` (with the computer-use-preview model only:
"Hosted tool 'computer_use_preview' is not supported with <model>.", Azure-Samples/computer-use#8).
Any other tool type is refused with the 400 of an invalid ``tools[i].type``; a tool without a
key it requires (``container``, ``vector_store_ids``, ``server_label``, ``server_url``) with
``missing_required_parameter``.

**Nothing leaves the machine**: no web page is fetched, no vector store, container or code runs,
and **the MCP server is not contacted** (its tool list and answers are made up here). Every
result is made from the request, the same for the same request:

* **When a tool runs.** Never under ``tool_choice: "none"``; a forced ``{"type": ...}`` runs that
  tool. Otherwise a tool runs when the conversation ends with the user's message and the message
  asks for it: ``web``/``internet``/``online``/``news`` (or ``search`` without ``file``) for web
  search; ``file``/``document``/``vector store`` for file search; ``code``/``python``/``run``/
  ``calculate`` for the code interpreter; ``image``/``picture``/``draw`` for image generation;
  the server's label, ``mcp`` or one of its tools' names for an MCP server. Under ``required``,
  when nothing matched and no function tool is bound, the first built-in tool runs.
* **Web search**: a ``web_search_call`` (``action.query``; ``action.sources`` with ``include``
  ``web_search_call.action.sources``) and an answer citing ``Example Domain`` with a
  ``url_citation`` (``https://example.com/search?q=<query>``).
* **File search**: a ``file_search_call`` (``queries``; ``results``, one passage per vector store,
  with ``include`` ``file_search_call.results``) and an answer quoting the passage with a
  ``file_citation``.
* **Code interpreter**: a ``code_interpreter_call`` whose ``code`` prints the message's
  arithmetic (else its word count); ``outputs`` (the ``logs``) with ``include``
  ``code_interpreter_call.outputs``. The answer is what it printed.
* **Image generation**: an ``image_generation_call`` whose ``result`` is a base64 8x8 PNG in a
  colour taken from the prompt (``partial_images`` streams that many ``partial_image`` events).
* **MCP**: an ``mcp_list_tools`` item (unless the conversation already holds one for the
  server) listing the tool's ``allowed_tools`` (else one ``echo`` tool), then an ``mcp_call``
  whose output echoes the message, or, unless ``require_approval`` is ``"never"`` (Azure's
  default asks), an ``mcp_approval_request`` that ends the response. The next request's
  ``mcp_approval_response`` (``approve`` true) runs the call; false answers that it was not.

After the tools the model answers from their results (see :mod:`azoai_emulator.model`, rule 2).
A stream carries each tool's progress events (``response.web_search_call.searching``,
``response.code_interpreter_call_code.delta``...) between its ``output_item.added`` and
``output_item.done``, and ``response.output_text.annotation.added`` for each citation.

Items of earlier turns sent back are accepted as they came; an ``item_reference`` must name an
item of a stored response ("Item with id '…' not found."), and with ``store: false`` nothing is
looked up (the 400 of a bare reasoning id, see :mod:`azoai_emulator.stateless`).

Some refusals have no captured Azure body and use the same 400 shape with this module's words:
the image deployment header missing or naming no image deployment, and an approval response
naming no approval request.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import struct
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote_plus

from azoai_emulator import azure_errors, extract
from azoai_emulator.model import Conversation, Turn
from azoai_emulator.state import EmulatorState, StoredResponse
from azoai_emulator.tokens import stream_pieces

__all__ = [
    "IMAGE_DEPLOYMENT_HEADER",
    "INPUT_ITEMS",
    "OUTPUT_ITEMS",
    "SUPPORTED",
    "Run",
    "annotation_events",
    "check_references",
    "check_tool",
    "finish",
    "hosted",
    "item_events",
    "play",
    "run",
    "tool_choice",
]

#: The built-in tool types Azure's Responses API takes, and the keys each requires (a tuple of
#: alternatives per requirement).
SUPPORTED: Mapping[str, tuple[tuple[str, ...], ...]] = {
    "code_interpreter": (("container",),),
    "computer_use_preview": (("display_width",), ("display_height",), ("environment",)),
    "file_search": (("vector_store_ids",),),
    "image_generation": (),
    "mcp": (("server_label",), ("server_url", "connector_id")),
    "web_search": (),
    "web_search_preview": (),
}
#: The model that takes ``computer_use_preview``.
COMPUTER_USE_MODEL = "computer-use-preview"
#: Output items of the built-in tools (and the tool each comes from).
OUTPUT_ITEMS: Mapping[str, str] = {
    "web_search_call": "web_search",
    "file_search_call": "file_search",
    "code_interpreter_call": "code_interpreter",
    "image_generation_call": "image_generation",
    "mcp_list_tools": "mcp",
    "mcp_call": "mcp",
    "mcp_approval_request": "mcp",
    "computer_call": "computer_use_preview",
}
#: Input items a request may carry besides messages and function calls: the output items sent
#: back, and the answers to MCP approval requests and computer calls.
INPUT_ITEMS = frozenset({*OUTPUT_ITEMS, "mcp_approval_response", "computer_call_output"})
IMAGE_DEPLOYMENT_HEADER = "x-ms-oai-image-generation-deployment"

_WEB = re.compile(r"\b(?:web|internet|online|news|latest|bing)\b", re.I)
_SEARCH = re.compile(r"\bsearch", re.I)
_FILES = re.compile(r"\b(?:files?|documents?|docs|vector\s+stores?|knowledge\s+base)\b", re.I)
_CODE = re.compile(
    r"\b(?:code|python|program|script|run|execute|interpreter|calculate|compute)\b", re.I
)
_IMAGE = re.compile(r"\b(?:image|picture|drawing|draw|illustration|photo|logo|sketch)\b", re.I)
_MCP = re.compile(r"\bmcp\b", re.I)
_QUERY = re.compile(
    r"^.*?\b(?:search|look\s+up|find|check)\b(?:\s+(?:the\s+|my\s+|our\s+)?(?:web|internet|online|files?|"
    r"documents?|docs))?(?:\s+(?:for|about|on))?\s+",
    re.I | re.S,
)
_PREFIXES = {
    "web_search_call": "ws",
    "file_search_call": "fs",
    "code_interpreter_call": "ci",
    "image_generation_call": "ig",
    "mcp_list_tools": "mcpl",
    "mcp_call": "mcp",
    "mcp_approval_request": "mcpr",
}


def _id(kind: str) -> str:
    return f"{_PREFIXES[kind]}_{secrets.token_hex(24)}"


def _supported_values() -> str:
    names = sorted({"function", *SUPPORTED})
    return ", ".join(f"'{n}'" for n in names[:-1]) + f", and '{names[-1]}'"


# --- request checks --------------------------------------------------------------------------------


def check_tool(tool: Any, j: int, model: str) -> None:
    """Azure's 400 for a built-in tool it does not take (``tools[j]``)."""
    kind = tool.get("type") if isinstance(tool, Mapping) else tool
    required = SUPPORTED.get(kind) if isinstance(kind, str) else None
    if required is None:
        raise azure_errors.invalid_request(
            f"Invalid value: '{kind}'. Supported values are: {_supported_values()}.",
            param=f"tools[{j}].type",
            code="invalid_value",
        )
    assert isinstance(tool, Mapping)
    for alternatives in required:
        if all(tool.get(key) in (None, "", []) for key in alternatives):
            raise azure_errors.missing_parameter(f"tools[{j}].{alternatives[0]}")
    if kind == "computer_use_preview" and model != COMPUTER_USE_MODEL:
        raise azure_errors.invalid_request(
            f"Hosted tool 'computer_use_preview' is not supported with {model}.", param="tools"
        )
    if kind == "file_search" and not (
        isinstance(tool.get("vector_store_ids"), list)
        and all(isinstance(v, str) for v in tool["vector_store_ids"])
    ):
        raise azure_errors.invalid_request(
            f"Invalid type for 'tools[{j}].vector_store_ids': expected an array of strings.",
            param=f"tools[{j}].vector_store_ids",
            code="invalid_type",
        )


def hosted(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The built-in tools of a request (already checked, see :func:`check_tool`)."""
    raw = body.get("tools")
    if not isinstance(raw, list):
        return []
    return [dict(t) for t in raw if isinstance(t, Mapping) and t.get("type") != "function"]


def check_image_deployment(
    tools: Sequence[Mapping[str, Any]],
    headers: Mapping[str, str],
    deployment_model: Callable[[str], str | None],
) -> None:
    """The ``image_generation`` tool draws with the deployment the header names: it must name
    an image model deployment of the resource (no captured Azure body; see the module)."""
    if not any(t.get("type") == "image_generation" for t in tools):
        return
    name = headers.get(IMAGE_DEPLOYMENT_HEADER, "").strip()
    if not name:
        raise azure_errors.invalid_request(
            f"The image_generation tool needs the '{IMAGE_DEPLOYMENT_HEADER}' header naming "
            "an image generation deployment (for example gpt-image-1).",
            param="tools",
        )
    model = deployment_model(name)
    if model is None or not model.startswith("gpt-image"):
        raise azure_errors.invalid_request(
            f"The deployment '{name}' in the '{IMAGE_DEPLOYMENT_HEADER}' header is not an "
            "image generation deployment of this resource.",
            param="tools",
        )


def tool_choice(choice: Any, tools: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """A ``tool_choice`` forcing a built-in tool (``{"type": "web_search"}``, ``{"type":
    "mcp", "server_label": ...}``): the tool it forces, ``None`` when the choice is not one."""
    if not isinstance(choice, Mapping) or choice.get("type") not in SUPPORTED:
        return None
    kind = choice["type"]
    for tool in tools:
        if tool.get("type") == kind and (
            kind != "mcp" or choice.get("server_label") in (None, tool.get("server_label"))
        ):
            return tool
    raise azure_errors.invalid_request(
        f"Tool choice '{kind}' not found in 'tools' parameter.", param="tool_choice"
    )


# --- running ----------------------------------------------------------------------------------------


@dataclass(slots=True)
class Run:
    """What the built-in tools did: their output items, the results the model answers from
    (tool turns), the citations of the answer, and ``pending`` when an approval request ends the
    response before any answer."""

    items: list[dict[str, Any]] = field(default_factory=list)
    results: list[Turn] = field(default_factory=list)
    citations: list[Callable[[str], dict[str, Any] | None]] = field(default_factory=list)
    pending: bool = False


def _asks(tool: Mapping[str, Any], text: str) -> bool:
    kind = tool.get("type")
    if kind in ("web_search", "web_search_preview"):
        return bool(_WEB.search(text) or (_SEARCH.search(text) and not _FILES.search(text)))
    if kind == "file_search":
        return bool(_FILES.search(text))
    if kind == "code_interpreter":
        return bool(_CODE.search(text))
    if kind == "image_generation":
        return bool(_IMAGE.search(text))
    if kind == "mcp":
        names = [str(tool.get("server_label") or ""), *_mcp_tool_names(tool)]
        return bool(_MCP.search(text)) or any(
            n and re.search(rf"(?<!\w){re.escape(n)}(?!\w)", text, re.I) for n in names
        )
    return False


def _query(text: str) -> str:
    query = _QUERY.sub("", text.strip(), count=1) or text.strip()
    return query.strip().rstrip("?.!").strip() or text.strip()


def run(
    tools: Sequence[Mapping[str, Any]],
    *,
    forced: Mapping[str, Any] | None,
    choice: Any,
    turns: Sequence[Turn],
    body: Mapping[str, Any],
    earlier: Sequence[Mapping[str, Any]],
    functions_bound: bool,
) -> Run:
    """Run the built-in tools this turn uses. ``turns`` is the conversation, ``earlier`` the
    items of earlier turns (the previous response's input and output, then this request's
    input items), for MCP tool lists and approval requests."""
    out = Run()
    if not tools or choice == "none":
        return out
    raw_include = body.get("include")
    include: list[Any] = raw_include if isinstance(raw_include, list) else []
    raw_input = body.get("input") if isinstance(body.get("input"), list) else []
    last = raw_input[-1] if raw_input else None
    if isinstance(last, Mapping) and last.get("type") == "mcp_approval_response":
        _answer_approval(out, last, tools, earlier)
        return out
    if not turns or turns[-1].role != "user":
        return out
    text = turns[-1].text
    if forced is not None:
        chosen = [forced]
    else:
        chosen = [t for t in tools if _asks(t, text)]
        if not chosen and choice == "required" and not functions_bound:
            chosen = [tools[0]]
    for tool in chosen:
        kind = tool.get("type")
        if kind in ("web_search", "web_search_preview"):
            _web_search(out, _query(text), include)
        elif kind == "file_search":
            _file_search(out, tool, _query(text), include)
        elif kind == "code_interpreter":
            _code_interpreter(out, tool, text, include)
        elif kind == "image_generation":
            _image_generation(out, tool, text)
        elif kind == "mcp":
            _mcp(out, tool, text, earlier)
        if out.pending:
            break
    return out


def _result(out: Run, item: dict[str, Any], text: str, name: str) -> None:
    out.items.append(item)
    out.results.append(Turn("tool", text, tool_call_id=str(item["id"]), name=name))


def _web_search(out: Run, query: str, include: Sequence[Any]) -> None:
    url = f"https://example.com/search?q={quote_plus(query)}"
    title = "Example Domain"
    action: dict[str, Any] = {"type": "search", "query": query}
    if "web_search_call.action.sources" in include:
        action["sources"] = [{"type": "url", "url": url}]
    item: dict[str, Any] = {
        "id": _id("web_search_call"),
        "type": "web_search_call",
        "status": "completed",
        "action": action,
    }
    _result(out, item, f"The web has one page about {query}: {title}.", "web_search")

    def cite(answer: str) -> dict[str, Any] | None:
        start = answer.find(title)
        if start < 0:
            return None
        return {
            "type": "url_citation",
            "start_index": start,
            "end_index": start + len(title),
            "title": title,
            "url": url,
        }

    out.citations.append(cite)


def _file_search(out: Run, tool: Mapping[str, Any], query: str, include: Sequence[Any]) -> None:
    stores = [str(v) for v in tool.get("vector_store_ids") or ()]
    limit = tool.get("max_num_results")
    if isinstance(limit, int) and not isinstance(limit, bool) and limit > 0:
        stores = stores[:limit]
    results = []
    for store in stores:
        digest = hashlib.sha256(store.encode()).hexdigest()
        results.append(
            {
                "file_id": f"file-{digest[:24]}",
                "filename": f"{store}.md",
                "score": 0.87,
                "text": f"Notes in {store} about {query}.",
                "attributes": {},
            }
        )
    item: dict[str, Any] = {
        "id": _id("file_search_call"),
        "type": "file_search_call",
        "status": "completed",
        "queries": [query],
        "results": results if "file_search_call.results" in include else None,
    }
    answer = " ".join(str(r["text"]) for r in results) or f"No file mentions {query}."
    _result(out, item, answer, "file_search")
    for r in results[:1]:

        def cite(text: str, r: dict[str, Any] = r) -> dict[str, Any] | None:
            end = text.find(r["text"])
            if end < 0:
                return None
            return {
                "type": "file_citation",
                "file_id": r["file_id"],
                "filename": r["filename"],
                "index": end + len(r["text"]),
            }

        out.citations.append(cite)


def _code_interpreter(out: Run, tool: Mapping[str, Any], text: str, include: Sequence[Any]) -> None:
    expr = extract.arithmetic(text)
    value = extract.evaluate(expr) if expr is not None else None
    if expr is not None and value is not None:
        code = f"print({expr})"
        printed = str(round(value, 10) if isinstance(value, float) else value)
    else:
        code = f"text = {text.strip()!r}\nprint(len(text.split()))"
        printed = str(len(text.split()))
    container = tool.get("container")
    container_id = container if isinstance(container, str) else f"cntr_{secrets.token_hex(16)}"
    item: dict[str, Any] = {
        "id": _id("code_interpreter_call"),
        "type": "code_interpreter_call",
        "status": "completed",
        "code": code,
        "container_id": container_id,
        "outputs": [{"type": "logs", "logs": printed + "\n"}]
        if "code_interpreter_call.outputs" in include
        else None,
    }
    _result(out, item, printed, "code_interpreter")


def _png(rgb: bytes) -> bytes:
    """An 8x8 PNG of one colour."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    rows = b"".join(b"\x00" + rgb * 8 for _ in range(8))
    header = struct.pack(">IIBBBBB", 8, 8, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def _image_generation(out: Run, tool: Mapping[str, Any], text: str) -> None:
    prompt = text.strip()
    image = _png(hashlib.sha256(prompt.encode()).digest()[:3])
    item: dict[str, Any] = {
        "id": _id("image_generation_call"),
        "type": "image_generation_call",
        "status": "completed",
        "background": tool.get("background") or "opaque",
        "output_format": "png",
        "quality": tool.get("quality") or "medium",
        "size": tool.get("size") or "1024x1024",
        "revised_prompt": prompt,
        "result": base64.b64encode(image).decode("ascii"),
    }
    _result(out, item, f"Here is the image: {prompt}", "image_generation")


def _mcp_tool_names(tool: Mapping[str, Any]) -> list[str]:
    allowed = tool.get("allowed_tools")
    if isinstance(allowed, Mapping):
        allowed = allowed.get("tool_names")
    if isinstance(allowed, list) and allowed:
        return [str(n) for n in allowed]
    return ["echo"]


def _needs_approval(tool: Mapping[str, Any], name: str) -> bool:
    rule = tool.get("require_approval", "always")
    if rule == "never":
        return False
    if isinstance(rule, Mapping):
        never = rule.get("never")
        names = never.get("tool_names") if isinstance(never, Mapping) else None
        return not (isinstance(names, list) and name in names)
    return True


def _mcp(
    out: Run, tool: Mapping[str, Any], text: str, earlier: Sequence[Mapping[str, Any]]
) -> None:
    label = str(tool.get("server_label"))
    names = _mcp_tool_names(tool)
    listed = any(
        i.get("type") == "mcp_list_tools" and i.get("server_label") == label for i in earlier
    )
    if not listed:
        out.items.append(
            {
                "id": _id("mcp_list_tools"),
                "type": "mcp_list_tools",
                "server_label": label,
                "tools": [
                    {
                        "name": n,
                        "description": f"{n} (emulated: the MCP server is not contacted)",
                        "input_schema": {
                            "type": "object",
                            "properties": {"text": {"type": "string"}},
                            "required": ["text"],
                        },
                        "annotations": None,
                    }
                    for n in names
                ],
                "error": None,
            }
        )
    name = next(
        (n for n in names if re.search(rf"(?<!\w){re.escape(n)}(?!\w)", text, re.I)), names[0]
    )
    arguments = json.dumps({"text": _query(text)}, ensure_ascii=False)
    if _needs_approval(tool, name):
        out.items.append(
            {
                "id": _id("mcp_approval_request"),
                "type": "mcp_approval_request",
                "server_label": label,
                "name": name,
                "arguments": arguments,
            }
        )
        out.pending = True
        return
    _mcp_call(out, label, name, arguments, None)


def _mcp_call(out: Run, label: str, name: str, arguments: str, approval: str | None) -> None:
    said = json.loads(arguments).get("text", "") if arguments else ""
    item = {
        "id": _id("mcp_call"),
        "type": "mcp_call",
        "status": "completed",
        "server_label": label,
        "name": name,
        "arguments": arguments,
        "output": str(said),
        "error": None,
        "approval_request_id": approval,
    }
    _result(out, item, str(said), name)


def _answer_approval(
    out: Run,
    answer: Mapping[str, Any],
    tools: Sequence[Mapping[str, Any]],
    earlier: Sequence[Mapping[str, Any]],
) -> None:
    wanted = answer.get("approval_request_id")
    request = next(
        (i for i in earlier if i.get("type") == "mcp_approval_request" and i.get("id") == wanted),
        None,
    )
    if request is None:
        raise azure_errors.invalid_request(
            f"No MCP approval request found with id '{wanted}'.",
            param="input",
            code="invalid_value",
        )
    label = str(request.get("server_label"))
    if not any(t.get("type") == "mcp" and t.get("server_label") == label for t in tools):
        raise azure_errors.invalid_request(
            f"The MCP server '{label}' of approval request '{wanted}' is not in 'tools'.",
            param="tools",
        )
    name = str(request.get("name"))
    if answer.get("approve") is True:
        _mcp_call(out, label, name, str(request.get("arguments") or ""), str(wanted))
    else:
        out.results.append(
            Turn("tool", f"The call to {name} on {label} was not approved.", name=name)
        )


# --- the response -------------------------------------------------------------------------------------


def play(
    call_headers: Mapping[str, str],
    state: EmulatorState,
    body: Mapping[str, Any],
    conv: Conversation,
    choice: Any,
    previous: StoredResponse | None,
) -> tuple[list[dict[str, Any]], Run]:
    """Check and run the built-in tools of a request: the tools as sent, and what they did
    (their results are added to ``conv`` for the answer). Item references are checked here too:
    a generated image goes back by reference when responses are stored."""
    check_references(state, body)
    tools = hosted(body)
    if not tools:
        return tools, Run()

    def deployment_model(name: str) -> str | None:
        found = state.deployment(name)
        return found.model if found is not None and found.serving else None

    check_image_deployment(tools, call_headers, deployment_model)
    earlier: list[Mapping[str, Any]] = []
    if previous is not None:
        earlier += [i for i in previous.input_items if isinstance(i, Mapping)]
        output = previous.body.get("output")
        earlier += [i for i in output or () if isinstance(i, Mapping)]
    raw = body.get("input")
    earlier += [i for i in raw if isinstance(i, Mapping)] if isinstance(raw, list) else []
    ran = run(
        tools,
        forced=tool_choice(choice, tools),
        choice=choice,
        turns=conv.turns,
        body=body,
        earlier=earlier,
        functions_bound=bool(conv.tools),
    )
    conv.turns.extend(ran.results)
    if ran.pending:
        conv.tool_choice = "none"  # the approval request ends the response
    return tools, ran


def check_references(state: EmulatorState, body: Mapping[str, Any]) -> None:
    """Each ``item_reference`` must name an item of a stored response (with ``store: false``
    nothing is looked up: the 400 of a bare reasoning id, see :mod:`azoai_emulator.stateless`)."""
    raw = body.get("input")
    wanted = [
        str(i.get("id"))
        for i in (raw if isinstance(raw, list) else ())
        if isinstance(i, Mapping) and i.get("type") == "item_reference"
    ]
    if not wanted:
        return
    if body.get("store", True) is False:
        raise azure_errors.invalid_request(
            f"Item with id '{wanted[0]}' not found. Items are not persisted when `store` is set "
            "to false. Try again with `store` set to true, or remove this item from your input.",
            param="input",
        )
    with state.lock:
        stored = list(state.responses.values())
    known = {
        i.get("id")
        for s in stored
        for i in (*(s.body.get("output") or ()), *s.input_items)
        if isinstance(i, Mapping)
    }
    for item_id in wanted:
        if item_id not in known:
            raise azure_errors.invalid_request(
                f"Item with id '{item_id}' not found.", param="input"
            )


def finish(response: dict[str, Any], tools: Sequence[Mapping[str, Any]], ran: Run) -> None:
    """Put what the tools did into ``response``: their items before the message (after any
    reasoning), the citations on its text, the tools as sent; a pending approval request ends
    the response without a message."""
    if not tools:
        return
    response["tools"] = [*response.get("tools", []), *tools]
    output: list[dict[str, Any]] = response["output"]
    at = sum(1 for i in output if i.get("type") == "reasoning")
    output[at:at] = ran.items
    if ran.pending:
        response["output"] = [i for i in output if i.get("type") != "message"]
        return
    for item in output:
        if item.get("type") == "message" and ran.citations:
            part = item["content"][0]
            part["annotations"] = [c for c in (cite(part["text"]) for cite in ran.citations) if c]


_PROGRESS: Mapping[str, tuple[str, ...]] = {
    "web_search_call": ("in_progress", "searching", "completed"),
    "file_search_call": ("in_progress", "searching", "completed"),
    "code_interpreter_call": ("in_progress", "interpreting", "completed"),
    "image_generation_call": ("in_progress", "generating", "completed"),
    "mcp_list_tools": ("in_progress", "completed"),
    "mcp_call": ("in_progress", "completed"),
}


def item_events(
    emit: Callable[..., None],
    index: int,
    item: Mapping[str, Any],
    tools: Sequence[Mapping[str, Any]],
) -> None:
    """The stream events of one built-in tool item (``emit(type, **fields)``): added (in
    progress, without results), the tool's progress events, done (the whole item)."""
    kind = str(item["type"])
    item_id = item["id"]
    added = {k: v for k, v in item.items() if k not in ("result", "outputs", "output", "results")}
    if "status" in item:
        added["status"] = "in_progress"
    if kind == "code_interpreter_call":
        added["code"] = ""
    if kind == "mcp_call":
        added["arguments"] = ""
    emit("response.output_item.added", output_index=index, item=added)
    where = {"output_index": index, "item_id": item_id}
    for step in _PROGRESS.get(kind, ()):
        if step == "completed" and kind == "code_interpreter_call":
            code = str(item.get("code") or "")
            for piece in stream_pieces(code):
                emit("response.code_interpreter_call_code.delta", **where, delta=piece)
            emit("response.code_interpreter_call_code.done", **where, code=code)
        if step == "completed" and kind == "mcp_call":
            arguments = str(item.get("arguments") or "")
            for piece in stream_pieces(arguments):
                emit("response.mcp_call_arguments.delta", **where, delta=piece)
            emit("response.mcp_call_arguments.done", **where, arguments=arguments)
        if step == "completed" and kind == "image_generation_call":
            wanted = next(
                (t.get("partial_images") for t in tools if t.get("type") == "image_generation"),
                0,
            )
            for n in range(wanted if isinstance(wanted, int) else 0):
                emit(
                    "response.image_generation_call.partial_image",
                    **where,
                    partial_image_index=n,
                    partial_image_b64=item.get("result"),
                )
        emit(f"response.{kind}.{step}", **where)
    emit("response.output_item.done", output_index=index, item=dict(item))


def annotation_events(
    emit: Callable[..., None], index: int, item_id: str, part: Mapping[str, Any]
) -> None:
    """``response.output_text.annotation.added`` for each citation of a message's text."""
    for j, annotation in enumerate(part.get("annotations") or ()):
        emit(
            "response.output_text.annotation.added",
            item_id=item_id,
            output_index=index,
            content_index=0,
            annotation_index=j,
            annotation=annotation,
        )
