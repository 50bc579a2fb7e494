"""The emulator's own table of model capabilities, keyed by the model name behind a deployment.

Written from Azure's sources, not from ``azoai.config.catalog`` (``tests/emulator/test_tables_agree.py``
holds the two side by side):

* ``facts`` = ``../shared/reference/azure-openai-facts.md`` (section numbers below);
* ``reasoning`` = ``MicrosoftDocs/azure-ai-docs`` ``articles/foundry/openai/how-to/reasoning.md``
  @0d126d3 (2026-02), its "API & feature support" tables; ``reasoning@2025-08`` is
  ``articles/ai-foundry/openai/how-to/reasoning.md`` @04973be, which still had o1-mini and the
  "API Version" row;
* ``models`` = ``articles/foundry/openai/includes/models-azure-direct-openai.md`` @00bb554
  (2026-06), the capability tables; ``models@2025-06`` = ``articles/ai-foundry/openai/concepts/
  models.md`` @005fa2f, which still had GPT-4/GPT-3.5 and the embeddings table.

``context_window`` is the whole window (input plus output), ``max_output`` the most one response
may generate. Lookup is by the longest table key that prefixes the name at a ``-``/``_``/``:``
boundary, so dated names (``gpt-4o-2024-08-06``) find their family; Azure's ``gpt-35`` and
OpenAI's ``gpt-3.5`` spellings are one family. A name not in the table serves as a plain chat
model with conservative limits and ``known=False``: the emulator then enforces no
family-specific rule it cannot know.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache

__all__ = [
    "CHAT",
    "COMPLETIONS",
    "EMBEDDINGS",
    "IMAGES",
    "IMAGE_EDITS",
    "RESPONSES",
    "ModelSpec",
    "known_models",
    "model_spec",
]

#: Operations a model can serve (the pipeline's operation names).
CHAT = "chat"
RESPONSES = "responses"
COMPLETIONS = "completions"
EMBEDDINGS = "embeddings"
IMAGES = "images"
IMAGE_EDITS = "image_edits"


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """What Azure serves for one model family."""

    family: str
    apis: frozenset[str]
    context_window: int
    max_output: int
    known: bool = True
    reasoning: bool = False
    vision: bool = False
    tools: bool = True
    parallel_tool_calls: bool = True
    json_object: bool = True
    json_schema: bool = False
    developer_role: bool = False
    system_role: bool = True
    #: Accepted ``reasoning_effort`` values; empty on a reasoning model = the parameter is refused.
    reasoning_efforts: tuple[str, ...] = ()
    verbosity: bool = False
    #: The first dated api-version that serves the model (None: any version that has the API).
    first_dated_version: str | None = None
    #: Embedding models: the native vector size, whether ``dimensions`` is accepted, and the
    #: per-input token limit.
    embedding_dimensions: int | None = None
    supports_dimensions: bool = False
    max_input_tokens: int | None = None
    #: A router deployment: the model (with its dated version) every answer names as the one that
    #: produced it.
    answers_as: str | None = None
    #: Foundry reasoning models that show their thinking on Chat Completions: ``"think_tags"``
    #: (a leading ``<think>…</think>`` in the content) or ``"reasoning_content"`` (a field
    #: beside it, in the message and in each streamed delta).
    reasoning_output: str | None = None

    @property
    def is_embedding(self) -> bool:
        return EMBEDDINGS in self.apis

    @property
    def is_chat(self) -> bool:
        return CHAT in self.apis

    @property
    def responses_api(self) -> bool:
        return RESPONSES in self.apis


_CHAT = frozenset({CHAT})
_CHAT_AND_RESPONSES = frozenset({CHAT, RESPONSES})
_RESPONSES_ONLY = frozenset({RESPONSES})

# models: "gpt-4o (2024-11-20) ... Structured outputs, Text and image processing, JSON Mode,
# parallel function calling ... Input: 128,000 Output: 16,384" (also gpt-4o-mini 2024-07-18).
_GPT4O = ModelSpec(
    family="gpt-4o",
    apis=_CHAT_AND_RESPONSES,
    context_window=128_000,
    max_output=16_384,
    vision=True,
    json_schema=True,
)

# reasoning, o-series table: developer messages, structured outputs, "Input: 200,000 Output:
# 100,000" (facts §8), reasoning effort low/medium/high (facts §8), functions/tools, no
# parallel tool calls, system messages treated as developer messages. (models lists "parallel
# tool calling" for o3; the reasoning page's feature table, the more specific, says no.)
_O_SERIES = ModelSpec(
    family="o-series",
    apis=_CHAT_AND_RESPONSES,
    context_window=200_000,
    max_output=100_000,
    reasoning=True,
    vision=True,
    parallel_tool_calls=False,
    json_schema=True,
    developer_role=True,
    reasoning_efforts=("low", "medium", "high"),
    first_dated_version="2025-04-01-preview",  # reasoning@2025-08 "API Version" row
)

# reasoning, GPT-5 table: "400,000 (Input: 272,000 Output: 128,000)" (facts §8), developer and
# system messages, structured outputs, image input, parallel tool calls (not with
# reasoning_effort minimal), efforts minimal/low/medium/high, verbosity low/medium/high.
# facts §8 and reasoning@2025-08 list only the v1 route for GPT-5; the last dated preview is
# the one dated version modelled (clients in the wild use it with these models), no older one.
_GPT5 = ModelSpec(
    family="gpt-5",
    apis=_CHAT_AND_RESPONSES,
    context_window=400_000,
    max_output=128_000,
    reasoning=True,
    vision=True,
    json_schema=True,
    developer_role=True,
    reasoning_efforts=("minimal", "low", "medium", "high"),
    verbosity=True,
    first_dated_version="2025-04-01-preview",
)

# models@2025-06 embeddings table: "text-embedding-3-small | 8,192 | 1,536", "-3-large | 8,192 |
# 3,072", "ada-002 (version 2) | 8,192 | 1,536"; facts §6: dimensions "Only supported in
# text-embedding-3 and later models" (both specs).
_EMBEDDING_3 = ModelSpec(
    family="text-embedding-3",
    apis=frozenset({EMBEDDINGS}),
    context_window=8_192,
    max_output=0,
    tools=False,
    parallel_tool_calls=False,
    json_object=False,
    embedding_dimensions=1_536,
    supports_dimensions=True,
    max_input_tokens=8_192,
)

_TABLE: dict[str, ModelSpec] = {
    # models@2025-06: "gpt-35-turbo (0125) ... JSON Mode, parallel function calling ... Input:
    # 16,385 Output: 4,096"; gpt-35-turbo-instruct "Completions endpoint only ... 4,097".
    "gpt-35-turbo": ModelSpec(
        family="gpt-35-turbo", apis=_CHAT, context_window=16_385, max_output=4_096
    ),
    "gpt-35-turbo-instruct": ModelSpec(
        family="gpt-35-turbo-instruct",
        apis=frozenset({COMPLETIONS}),
        context_window=4_097,
        max_output=4_096,
        tools=False,
        parallel_tool_calls=False,
        json_object=False,
    ),
    # (davinci-002 and babbage-002, the last Completions-only base models, retired on
    # 2025-01-27: legacy-models.md @0568283; a deployment of one serves as an unknown model.)
    # GPT-4 (0613) 8,192 and gpt-4-32k 32,768; GPT-4 Turbo (turbo-2024-04-09) "Input: 128,000
    # Output: 4,096" with vision; "These models can be used only with the Chat Completions API".
    "gpt-4": ModelSpec(family="gpt-4", apis=_CHAT, context_window=8_192, max_output=8_192),
    "gpt-4-32k": ModelSpec(family="gpt-4", apis=_CHAT, context_window=32_768, max_output=8_192),
    "gpt-4-turbo": ModelSpec(
        family="gpt-4", apis=_CHAT, context_window=128_000, max_output=4_096, vision=True
    ),
    "gpt-4-1106": ModelSpec(family="gpt-4", apis=_CHAT, context_window=128_000, max_output=4_096),
    "gpt-4-0125": ModelSpec(family="gpt-4", apis=_CHAT, context_window=128_000, max_output=4_096),
    "gpt-4-vision": ModelSpec(
        family="gpt-4", apis=_CHAT, context_window=128_000, max_output=4_096, vision=True
    ),
    "gpt-4o": _GPT4O,
    "gpt-4o-mini": _GPT4O,
    # models@2025-06 audio table: "gpt-4o-audio-preview ... Input: 128,000 Output: 16,384".
    "gpt-4o-audio": replace(_GPT4O, family="gpt-4o-audio", vision=False),
    # models: gpt-4.1 / -mini / -nano "Text and image input ... Chat completions API, Responses
    # API ... Function calling, Structured outputs ... 1,047,576 ... 32,768".
    "gpt-4.1": replace(_GPT4O, family="gpt-4.1", context_window=1_047_576, max_output=32_768),
    "gpt-4.1-mini": replace(_GPT4O, family="gpt-4.1", context_window=1_047_576, max_output=32_768),
    "gpt-4.1-nano": replace(_GPT4O, family="gpt-4.1", context_window=1_047_576, max_output=32_768),
    "gpt-4.5": replace(_GPT4O, family="gpt-4.5"),
    # reasoning@2025-08 and models: o1 (2024-12-17) "Text and image processing, Functions/Tools";
    # served from 2024-12-01-preview (the reasoning page at its release: "o1, 2024-12-17: API
    # Version 2024-12-01-preview").
    "o1": replace(_O_SERIES, first_dated_version="2024-12-01-preview"),
    # models: o1-preview "Input: 128,000 Output: 32,768"; o1-mini "Input: 128,000 Output: 65,536"
    # (facts §8); reasoning@2025-08, o1-mini column: no developer messages, structured outputs,
    # reasoning effort, image input, Responses API, functions/tools or system messages. "Initial
    # support for the o1-preview and o1-mini preview models was added in API version
    # 2024-09-01-preview" (the reasoning page of 2024).
    "o1-preview": replace(
        _O_SERIES,
        apis=_CHAT,
        context_window=128_000,
        max_output=32_768,
        vision=False,
        tools=False,
        json_schema=False,
        json_object=False,
        developer_role=False,
        system_role=False,
        reasoning_efforts=(),
        first_dated_version="2024-09-01-preview",
    ),
    "o1-mini": replace(
        _O_SERIES,
        apis=_CHAT,
        context_window=128_000,
        max_output=65_536,
        vision=False,
        tools=False,
        json_schema=False,
        json_object=False,
        developer_role=False,
        system_role=False,
        reasoning_efforts=(),
        first_dated_version="2024-09-01-preview",
    ),
    "o3": _O_SERIES,
    # reasoning: o3-mini has no image input ("Text-only processing", models); it came with
    # 2024-12-01-preview (the reasoning page of 2025-02: "o3-mini, 2025-01-31: API Version
    # 2024-12-01-preview, 2025-01-01-preview").
    "o3-mini": replace(_O_SERIES, vision=False, first_dated_version="2024-12-01-preview"),
    "o4-mini": _O_SERIES,
    # reasoning: codex-mini and o3-pro have no Chat Completions API (Responses only).
    "o3-pro": replace(_O_SERIES, apis=_RESPONSES_ONLY),
    "codex-mini": replace(_O_SERIES, apis=_RESPONSES_ONLY),
    "gpt-5": _GPT5,
    "gpt-5-mini": _GPT5,
    "gpt-5-nano": _GPT5,
    # reasoning, GPT-5 table: gpt-5-codex is Responses only ("Chat Completions API -"), and
    # "gpt-5-codex does not support reasoning_effort minimal".
    "gpt-5-codex": replace(
        _GPT5, apis=_RESPONSES_ONLY, reasoning_efforts=("low", "medium", "high")
    ),
    # reasoning: gpt-5-pro is Responses only, without parallel tool calls, and "only supports
    # reasoning_effort high".
    "gpt-5-pro": replace(
        _GPT5, apis=_RESPONSES_ONLY, parallel_tool_calls=False, reasoning_efforts=("high",)
    ),
    # models: gpt-5-chat (2025-08-07, 2025-10-03) "Chat Completions API, Responses API, Input:
    # Text/Image, Output: Text only", 128,000 / 16,384: not a reasoning model, and no functions,
    # tools or structured outputs among its capabilities (every other GPT-5 row lists them).
    "gpt-5-chat": replace(
        _GPT4O,
        family="gpt-5-chat",
        tools=False,
        parallel_tool_calls=False,
        json_schema=False,
    ),
    # reasoning, note 7: gpt-5.1 (and gpt-5.2) take reasoning_effort 'none'; the options row
    # allows minimal for the GPT-5 series, xhigh "only ... with gpt-5.1-codex-max".
    "gpt-5.1": replace(_GPT5, reasoning_efforts=("none", "low", "medium", "high")),
    # models: "gpt-5.1-chat adds built-in reasoning capabilities. Like other reasoning models it
    # does not support parameters like temperature", 128,000 (Input: 111,616 Output: 16,384).
    "gpt-5.1-chat": replace(
        _GPT5,
        family="gpt-5.1-chat",
        context_window=128_000,
        max_output=16_384,
        reasoning_efforts=("none", "low", "medium", "high"),
    ),
    # models: gpt-5.1-codex / -mini / -max are "Responses API only"; codex-max adds xhigh and
    # does not take none.
    "gpt-5.1-codex": replace(
        _GPT5, apis=_RESPONSES_ONLY, reasoning_efforts=("none", "low", "medium", "high")
    ),
    "gpt-5.1-codex-max": replace(
        _GPT5, apis=_RESPONSES_ONLY, reasoning_efforts=("low", "medium", "high", "xhigh")
    ),
    "gpt-5.2": replace(_GPT5, reasoning_efforts=("none", "low", "medium", "high")),
    # gpt-5.2-chat, gpt-5.2-codex and every later gpt-5.N name: _gpt5_minor below.
    # models, gpt-oss: "gpt-oss-120b / gpt-oss-20b | Text in/text out only, Chat Completions API,
    # Streaming, Function calling, Structured outputs, Reasoning | 131,072 | 131,072". Effort
    # low/medium/high as the open-weight model card has it; parallel tool calls, developer
    # messages and the Responses API are not listed.
    "gpt-oss": ModelSpec(
        family="gpt-oss",
        apis=_CHAT,
        context_window=131_072,
        max_output=131_072,
        reasoning=True,
        parallel_tool_calls=False,
        json_schema=True,
        reasoning_efforts=("low", "medium", "high"),
    ),
    # Azure model-router concepts page: a chat deployment that sends each prompt to one of its
    # underlying models (2025-05-19: gpt-4.1, gpt-4.1-mini, gpt-4.1-nano, o4-mini) and names that
    # model in the response's "model" field; image input accepted ("all underlying models can
    # accept image input"); "the context window limit listed ... is the limit of the smallest
    # underlying model" (128,000 / 16,384 taken, gpt-5-chat's, the smallest of later versions).
    # It takes no reasoning_effort; structured outputs are not promised for every routed model.
    # The emulator's router always answers with gpt-4.1-mini.
    "model-router": replace(
        _GPT4O,
        family="model-router",
        apis=_CHAT,
        json_schema=False,
        answers_as="gpt-4.1-mini-2025-04-14",
    ),
    "text-embedding-3-small": _EMBEDDING_3,
    "text-embedding-3-large": replace(_EMBEDDING_3, embedding_dimensions=3_072),
    "text-embedding-ada-002": replace(
        _EMBEDDING_3, family="text-embedding-ada-002", supports_dimensions=False
    ),
}

_KEYS = sorted(_TABLE, key=len, reverse=True)

# models @00bb554 lists GPT-5.1 through GPT-5.5 and Azure adds a minor version every few months,
# so a gpt-5.N name the table does not spell out is read by rule from its minor version and its
# first suffix (mini, nano, pro, codex, chat, or a new one such as gpt-5.6-luna).
_GPT5_MINOR = re.compile(r"gpt-5\.([0-9]+)(-[a-z]+)?")

#: Documented names the rule serves (for known_models and the table comparison).
_RULE_NAMES = (
    "gpt-5.2-chat",
    "gpt-5.2-codex",
    "gpt-5.3-chat",
    "gpt-5.3-codex",
    "gpt-5.4",
    "gpt-5.4-mini",
    "gpt-5.4-nano",
    "gpt-5.4-pro",
    "gpt-5.5",
)


def _gpt5_minor(minor: int, suffix: str) -> ModelSpec:
    # The live service's answer to reasoning_effort 'minimal' from gpt-5.4 on: "Supported values
    # are: 'none', 'low', 'medium', 'high', and 'xhigh'." (the gpt-5.2 row above keeps the
    # reasoning page's list, see test_tables_agree UNSETTLED).
    efforts = (
        ("none", "low", "medium", "high")
        if minor < 3
        else ("none", "low", "medium", "high", "xhigh")
    )
    if minor == 2 and suffix == "":
        return _TABLE["gpt-5.2"]
    # models: gpt-5.4 (2026-03-05), gpt-5.5 (2026-04-24) and gpt-5.4-pro "1,050,000 (Input:
    # 922,000, Output: 128,000)"; gpt-5.4-mini, -nano and the 5.2/5.3 models "400,000 (Input:
    # 272,000 Output: 128,000)". Later minors: the 400,000 all GPT-5 models have at least.
    window = 1_050_000 if minor in (4, 5) and suffix in ("", "-pro") else 400_000
    if suffix == "-chat":
        # models: gpt-5.2-chat and gpt-5.3-chat (Preview): "Chat Completions API, Responses API,
        # Structured outputs, Functions, tools, and parallel tool calling", 128,000 (Input:
        # 111,616 Output: 16,384), no "Reasoning" in the row where gpt-5.1-chat's and
        # gpt-chat-latest's have it; the reasoning page's GPT-5 table omits them. Image input as
        # the siblings gpt-5-chat ("Input: Text/Image") and gpt-5.1-chat.
        return replace(_GPT4O, family=f"gpt-5.{minor}-chat")
    if suffix == "-codex":
        # models: gpt-5.2-codex / gpt-5.3-codex "Responses API ... 400,000"; OpenAI's
        # gpt-5.3-codex model page: effort low, medium, high, xhigh.
        return replace(
            _GPT5,
            family=f"gpt-5.{minor}-codex",
            apis=_RESPONSES_ONLY,
            reasoning_efforts=("low", "medium", "high", "xhigh"),
        )
    if suffix == "-pro":
        # models: gpt-5.4-pro "Reasoning, Responses API, Text and image processing, Functions &
        # tools": no Chat Completions, parallel tool calls or structured outputs in its row.
        # OpenAI: the pro models after gpt-5-pro take effort medium, high, xhigh.
        return replace(
            _GPT5,
            family=f"gpt-5.{minor}-pro",
            apis=_RESPONSES_ONLY,
            context_window=window,
            parallel_tool_calls=False,
            json_schema=minor < 4,
            reasoning_efforts=("medium", "high", "xhigh"),
        )
    # The base model, -mini, -nano and an undocumented suffix: reasoning, both APIs.
    return replace(_GPT5, family=f"gpt-5.{minor}", context_window=window, reasoning_efforts=efforts)


# Foundry models on the OpenAI-compatible chat route (facts §2.4). The emulator plays them as
# plain chat models with the smallest window among each family's Foundry models. Reasoning
# output: Foundry's use-chat-reasoning page, "Some reasoning models, like DeepSeek-R1, ... The
# reasoning associated with the completion is included in the response's content within the tags
# <think> and </think>" (MAI-DS-R1 is a DeepSeek-R1 post-training); the Phi-4-reasoning and
# Phi-4-mini-reasoning model cards: "<think> {Thought section} </think> {Solution section}"; the
# thinking DeepSeek V models on Azure's Chat Completions "send the reasoning back as
# reasoning_content" (earendil-works/pi#9645, DeepSeek V4 Pro on Foundry).
_FOUNDRY_RULES: tuple[tuple[re.Pattern[str], ModelSpec], ...] = tuple(
    (
        re.compile(pattern),
        ModelSpec(
            family=family,
            apis=_CHAT,
            context_window=window,
            max_output=out,
            parallel_tool_calls=False,
            json_object=False,
            reasoning_output=shows,
        ),
    )
    for pattern, family, window, out, shows in (
        (r"^(deepseek-r1|mai-ds-r1)\b", "deepseek-r1", 128_000, 32_768, "think_tags"),
        (r"^deepseek-v(3\.[1-9]|[4-9])", "deepseek", 128_000, 8_192, "reasoning_content"),
        (r"^deepseek-", "deepseek", 128_000, 8_192, None),
        (r"(^|-)llama-", "llama", 128_000, 4_096, None),
        (r"^(mistral|ministral|codestral)", "mistral", 32_768, 4_096, None),
        (r"^phi-4(-mini)?-reasoning", "phi", 16_384, 4_096, "think_tags"),
        (r"^phi-", "phi", 16_384, 4_096, None),
    )
)

_UNKNOWN = ModelSpec(
    family="unknown", apis=_CHAT_AND_RESPONSES, context_window=8_192, max_output=4_096, known=False
)
_UNKNOWN_EMBEDDING = replace(
    _EMBEDDING_3, family="embedding", known=False, supports_dimensions=False
)
#: Image models serve the Images API only (so chat on one answers OperationNotSupported); their
#: sizes, qualities and limits are api_images' own table. known=False: the product's catalogue
#: has no image rows to compare with (test_tables_agree). DALL-E 3 has no edits (how-to dall-e:
#: "DALL-E models don't support the Image Edit API").
_IMAGE_MODEL = ModelSpec(
    family="image",
    apis=frozenset({IMAGES, IMAGE_EDITS}),
    context_window=0,
    max_output=0,
    known=False,
    tools=False,
    parallel_tool_calls=False,
    json_object=False,
)
_DALL_E = replace(_IMAGE_MODEL, family="dall-e", apis=frozenset({IMAGES}))


def _normalise(name: str) -> str:
    n = name.strip().lower()
    return "gpt-35" + n[len("gpt-3.5") :] if n.startswith("gpt-3.5") else n


@lru_cache(maxsize=256)
def model_spec(model: str) -> ModelSpec:
    """What the emulator serves for ``model`` (a deployment's model name); never raises."""
    n = _normalise(model)
    minor = _GPT5_MINOR.match(n)
    for key in _KEYS:
        # gpt-5.N names take a table row only if it is as specific as their minor and suffix.
        if minor and len(key) < minor.end():
            break
        if n == key or (n.startswith(key) and n[len(key)] in "-_:"):
            return _TABLE[key]
    if minor:
        return _gpt5_minor(int(minor.group(1)), minor.group(2) or "")
    for pattern, spec in _FOUNDRY_RULES:
        if pattern.search(n):
            return spec
    if n.startswith("text-embedding"):
        return _UNKNOWN_EMBEDDING
    if n.startswith("gpt-image-"):
        return _IMAGE_MODEL
    if n.startswith("dall-e-"):
        return _DALL_E
    return _UNKNOWN


def known_models() -> list[str]:
    """The table's keys and the documented names its gpt-5.N rule serves (model names as Azure
    spells them)."""
    return sorted({*_TABLE, *_RULE_NAMES})
