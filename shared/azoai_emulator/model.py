"""The emulator's "model": a small, deterministic rule set that answers from the conversation.

Both wire APIs (Chat Completions and Responses) turn their request into a :class:`Conversation`
and call :func:`respond`. The rules, in order:

1. **Tools.** When tools are offered and ``tool_choice`` is not ``none``:

   * a named ``tool_choice`` calls that tool; ``required`` calls the best-matching tool (or the
     first);
   * ``auto`` calls a tool only when the last message is the user's and it names the tool (a word
     of the tool's name such as ``weather`` in ``get_weather``, or its full name) or asks for one
     ("use the tool"). Several matching tools are called in parallel, and a tool whose one
     required argument is a place or a name is called once per proper noun ("Paris and London")
     when ``parallel_tool_calls`` allows it.

   Arguments come from the user's message through the tool's JSON schema (see
   :mod:`azoai_emulator.schema`). Name- and place-like parameters (``customer_name``, ``city``)
   take quoted text first ("a customer named '你好啊集团'"), then proper nouns; a sentence-initial
   imperative verb ("Create", "Book", "Schedule") is not a name, nor is a capitalised word of the
   tool's own name or description ("Weather in Lisbon and in Madrid?" asking ``get_weather``
   makes two calls, Lisbon and Madrid).
2. **After tool results** (the conversation ends with tool messages) the reply is the result
   text; several results become ``name: result`` lines.
3. **Instructions**: "say X", "repeat X", "reply with X", "respond with X", "answer with X" reply
   X (the quoted part when quoted).
4. **Arithmetic**: a question that is only arithmetic ("What is 3 * (4 + 5)?") gets the result.
5. **Retrieval**: the question (a ``Query:``/``Question:`` line, else the last sentence ending
   in ``?``, else the last sentence) is matched against every sentence of the system messages,
   earlier user messages, tool results and the rest of the last message; the sentence sharing
   the most content words wins and is quoted. This makes RAG prompts and "what is my name?"
   conversations answer sensibly. Sentences come from :func:`azoai_emulator.passages.passages`:
   metadata lines (``file_path: ...``) are skipped, labels (``Context:``, ``Document 1:``,
   ``[1]``) are left out of the quote, and a sentence of marked context (between ``-----``
   lines, in ``<context>`` tags, or in a ``Context:`` paragraph) wins over any other sentence, so
   a template's instructions are never quoted instead of the passage.
6. **Greetings** ("hi", "hello") get a greeting; anything else gets ``You said: <message>``.

Under ``response_format`` ``json_schema`` the reply is an object valid against the schema, its
free-text fields holding the rule-based answer. Under ``json_object`` it follows a JSON schema or
example object found in the prompt; else, when the prompt names keys in prose ("Return the result
as a JSON with 'setup' and 'punchline' keys", "keys 'a', 'b'", "fields a and b", see
:func:`azoai_emulator.extract.named_keys`), an object with exactly those keys, each holding the
answer to the message less its JSON instructions; else ``{"answer": ...}``.
"""

from __future__ import annotations

import json
import re
import secrets
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from azoai_emulator import extract
from azoai_emulator.passages import Passage, passages
from azoai_emulator.schema import Hints, instance, name_class
from azoai_emulator.tokens import content_words, sentences, stem, words, wordset

__all__ = ["Conversation", "Reply", "ToolCall", "ToolSpec", "Turn", "new_call_id", "respond"]

_GENERIC_NAME_WORDS = wordset(
    "get set fetch find lookup look up search query retrieve read list call run do make tool tools "
    "function func fn api current info data the a an by for of to from create compute"
)
_ASKS_FOR_TOOL = re.compile(
    r"\b(?:use|call|invoke|run|using|with)\b[^.?!]{0,40}?\b(?:tools?|functions?)\b", re.I
)
_INSTRUCTION = re.compile(
    r"^\s*(?:please\s+)?(?:say|repeat|reply\s+with|respond\s+with|answer\s+with|return)"
    r"(?:\s+(?:exactly|only|just|back|the\s+word))*\s*:?\s+(.+?)\s*$",
    re.I | re.S,
)
_QUESTION_LINE = re.compile(r"^\s*(?:query|question|q)\s*[:：]\s*(.+?)\s*$", re.I | re.M)
_GREETING = wordset("hi hello hey hiya howdy greetings morning afternoon evening good there")
_ARITHMETIC_WORDS = wordset("calculate compute evaluate solve sum result value equal equals")
_ALPHANUM = string.ascii_letters + string.digits


