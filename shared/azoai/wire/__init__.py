"""The neutral call model and the wire dialects (Chat Completions, Responses)."""

from azoai.wire.common import parse_tool_arguments
from azoai.wire.filters import filter_records, openai_filter_fields
from azoai.wire.schema import strict_json_schema
from azoai.wire.stream import StreamAccumulator
from azoai.wire.types import (
    AudioPart,
    BuiltinToolCall,
    ChatRequest,
    ChatResult,
    Choice,
    ContentPart,
    EmbeddingResult,
    FilePart,
    ImagePart,
    Message,
    ReasoningItem,
    ResponseFormat,
    Role,
    StreamDelta,
    TextPart,
    ToolCall,
    ToolCallChunk,
    ToolSpec,
    Usage,
)

__all__ = [
    "AudioPart",
    "BuiltinToolCall",
    "ChatRequest",
    "ChatResult",
    "Choice",
    "ContentPart",
    "EmbeddingResult",
    "FilePart",
    "ImagePart",
    "Message",
    "ReasoningItem",
    "ResponseFormat",
    "Role",
    "StreamAccumulator",
    "StreamDelta",
    "TextPart",
    "ToolCall",
    "ToolCallChunk",
    "ToolSpec",
    "Usage",
    "filter_records",
    "openai_filter_fields",
    "parse_tool_arguments",
    "strict_json_schema",
]
