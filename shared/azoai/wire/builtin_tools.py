"""Built-in (hosted) tools of the Responses API: which ones azoai sends to Azure, the checks a
request gets before it is sent, and the reading of their output items into the neutral model.

Azure's Responses API runs these tools server-side within one response: ``code_interpreter``,
``file_search``, ``web_search`` (``web_search_preview``, the older name, is "supported but not
recommended"), ``image_generation`` (with an image model deployment named in the
``x-ms-oai-image-generation-deployment`` header) and ``mcp`` (remote MCP servers). Their output
items come before the message of the turn; a conversation replayed without
``previous_response_id`` sends them back as they came (an image by reference when responses are
stored, so its bytes do not travel twice).

``computer_use_preview`` is Azure's too, but its ``computer_call`` items ask the caller to act
and answer with ``computer_call_output``, a loop azoai does not model: it is refused before
sending, as are tool types Azure's Responses API does not list. Chat Completions runs no built-in
tools: such a request is refused before sending, naming the fix (the Responses API).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from typing import Any

from azoai.errors import ConfigError
from azoai.wire.types import BuiltinToolCall, ImagePart

__all__ = [
    "AZURE_BUILTIN_TOOLS",
    "IMAGE_DEPLOYMENT_HEADER",
    "INPUT_ITEMS",
    "JSON_SCHEMA_TYPES",
    "OUTPUT_ITEMS",
    "chat_completions_refusal",
    "check_tools",
    "is_builtin_tool",
    "is_json_schema_tool",
    "json_schema_tool",
    "read_item",
    "replay_item",
    "tool_choice",
]

#: The built-in tool types azoai sends to Azure's Responses API, and the keys each requires
#: (Azure answers a 400 without them; azoai says so before sending).
AZURE_BUILTIN_TOOLS: Mapping[str, tuple[tuple[str, ...], ...]] = {
    "code_interpreter": (("container",),),
    "file_search": (("vector_store_ids",),),
    "web_search": (),
    "web_search_preview": (),
    "image_generation": (),
    # a server_url, or a connector_id (Azure's connectors)
    "mcp": (("server_label",), ("server_url", "connector_id")),
}

#: Azure's tools azoai refuses, and why.
_NOT_HANDLED = {
    "computer_use_preview": (
        "its computer_call items ask the caller to act and answer with computer_call_output, "
        "a loop azoai does not model"
    ),
}

#: Output item type -> the ``tool`` of its :class:`BuiltinToolCall`.
OUTPUT_ITEMS: Mapping[str, str] = {
    "web_search_call": "web_search",
    "file_search_call": "file_search",
    "code_interpreter_call": "code_interpreter",
    "image_generation_call": "image_generation",
    "mcp_call": "mcp",
    "mcp_list_tools": "mcp_list_tools",
    "mcp_approval_request": "mcp_approval_request",
}
#: Items a conversation may send: the output items above and the answer to an approval request.
INPUT_ITEMS: Mapping[str, str] = {**OUTPUT_ITEMS, "mcp_approval_response": "mcp_approval_response"}

#: The header naming the image model deployment the ``image_generation`` tool draws with (Azure:
#: required with that tool, e.g. ``{"x-ms-oai-image-generation-deployment": "gpt-image-1"}``).
IMAGE_DEPLOYMENT_HEADER = "x-ms-oai-image-generation-deployment"

# Keys an adapter may add to an item it keeps (LangChain's stream merge index): not sent back.
_LOCAL_KEYS = frozenset({"index"})


#: The ``type`` values of a JSON Schema: a dict with one of them (``{"type": "object", "title":
#: "Joke", "properties": ...}``, what ``with_structured_output(dict)`` binds) is a schema to turn
#: into a function tool, never a built-in tool.
JSON_SCHEMA_TYPES = frozenset({"object", "array", "string", "number", "integer", "boolean", "null"})


def is_builtin_tool(tool: Any) -> bool:
    """Whether a tool dict is a built-in tool: a ``type`` other than ``function`` that is not a
    JSON Schema type. The known types are sent (:data:`AZURE_BUILTIN_TOOLS`); any other such
    ``type`` is a built-in tool too, so :func:`check_tools` refuses it by name before sending."""
    if not isinstance(tool, Mapping):
        return False
    kind = tool.get("type")
    return isinstance(kind, str) and kind != "function" and kind not in JSON_SCHEMA_TYPES


def is_json_schema_tool(tool: Any) -> bool:
    """Whether a tool dict is a bare JSON Schema (``{"type": "object", "title": "Joke", ...}``)
    to be sent as a function tool named by its ``title``."""
    if not isinstance(tool, Mapping) or "function" in tool:
        return False
    kind = tool.get("type")
    return (
        isinstance(kind, str) and kind in JSON_SCHEMA_TYPES and isinstance(tool.get("title"), str)
    )


def json_schema_tool(schema: Mapping[str, Any]) -> tuple[str, str, dict[str, Any]]:
    """A bare JSON Schema -> ``(name, description, parameters)`` of the function tool it stands
    for, as langchain-core's ``convert_to_openai_tool`` reads one: the ``title`` names it, the
    ``description`` describes it, the rest are its parameters."""
    name = str(schema["title"])
    description = schema.get("description")
    parameters = {k: v for k, v in schema.items() if k not in ("title", "description")}
    return name, description if isinstance(description, str) else "", parameters


def _supported() -> str:
    return ", ".join(sorted(AZURE_BUILTIN_TOOLS))


def check_tools(tools: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The built-in tools as they go into the request body; a type azoai does not send, or a
    tool without a key Azure requires, is a :class:`ConfigError` before anything is sent."""
    out = []
    for i, tool in enumerate(tools):
        kind = tool.get("type") if isinstance(tool, Mapping) else None
        if not isinstance(kind, str):
            raise ConfigError(
                f"built-in tool {i} has no 'type'",
                setting="tools",
                fix=f"use one of {_supported()}",
            )
        if kind in _NOT_HANDLED:
            raise ConfigError(
                f"the {kind} tool is not supported by azoai: {_NOT_HANDLED[kind]}",
                setting="tools",
                fix=f"bind function tools or one of {_supported()}",
            )
        required = AZURE_BUILTIN_TOOLS.get(kind)
        if required is None:
            raise ConfigError(
                f"tool type {kind!r} is not a built-in tool of Azure's Responses API",
                setting="tools",
                fix=f"use function tools or one of {_supported()}",
            )
        for alternatives in required:
            if not any(tool.get(key) not in (None, "", []) for key in alternatives):
                raise ConfigError(
                    f"the {kind} tool needs {' or '.join(repr(k) for k in alternatives)}",
                    setting="tools",
                    fix=_REQUIRED_FIX.get(alternatives[0], f"add {alternatives[0]!r} to the tool"),
                )
        out.append(dict(tool))
    return out