def new_call_id() -> str:
    return "call_" + "".join(secrets.choice(_ALPHANUM) for _ in range(24))


@dataclass(frozen=True, slots=True)
class ToolSpec:
    name: str
    description: str = ""
    parameters: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ToolCall:
    id: str
    name: str
    arguments: str  # a JSON string, as on the wire


@dataclass(frozen=True, slots=True)
class Turn:
    """One message, whatever the wire API: ``role`` is system, developer, user, assistant or tool."""

    role: str
    text: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None
    name: str | None = None
    images: int = 0


@dataclass(slots=True)
class Conversation:
    turns: list[Turn]
    tools: list[ToolSpec] = field(default_factory=list)
    tool_choice: str = "auto"  # auto | none | required
    forced_tool: str | None = None
    parallel_tool_calls: bool = True
    json_schema: Mapping[str, Any] | None = None
    json_object: bool = False


@dataclass(frozen=True, slots=True)
class Reply:
    content: str | None
    tool_calls: tuple[ToolCall, ...] = ()
    finish_reason: str | None = None  # set by scripted replies only; otherwise derived

    @classmethod
    def from_script(cls, entry: Mapping[str, Any]) -> Reply:
        calls = []
        for raw in entry.get("tool_calls") or ():
            args = raw.get("arguments", {})
            calls.append(
                ToolCall(
                    id=str(raw.get("id") or new_call_id()),
                    name=str(raw["name"]),
                    arguments=args if isinstance(args, str) else json.dumps(args),
                )
            )
        content = entry.get("content")
        return cls(
            content=None if content is None else str(content),
            tool_calls=tuple(calls),
            finish_reason=entry.get("finish_reason"),
        )


def respond(conv: Conversation) -> Reply:
    """Apply the rules of the module docstring to ``conv``."""
    user_text = _last_user_text(conv.turns)
    if conv.tools and conv.tool_choice != "none":
        calls = _tool_calls(conv, user_text)
        if calls:
            return Reply(None, tuple(calls))
    if conv.json_object and conv.json_schema is None:
        return Reply(json.dumps(_json_object(conv.turns, user_text), ensure_ascii=False))
    answer = _answer(conv.turns, user_text)
    if conv.json_schema is not None:
        value = instance(conv.json_schema, Hints(user_text, answer, fill_optional=True))
        return Reply(json.dumps(value, ensure_ascii=False))
    return Reply(answer)


def _last_user_text(turns: Sequence[Turn]) -> str:
    for turn in reversed(turns):
        if turn.role == "user":
            return turn.text
    return ""


# --- tools ---------------------------------------------------------------------------------------


def _name_score(tool: ToolSpec, text: str) -> int:
    text_stems = {stem(w) for w in words(text)}
    wanted = {stem(w) for w in words(tool.name) if w.lower() not in _GENERIC_NAME_WORDS}
    score = len(wanted & text_stems)
    if re.search(rf"(?<!\w){re.escape(tool.name)}(?!\w)", text, re.I):
        score += 2
    return score


def _description_score(tool: ToolSpec, text: str) -> int:
    return len(content_words(f"{tool.name} {tool.description}") & content_words(text))


def _best_tool(tools: Sequence[ToolSpec], text: str) -> ToolSpec:
    return max(
        tools, key=lambda t: (_name_score(t, text), _description_score(t, text), -tools.index(t))
    )


