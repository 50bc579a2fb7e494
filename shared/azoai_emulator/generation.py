"""From a conversation to a finished generation: scripted or rule-based reply, stop sequences,
output limit, reasoning tokens, completion-side content filter, and token accounting.

Accounting (see :mod:`azoai_emulator.tokens` for the per-text estimate): a prompt costs 3 tokens
per message plus its text, name and tool calls, 85 per image, the tools' JSON, and 3 to prime the
reply. Reasoning deployments spend reasoning tokens by effort (minimal/none 0, low 64, medium
192, high 512; medium by default) inside the output limit, as Azure counts them; a limit smaller
than the reasoning leaves no visible text and finishes with ``length``.

Foundry reasoning models (the model table's ``reasoning_output``) show a short deterministic
thought before a generated answer: DeepSeek-R1 style inside the content, as a leading
``<think>…</think>`` block (counted as content, as Azure counts it), the thinking DeepSeek V models
in ``reasoning_content`` beside it (counted as reasoning tokens, inside the output limit). A
scripted reply is played as scripted.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from azoai_emulator.config import EmulatorDeployment
from azoai_emulator.faults import Fault
from azoai_emulator.model import Conversation, Reply, ToolCall, ToolSpec, Turn, respond
from azoai_emulator.state import EmulatorState
from azoai_emulator.tokens import count_tokens, stream_pieces, tokenize

__all__ = ["REASONING_TOKENS", "Generation", "generate", "prompt_tokens"]

REASONING_TOKENS = {"none": 0, "minimal": 0, "low": 64, "medium": 192, "high": 512}
IMAGE_TOKENS = 85


def prompt_tokens(
    turns: Sequence[Turn], tools: Sequence[ToolSpec] = (), extra: str = ""
) -> list[str]:
    """The prompt as the estimate's tokens (their count is ``prompt_tokens``; the sequence feeds
    the prompt cache)."""
    out: list[str] = []
    for turn in turns:
        out += [f"<|{turn.role}|>", "<|sep|>", "<|end|>"]
        out += tokenize(turn.text)
        if turn.name:
            out += tokenize(turn.name)
        for call in turn.tool_calls:
            out += tokenize(call.name) + tokenize(call.arguments)
        out += ["<|image|>"] * (IMAGE_TOKENS * turn.images)
    if tools:
        out += tokenize(
            json.dumps(
                [
                    {"name": t.name, "description": t.description, "parameters": t.parameters}
                    for t in tools
                ]
            )
        )
    if extra:
        out += tokenize(extra)
    out += ["<|start|>", "<|assistant|>", "<|sep|>"]
    return out


@dataclass(frozen=True, slots=True)
class Generation:
    """What the model produced, after the limits. ``pieces`` are the streamed content pieces."""

    content: str | None
    tool_calls: tuple[ToolCall, ...]
    finish_reason: str  # stop | length | tool_calls | content_filter
    reasoning_tokens: int
    filtered_category: str | None = None
    #: The thought a ``reasoning_content`` model sends beside the content ("" for the others).
    reasoning_text: str = ""

    @property
    def pieces(self) -> list[str]:
        return stream_pieces(self.content) if self.content else []

    @property
    def reasoning_pieces(self) -> list[str]:
        return stream_pieces(self.reasoning_text) if self.reasoning_text else []

    @property
    def visible_tokens(self) -> int:
        calls = sum(count_tokens(c.name) + count_tokens(c.arguments) for c in self.tool_calls)
        return count_tokens(self.content or "") + calls

    @property
    def completion_tokens(self) -> int:
        return self.visible_tokens + self.reasoning_tokens


def _apply_stop(text: str, stop: Sequence[str]) -> str:
    """``text`` up to the first stop sequence (which is not included)."""
    cut = min((i for i in (text.find(s) for s in stop if s) if i >= 0), default=-1)
    return text[:cut] if cut >= 0 else text


def generate(
    state: EmulatorState,
    deployment: EmulatorDeployment,
    conv: Conversation,
    *,
    limit: int | None,
    effort: str | None,
    stop: Sequence[str] = (),
    completion_filter: Fault | None = None,
) -> Generation:
    """Run the model for ``conv`` on ``deployment`` (a scripted reply first, if one is queued)."""
    scripted = state.next_scripted(deployment.name)
    reply: Reply = scripted or respond(conv)
    reasoning = REASONING_TOKENS.get(effort or "medium", 192) if deployment.info.reasoning else 0
    content = reply.content
    calls = reply.tool_calls
    finish = reply.finish_reason or ("tool_calls" if calls else "stop")
    shows = deployment.info.reasoning_output if scripted is None else None
    thought = _thought(conv) if shows else ""
    if shows == "think_tags":
        if content is not None:
            content = f"<think>\n{thought}\n</think>\n\n{content}"
        thought = ""
    elif thought:
        reasoning += count_tokens(thought)
    if content is not None and stop:
        content = _apply_stop(content, stop)
    if limit is not None:
        if reasoning >= limit:  # the reasoning used the whole budget: nothing visible
            thought = "".join(stream_pieces(thought)[:limit])
            reasoning, content, calls, finish = limit, "", (), "length"
        elif content:
            pieces = stream_pieces(content)
            room = limit - reasoning
            if len(pieces) > room:
                content, finish = "".join(pieces[:room]), "length"
    if completion_filter is not None and content is not None:
        pieces = stream_pieces(content)
        keep = (
            completion_filter.after_chunks
            if completion_filter.after_chunks is not None
            else len(pieces) // 2
        )
        return Generation(
            "".join(pieces[:keep]),
            (),
            "content_filter",
            reasoning,
            completion_filter.category,
            thought,
        )
    return Generation(content, calls, finish, reasoning, reasoning_text=thought)


def _thought(conv: Conversation) -> str:
    """What a Foundry reasoning model shows of its thinking: deterministic, naming the request."""
    asked = next((t.text for t in reversed(conv.turns) if t.role == "user" and t.text), "")
    words = asked.split()
    topic = " ".join(words[:12]) + (" ..." if len(words) > 12 else "")
    return f"The user asks: {topic}\nI will check what I know and answer plainly."


def usage_details(gen: Generation, prompt: int, cached: int) -> dict[str, Any]:
    """Chat Completions ``usage``."""
    return {
        "prompt_tokens": prompt,
        "completion_tokens": gen.completion_tokens,
        "total_tokens": prompt + gen.completion_tokens,
        "prompt_tokens_details": {"audio_tokens": 0, "cached_tokens": cached},
        "completion_tokens_details": {
            "accepted_prediction_tokens": 0,
            "audio_tokens": 0,
            "reasoning_tokens": gen.reasoning_tokens,
            "rejected_prediction_tokens": 0,
        },
    }


def tool_specs(raw: Sequence[Mapping[str, Any]]) -> list[ToolSpec]:
    """Neutral tool specs from already-validated wire tools (either API's shape)."""
    specs = []
    for tool in raw:
        fn = tool.get("function") if isinstance(tool.get("function"), Mapping) else tool
        assert isinstance(fn, Mapping)
        params = fn.get("parameters")
        specs.append(
            ToolSpec(
                name=str(fn.get("name")),
                description=str(fn.get("description") or ""),
                parameters=params if isinstance(params, Mapping) else {},
            )
        )
    return specs