_REQUIRED_FIX = {
    "container": 'add "container": {"type": "auto"} (or a container id) to the tool',
    "vector_store_ids": 'add "vector_store_ids": ["vs_..."] to the tool',
    "server_label": 'add "server_label": "<a name for the server>" to the tool',
    "server_url": 'add "server_url": "https://<the MCP server>" to the tool',
}


def chat_completions_refusal(tools: Sequence[Mapping[str, Any]]) -> ConfigError:
    """The error for built-in tools on a Chat Completions call (which runs none)."""
    kinds = ", ".join(sorted({str(t.get("type")) for t in tools}))
    return ConfigError(
        f"built-in tools ({kinds}) run only on the Responses API; this call goes to Chat "
        "Completions",
        setting="use_responses_api",
        fix="use the Responses API: use_responses_api=True (LangChain and LlamaIndex), or "
        "api='responses' in azoai's settings",
    )


def tool_choice(choice: Any, tools: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    """A ``tool_choice`` naming a bound built-in tool (``"web_search"``, ``"mcp"``, or a
    ``{"type": ...}`` dict) as the Responses API takes it; ``None`` when it names none."""
    kind = choice.get("type") if isinstance(choice, Mapping) else choice
    if not isinstance(kind, str):
        return None
    for tool in tools:
        if tool.get("type") == kind:
            if kind == "mcp":
                label = choice.get("server_label") if isinstance(choice, Mapping) else None
                return {"type": "mcp", "server_label": label or tool.get("server_label")}
            return {"type": kind}
    return None


# --- reading items ------------------------------------------------------------------------------


def _status(raw: Any) -> str | None:
    if raw == "completed":
        return "success"
    if raw in ("failed", "incomplete"):
        return "error"
    return raw if isinstance(raw, str) else None


def _json_object(text: Any) -> dict[str, Any]:
    if isinstance(text, Mapping):
        return dict(text)
    if isinstance(text, str) and text.strip():
        try:
            value = json.loads(text)
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}
    return {}