def _tool_calls(conv: Conversation, text: str) -> list[ToolCall]:
    by_name = {t.name: t for t in conv.tools}
    if conv.forced_tool is not None:
        tool = by_name.get(conv.forced_tool) or ToolSpec(conv.forced_tool)
        return _calls_for(tool, text, parallel=False)
    ends_with_user = bool(conv.turns) and conv.turns[-1].role == "user"
    if conv.tool_choice == "required":
        chosen = [t for t in conv.tools if _name_score(t, text) > 0] or [
            _best_tool(conv.tools, text)
        ]
    elif ends_with_user:
        chosen = sorted(
            (t for t in conv.tools if _name_score(t, text) > 0),
            key=lambda t: (-_name_score(t, text), conv.tools.index(t)),
        )
        if not chosen and _ASKS_FOR_TOOL.search(text):
            chosen = [_best_tool(conv.tools, text)]
    else:
        return []
    if not conv.parallel_tool_calls:
        chosen = chosen[:1]
    calls: list[ToolCall] = []
    for tool in chosen:
        calls.extend(_calls_for(tool, text, parallel=conv.parallel_tool_calls))
    return calls if conv.parallel_tool_calls else calls[:1]


def _fan_out_property(params: Mapping[str, Any]) -> bool:
    """True when the tool has exactly one required argument and it is a place or a name."""
    required = params.get("required") or []
    props = params.get("properties") or {}
    if len(required) != 1 or not isinstance(props, Mapping):
        return False
    sub = props.get(required[0])
    if not isinstance(sub, Mapping) or sub.get("type") != "string" or "enum" in sub:
        return False
    return name_class(str(required[0])) in ("place", "person")


def _request_words(tool: ToolSpec) -> frozenset[str]:
    """The stemmed words of the tool's name and the lower-case words of its description: a
    capitalised one of these in the message ("Weather in Lisbon?" for ``get_weather``) asks for the
    tool rather than giving an argument. Capitalised description words ("e.g. Paris") stay
    possible values."""
    found = {stem(w) for w in words(tool.name)}
    found |= {stem(w) for w in words(tool.description) if w.islower()}
    return frozenset(found)


def _calls_for(tool: ToolSpec, text: str, *, parallel: bool) -> list[ToolCall]:
    params: Mapping[str, Any] = tool.parameters or {"type": "object", "properties": {}}
    default = text.strip()
    vocabulary = _request_words(tool)
    names = [name for name, _ in extract.names(text, vocabulary)]
    if parallel and len(names) > 1 and _fan_out_property(params):
        calls = []
        for name in names:
            value = instance(params, Hints(name, default, ignore=vocabulary))
            calls.append(ToolCall(new_call_id(), tool.name, json.dumps(value, ensure_ascii=False)))
        return calls
    args = instance(params, Hints(text, default, ignore=vocabulary))
    if not isinstance(args, dict):
        args = {}
    return [ToolCall(new_call_id(), tool.name, json.dumps(args, ensure_ascii=False))]


# --- text answers --------------------------------------------------------------------------------


def _answer(turns: Sequence[Turn], user_text: str) -> str:
    results = _trailing_tool_results(turns)
    if results:
        if len(results) == 1:
            return results[0][1]
        return "\n".join(f"{name}: {result}" for name, result in results)
    text = user_text.strip()
    if not text:
        return "Hello! How can I help you today?"
    m = _INSTRUCTION.match(text)
    if m:
        said = extract.quoted(m.group(1))
        return said[0] if said else m.group(1).rstrip(".!")
    arithmetic = _arithmetic_answer(_split_question(text)[0])
    if arithmetic is not None:
        return arithmetic
    passage = _best_passage(turns, text)
    if passage is not None:
        return passage
    if {w.lower() for w in words(text)} <= _GREETING:
        return "Hello! How can I help you today?"
    return f"You said: {text}"


def _trailing_tool_results(turns: Sequence[Turn]) -> list[tuple[str, str]]:
    results: list[tuple[str, str]] = []
    index = len(turns)
    while index > 0 and turns[index - 1].role == "tool":
        index -= 1
    if index == len(turns):
        return results
    names: dict[str, str] = {}
    if index > 0:
        for call in turns[index - 1].tool_calls:
            names[call.id] = call.name
    for turn in turns[index:]:
        name = turn.name or names.get(turn.tool_call_id or "", "tool")
        results.append((name, turn.text))
    return results


