"""Message content on a span, in the GenAI conventions' shape: only when the user opted in
(``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT``, see :mod:`azoai.pipeline.telemetry`).

``gen_ai.input.messages`` and ``gen_ai.output.messages`` are JSON strings (span attributes cannot
hold structures) of ``{"role", "parts": [...]}`` messages, parts typed ``text``, ``tool_call``,
``tool_call_response`` or ``reasoning``; images, files and audio are named by type and MIME type
(a ``uri`` when they are a web URL), never inlined: a data URL would put megabytes on a span.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from azoai.wire.types import ChatRequest, ChatResult, EmbeddingResult, Message

__all__ = ["INPUT_MESSAGES", "OUTPUT_MESSAGES", "record"]

INPUT_MESSAGES = "gen_ai.input.messages"
OUTPUT_MESSAGES = "gen_ai.output.messages"


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def _parts(message: Message) -> list[dict[str, Any]]:
    from azoai.wire.types import AudioPart, FilePart, ImagePart, TextPart

    parts: list[dict[str, Any]] = []
    for item in message.reasoning:
        if item.summary:
            parts.append({"type": "reasoning", "content": "\n".join(item.summary)})
    content = message.content
    if message.role == "tool":
        parts.append(
            {"type": "tool_call_response", "id": message.tool_call_id, "response": message.text}
        )
    elif isinstance(content, str):
        if content:
            parts.append({"type": "text", "content": content})
    elif content is not None:
        for p in content:
            if isinstance(p, TextPart):
                parts.append({"type": "text", "content": p.text})
            elif isinstance(p, ImagePart):
                image: dict[str, Any] = {"type": "image", "mime_type": p.mime_type}
                if p.url and p.url.startswith(("http://", "https://")):
                    image["uri"] = p.url
                parts.append(image)
            elif isinstance(p, FilePart):
                parts.append({"type": "file", "mime_type": p.mime_type, "file_id": p.file_id})
            elif isinstance(p, AudioPart):
                parts.append({"type": "audio", "format": p.format})
    if message.refusal:
        parts.append({"type": "refusal", "content": message.refusal})
    for call in message.tool_calls:
        parts.append(
            {
                "type": "tool_call",
                "id": call.id,
                "name": call.name,
                "arguments": call.arguments if call.arguments is not None else call.raw_arguments,
            }
        )
    return parts


def record(span: Any, request: ChatRequest, result: ChatResult | EmbeddingResult | None) -> None:
    """Put the request's messages and the answer on ``span`` (the caller checked the opt-in)."""
    from azoai.wire.types import ChatResult

    span.set_attribute(
        INPUT_MESSAGES,
        _dumps([{"role": m.role, "parts": _parts(m)} for m in request.messages]),
    )
    if isinstance(result, ChatResult):
        out: dict[str, Any] = {"role": "assistant", "parts": _parts(result.message)}
        if result.finish_reason:
            out["finish_reason"] = result.finish_reason
        span.set_attribute(OUTPUT_MESSAGES, _dumps([out]))