def _image(item: Mapping[str, Any]) -> ImagePart | None:
    result = item.get("result")
    if not isinstance(result, str) or not result:
        return None
    try:
        data = base64.b64decode(result, validate=True)
    except (binascii.Error, ValueError):
        return None
    fmt = item.get("output_format")
    return ImagePart(data=data, mime_type=f"image/{fmt if isinstance(fmt, str) else 'png'}")


def _error_text(raw: Any) -> str | None:
    if raw is None or raw == "":
        return None
    if isinstance(raw, Mapping):
        return str(raw.get("message") or raw.get("code") or dict(raw))
    return str(raw)


def read_item(raw: Any) -> BuiltinToolCall | None:
    """A built-in tool item (a dict, or an SDK object with ``model_dump``) -> the neutral
    :class:`BuiltinToolCall`; ``None`` for anything else."""
    if not isinstance(raw, Mapping) and hasattr(raw, "model_dump"):
        raw = raw.model_dump(exclude_none=True, mode="json")
    if not isinstance(raw, Mapping):
        return None
    kind = raw.get("type")
    tool = INPUT_ITEMS.get(kind) if isinstance(kind, str) else None
    if tool is None:
        return None
    item = {k: v for k, v in raw.items() if k not in _LOCAL_KEYS}
    call = BuiltinToolCall(
        id=str(item.get("id") or ""),
        tool=tool,
        status=_status(item.get("status")),
        error=_error_text(item.get("error")),
        item=item,
    )
    extras: dict[str, Any] = {}
    if kind == "web_search_call":
        action = item.get("action")
        if isinstance(action, Mapping):
            call.args = {k: v for k, v in action.items() if k != "sources"}
            if action.get("sources"):
                call.output = {"sources": action["sources"]}
    elif kind == "file_search_call":
        call.args = {"queries": list(item.get("queries") or ())}
        call.output = item.get("results")
    elif kind == "code_interpreter_call":
        if isinstance(item.get("code"), str):
            call.args = {"code": item["code"]}
        call.output = item.get("outputs")
        if item.get("container_id"):
            extras["container_id"] = item["container_id"]
    elif kind == "image_generation_call":
        call.image = _image(item)
        for key in ("revised_prompt", "size", "quality", "background", "output_format"):
            if item.get(key) is not None:
                extras[key] = item[key]
    elif kind in ("mcp_call", "mcp_approval_request"):
        call.args = _json_object(item.get("arguments"))
        call.output = item.get("output")
        if kind == "mcp_approval_request":
            call.status = "pending"
        elif call.status is None:
            call.status = "error" if call.error else "success"
    elif kind == "mcp_list_tools":
        call.output = item.get("tools")
        if call.status is None:
            call.status = "error" if call.error else "success"
    elif kind == "mcp_approval_response":
        call.args = {"approve": bool(item.get("approve"))}
        extras["approval_request_id"] = item.get("approval_request_id")
    for key in ("server_label", "name", "approval_request_id"):
        if tool.startswith("mcp") and item.get(key) is not None:
            extras["tool_name" if key == "name" else key] = item[key]
    call.extras = extras
    return call


def replay_item(call: BuiltinToolCall, *, stateless: bool = False) -> dict[str, Any]:
    """The input item that sends ``call`` back: the item as it came; a generated image, unless
    the call is ``stateless`` (``store=False``: Azure keeps nothing to refer to), by reference, so
    its bytes do not travel twice."""
    item = {k: v for k, v in call.item.items() if k not in _LOCAL_KEYS}
    if item.get("type") == "image_generation_call" and not stateless and call.id:
        return {"type": "item_reference", "id": call.id}
    return item