def _arithmetic_answer(text: str) -> str | None:
    expr = extract.arithmetic(text)
    if expr is None:
        return None
    rest = text.replace(expr, " ")
    if content_words(rest) - _ARITHMETIC_WORDS:
        return None
    value = extract.evaluate(expr)
    if value is None:
        return None
    return str(round(value, 10)) if isinstance(value, float) else str(value)


def _split_question(text: str) -> tuple[str, str]:
    """(question, the rest of the message)."""
    lines = list(_QUESTION_LINE.finditer(text))
    if lines:
        m = lines[-1]
        return m.group(1), text[: m.start()] + text[m.end() :]
    parts = sentences(text)
    asked = [s for s in parts if s.endswith("?")]
    question = asked[-1] if asked else (parts[-1] if parts else text)
    return question, text.replace(question, " ", 1)


def _best_passage(turns: Sequence[Turn], text: str) -> str | None:
    question, rest = _split_question(text)
    wanted = content_words(question)
    if not wanted:
        return None
    pool: list[Passage] = []
    last_user = max((i for i, t in enumerate(turns) if t.role == "user"), default=-1)
    for i, turn in enumerate(turns):
        if turn.role in ("system", "developer", "tool") or (turn.role == "user" and i != last_user):
            pool.extend(passages(turn.text))
    pool.extend(passages(rest))
    best: tuple[bool, int, float, int] | None = None
    best_sentence = None
    for index, passage in enumerate(pool):
        sentence = passage.sentence
        if sentence.endswith("?") or sentence == question:
            continue
        have = content_words(sentence)
        score = len(wanted & have)
        if score == 0:
            continue
        key = (passage.in_context, score, score / len(have), -index)
        if best is None or key > best:
            best, best_sentence = key, sentence
    return best_sentence


# --- JSON mode -----------------------------------------------------------------------------------


def _json_object(turns: Sequence[Turn], user_text: str) -> Any:
    """Follow a JSON schema or example object found in the prompt; else use the keys the prompt
    names in prose; else ``{"answer": ...}``."""
    found: Any = None
    keys: list[str] = []
    for turn in turns:
        if turn.role in ("system", "developer", "user"):
            candidate = _last_json_object(turn.text)
            if candidate is not None:
                found = candidate
            named = extract.named_keys(turn.text)
            if named:
                keys = named
    if found is not None:
        answer = _answer(turns, user_text)
        schema = found if _looks_like_schema(found) else _schema_of(found)
        value = instance(schema, Hints(user_text, answer, fill_optional=True))
        return value if isinstance(value, dict) else {"answer": answer}
    if keys:
        answer = _answer(turns, _without_format_requests(user_text))
        return dict.fromkeys(keys, answer)
    return {"answer": _answer(turns, user_text)}


def _without_format_requests(text: str) -> str:
    """``text`` less the sentences that only ask for JSON ("Return the result as a JSON with 'a'
    and 'b' keys."), so the answer comes from what was actually asked; ``text`` itself when
    nothing else is left."""
    rest = text
    for sentence in sentences(text):
        if re.search(r"\bjson\b", sentence, re.I) or extract.named_keys(sentence):
            rest = rest.replace(sentence, " ", 1)
    return rest if re.search(r"\w", rest) else text


def _last_json_object(text: str) -> dict[str, Any] | None:
    decoder = json.JSONDecoder()
    found = None
    for count, m in enumerate(re.finditer(r"\{", text)):
        if count > 200:
            break
        try:
            value, _ = decoder.raw_decode(text, m.start())
        except ValueError:
            continue
        if isinstance(value, dict) and value:
            found = value
    return found


def _looks_like_schema(obj: Mapping[str, Any]) -> bool:
    return isinstance(obj.get("properties"), Mapping) or obj.get("type") == "object"


def _schema_of(example: Any) -> dict[str, Any]:
    if isinstance(example, bool):
        return {"type": "boolean"}
    if isinstance(example, int | float):
        return {"type": "number"}
    if isinstance(example, list):
        return {"type": "array", "items": _schema_of(example[0]) if example else {}}
    if isinstance(example, dict):
        return {
            "type": "object",
            "properties": {k: _schema_of(v) for k, v in example.items()},
            "required": list(example),
        }
    return {"type": "string"}
