"""What azoai knows about model families: limits and capabilities, keyed by the *real* model name.

Azure users name deployments freely ("prod-chat", "gpt4o-eu"), so nothing here is looked up by
deployment name. The model name comes from discovery, a static deployment list or the user's
``model=`` argument. An unknown name never raises: it gets conservative defaults and
``known=False``, which callers (``azoai doctor``, metadata) can report.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache

__all__ = ["ModelInfo", "display_name", "known_families", "lookup_model"]


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """Capabilities and limits of one model family.

    ``context_window`` is the total window (input plus output) in tokens; ``max_output`` the most
    the model will generate in one response.
    """

    name: str
    family: str
    known: bool = True
    kind: str = "chat"  # "chat" or "embedding"
    reasoning: bool = False
    context_window: int = 8_192
    max_output: int = 4_096
    vision: bool = False
    tools: bool = True
    parallel_tool_calls: bool = True
    json_schema: bool = False
    json_object: bool = True
    developer_role: bool = False
    system_role: bool = True
    reasoning_efforts: tuple[str, ...] = ()
    #: The effort a call that names none gets (``None``: not documented or not configurable).
    default_effort: str | None = None
    #: Takes audio input parts on Chat Completions (the ``gpt-4o-audio`` models).
    audio_input: bool = False
    verbosity: bool = False
    responses_api: bool = False
    # embeddings
    embedding_dimensions: int | None = None
    supports_dimensions: bool = False
    max_input_tokens: int | None = None
    # offline token counting
    encoding: str = "cl100k_base"
    #: The first dated api-version (deployments route) that serves the model; an older one is an
    #: ``ApiVersionError`` before sending. ``None``: any version that has the API.
    first_dated_version: str | None = None
    #: A router deployment (``model-router``): each answer names the model that produced it.
    router: bool = False
    #: Where a non-OpenAI reasoning model puts its visible reasoning on Chat Completions:
    #: ``"think_tags"`` (a leading ``<think>…</think>`` in the content) or ``"reasoning_content"``
    #: (a field beside the content). The field is read for every model; a leading ``<think>``
    #: block is split out of the answer only for a family that has a value here.
    reasoning_output: str | None = None
    #: When Chat Completions refuses a turn with function tools and reasoning ("Function tools
    #: with reasoning_effort are not supported for gpt-5.x in /v1/chat/completions. Please use
    #: /v1/responses"), so azoai sends such a turn to the Responses API: ``"effort"`` when the
    #: call sets a reasoning_effort other than 'none' (the model's default is 'none');
    #: ``"unless_none"`` unless it sets 'none' (the model's default effort counts too);
    #: ``None``: Chat Completions takes tools with reasoning.
    tools_need_responses: str | None = None

    @property
    def is_chat(self) -> bool:
        return self.kind == "chat"

    @property
    def is_embedding(self) -> bool:
        return self.kind == "embedding"


_GPT4O = ModelInfo(
    name="gpt-4o",
    family="gpt-4o",
    context_window=128_000,
    max_output=16_384,
    vision=True,
    json_schema=True,
    responses_api=True,
    encoding="o200k_base",
)
_O_SERIES = ModelInfo(
    name="o3",
    family="o-series",
    reasoning=True,
    context_window=200_000,
    max_output=100_000,
    vision=True,
    json_schema=True,
    developer_role=True,
    reasoning_efforts=("low", "medium", "high"),
    default_effort="medium",
    responses_api=True,
    parallel_tool_calls=False,
    encoding="o200k_base",
    # Azure reasoning.md (2025-08) "API Version" row: o3, o4-mini from 2025-04-01-preview.
    first_dated_version="2025-04-01-preview",
)
_GPT5 = ModelInfo(
    name="gpt-5",
    family="gpt-5",
    reasoning=True,
    context_window=400_000,
    max_output=128_000,
    vision=True,
    json_schema=True,
    developer_role=True,
    reasoning_efforts=("minimal", "low", "medium", "high"),
    default_effort="medium",
    verbosity=True,
    responses_api=True,
    encoding="o200k_base",
    # facts §8: GPT-5 "v1 only"; 2025-04-01-preview, the last dated preview, is the one dated
    # version clients use with it.
    first_dated_version="2025-04-01-preview",
)
_EMBED = ModelInfo(
    name="text-embedding-3-small",
    family="text-embedding-3",
    kind="embedding",
    context_window=8_191,
    max_output=0,
    tools=False,
    parallel_tool_calls=False,
    json_object=False,
    embedding_dimensions=1536,
    supports_dimensions=True,
    max_input_tokens=8_191,
)

# Longest matching prefix wins, so "gpt-4o-mini" is found before "gpt-4o" and "o1-mini" before "o1".
_CATALOG: dict[str, ModelInfo] = {
    "gpt-3.5-turbo": ModelInfo(
        name="gpt-3.5-turbo", family="gpt-3.5", context_window=16_385, max_output=4_096
    ),
    # Azure: "gpt-35-turbo-instruct (0914) | Completions endpoint only | 4,097" (concepts/models.md
    # @005fa2f). No tools or JSON mode, so adapters never offer them; chat on it is refused by
    # Azure (OperationNotSupported), a typed error for that belongs with the completions call.
    "gpt-3.5-turbo-instruct": ModelInfo(
        name="gpt-3.5-turbo-instruct",
        family="gpt-3.5-turbo-instruct",
        context_window=4_097,
        max_output=4_096,
        tools=False,
        parallel_tool_calls=False,
        json_object=False,
    ),
    "gpt-4": ModelInfo(name="gpt-4", family="gpt-4", context_window=8_192, max_output=8_192),
    "gpt-4-32k": ModelInfo(
        name="gpt-4-32k", family="gpt-4", context_window=32_768, max_output=8_192
    ),
    "gpt-4-turbo": ModelInfo(
        name="gpt-4-turbo", family="gpt-4", context_window=128_000, max_output=4_096, vision=True
    ),
    "gpt-4-1106": ModelInfo(
        name="gpt-4-1106", family="gpt-4", context_window=128_000, max_output=4_096
    ),
    "gpt-4-0125": ModelInfo(
        name="gpt-4-0125", family="gpt-4", context_window=128_000, max_output=4_096
    ),
    "gpt-4-vision": ModelInfo(
        name="gpt-4-vision", family="gpt-4", context_window=128_000, max_output=4_096, vision=True
    ),
    "gpt-4o": _GPT4O,
    "gpt-4o-mini": replace(_GPT4O, name="gpt-4o-mini"),
    "gpt-4o-audio": replace(_GPT4O, name="gpt-4o-audio", vision=False, audio_input=True),
    "gpt-4.1": replace(
        _GPT4O, name="gpt-4.1", family="gpt-4.1", context_window=1_047_576, max_output=32_768
    ),
    "gpt-4.1-mini": replace(
        _GPT4O, name="gpt-4.1-mini", family="gpt-4.1", context_window=1_047_576, max_output=32_768
    ),
    "gpt-4.1-nano": replace(
        _GPT4O, name="gpt-4.1-nano", family="gpt-4.1", context_window=1_047_576, max_output=32_768
    ),
    "gpt-4.5": replace(_GPT4O, name="gpt-4.5", family="gpt-4.5"),
    # "Model {modelName} is enabled only for api versions 2024-12-01-preview and later" is
    # Azure's answer for o1 / o3-mini on older versions (semantic-kernel#12268).
    "o1": replace(_O_SERIES, name="o1", first_dated_version="2024-12-01-preview"),
    "o1-preview": replace(
        _O_SERIES,
        name="o1-preview",
        context_window=128_000,
        max_output=32_768,
        vision=False,
        tools=False,
        json_schema=False,
        json_object=False,
        developer_role=False,
        system_role=False,
        reasoning_efforts=(),
        default_effort=None,
        responses_api=False,
        first_dated_version="2024-09-01-preview",
    ),
    "o1-mini": replace(
        _O_SERIES,
        name="o1-mini",
        context_window=128_000,
        max_output=65_536,
        vision=False,
        tools=False,
        json_schema=False,
        json_object=False,
        developer_role=False,
        system_role=False,
        reasoning_efforts=(),
        default_effort=None,
        responses_api=False,
        first_dated_version="2024-09-01-preview",
    ),
    "o3": _O_SERIES,
    "o3-mini": replace(
        _O_SERIES, name="o3-mini", vision=False, first_dated_version="2024-12-01-preview"
    ),
    "o3-pro": replace(_O_SERIES, name="o3-pro"),
    "o4-mini": replace(_O_SERIES, name="o4-mini"),
    "codex-mini": replace(_O_SERIES, name="codex-mini"),
    "gpt-5": _GPT5,
    "gpt-5-mini": replace(_GPT5, name="gpt-5-mini"),
    "gpt-5-nano": replace(_GPT5, name="gpt-5-nano"),
    # Azure reasoning.md: "gpt-5-codex does not support reasoning_effort minimal".
    "gpt-5-codex": replace(_GPT5, name="gpt-5-codex", reasoning_efforts=("low", "medium", "high")),
    # Azure reasoning.md GPT-5 table: gpt-5-pro "Parallel Tool Calls -", effort high only.
    "gpt-5-pro": replace(
        _GPT5,
        name="gpt-5-pro",
        parallel_tool_calls=False,
        reasoning_efforts=("high",),
        default_effort="high",
    ),
    # gpt-5-chat is the non-reasoning chat variant: it keeps temperature and max_tokens. Azure
    # lists no functions/tools and no structured outputs for it (models table; structured-outputs
    # "Supported models" has every other GPT-5 but not it), and the service says "tools is not
    # supported in this model".
    "gpt-5-chat": replace(
        _GPT4O,
        name="gpt-5-chat",
        family="gpt-5-chat",
        context_window=128_000,
        max_output=16_384,
        tools=False,
        parallel_tool_calls=False,
        json_schema=False,
    ),
    # OpenAI's reasoning guide: from gpt-5.1 the default effort is none (gpt-5.2 to gpt-5.4 too,
    # see _tools_rule); gpt-5.5 defaults to medium again.
    "gpt-5.1": replace(
        _GPT5,
        name="gpt-5.1",
        reasoning_efforts=("none", "low", "medium", "high"),
        default_effort="none",
    ),
    # Azure models/reasoning tables: the -chat models have "128,000 (Input: 111,616 Output:
    # 16,384)", not their base model's 400,000 window.
    "gpt-5.1-chat": replace(
        _GPT5,
        name="gpt-5.1-chat",
        family="gpt-5.1-chat",
        context_window=128_000,
        max_output=16_384,
        reasoning_efforts=("none", "low", "medium", "high"),
        default_effort=None,
    ),
    # Azure models: "gpt-5.1-codex-max adds support for setting reasoning_effort to xhigh.
    # Reasoning effort none is not supported with gpt-5.1-codex-max."
    "gpt-5.1-codex-max": replace(
        _GPT5, name="gpt-5.1-codex-max", reasoning_efforts=("low", "medium", "high", "xhigh")
    ),
    # xhigh: OpenAI's API reference says "xhigh is supported for all models after
    # gpt-5.1-codex-max"; Azure's one line saying otherwise is stale (the same row says none is
    # gpt-5.1 only, which its own footnote contradicts for gpt-5.2).
    "gpt-5.2": replace(
        _GPT5,
        name="gpt-5.2",
        reasoning_efforts=("none", "low", "medium", "high", "xhigh"),
        default_effort="none",
        tools_need_responses="effort",
    ),
    # gpt-5.2-chat and later -chat models: see _gpt5_line (not reasoning models).
    "text-embedding-ada-002": replace(
        _EMBED,
        name="text-embedding-ada-002",
        family="ada-002",
        supports_dimensions=False,
        embedding_dimensions=1536,
    ),
    "text-embedding-3-small": _EMBED,
    "text-embedding-3-large": replace(
        _EMBED, name="text-embedding-3-large", embedding_dimensions=3072
    ),
}

# --- families by rule ----------------------------------------------------------------------------
# Azure ships a new gpt-5 minor version every few months (models = MicrosoftDocs/azure-ai-docs
# articles/foundry/openai/includes/models-azure-direct-openai.md @00bb554, 2026-06), so the gpt-5.N
# line is matched by rule: the table above keeps the documented exceptions (gpt-5.1, gpt-5.1-chat,
# gpt-5.1-codex-max, gpt-5.2), everything else gpt-5.N[-variant] follows _gpt5_line.
_GPT5_LINE = re.compile(r"^gpt-5\.(\d+)(?:-([a-z]+))?")
#: models: gpt-5.4 and gpt-5.5 (and gpt-5.4-pro) "1,050,000 (Input: 922,000 Output: 128,000)";
#: -mini, -nano, -codex and gpt-5.2/5.3 "400,000 (Input: 272,000 Output: 128,000)". A minor
#: version or variant not documented yet gets the 400,000 every GPT-5 model has at least.
_LONG_WINDOW_MINORS = (4, 5)
_EFFORTS_5_2_ON = ("none", "low", "medium", "high", "xhigh")


def _tools_rule(minor: int) -> str | None:
    """Chat Completions and function tools with reasoning, by minor version: "Function tools with
    reasoning_effort are not supported for gpt-5.4 in /v1/chat/completions. Please use
    /v1/responses instead." for an explicit effort on gpt-5.2 to gpt-5.4, whose default effort is
    'none' (openai/openai-openapi#541, livekit/agents#5088 and #7169: they "just need it
    absent"); from gpt-5.5 the default effort is refused too, only 'none' passes
    (jeffdafoe/llm-memory-api#178 for gpt-5.5, BerriAI/litellm#34569 and
    danny-avila/LibreChat#14231 for gpt-5.6: "use /v1/responses or set reasoning_effort to
    'none'"; Azure deployments answer alike, aaif-goose/goose#9825)."""
    if minor < 2:
        return None
    return "effort" if minor < 5 else "unless_none"


def _gpt5_line(minor: int, variant: str | None, name: str) -> ModelInfo:
    long_window = minor in _LONG_WINDOW_MINORS and variant in (None, "pro")
    window = 1_050_000 if long_window else 400_000
    efforts = ("none", "low", "medium", "high") if minor < 2 else _EFFORTS_5_2_ON
    family = f"gpt-5.{minor}"
    if variant == "chat":
        # models: gpt-5.2-chat and gpt-5.3-chat list "Chat Completions API, Responses API,
        # Structured outputs, Functions, tools, and parallel tool calling", 128,000 / 16,384, and
        # no "Reasoning" (gpt-5.1-chat's row and gpt-chat-latest's list it; gpt-5.1-chat is the
        # table's exception above). Not reasoning models: temperature and max_tokens are kept.
        return replace(
            _GPT4O,
            name=name,
            family=f"{family}-chat",
            context_window=128_000,
            max_output=16_384,
        )
    if variant == "codex":
        # models: gpt-5.1-codex / gpt-5.2-codex / gpt-5.3-codex are Responses-only reasoning
        # models, 400,000 / 128,000; OpenAI's gpt-5.3-codex page: effort low/medium/high/xhigh
        # (no none).
        codex_efforts = efforts if minor < 2 else ("low", "medium", "high", "xhigh")
        return replace(
            _GPT5,
            name=name,
            family=f"{family}-codex",
            context_window=window,
            reasoning_efforts=codex_efforts,
            tools_need_responses=_tools_rule(minor),
        )
    if variant == "pro":
        # models: gpt-5.4-pro "Responses API, Text and image processing, Functions & tools" (no
        # parallel tool calls, no structured outputs listed); OpenAI: the pro models after gpt-5
        # take effort medium/high/xhigh.
        return replace(
            _GPT5,
            name=name,
            family=f"{family}-pro",
            context_window=window,
            parallel_tool_calls=False,
            json_schema=minor < 4,
            reasoning_efforts=("high",) if minor < 2 else ("medium", "high", "xhigh"),
            default_effort="high" if minor < 2 else None,
            tools_need_responses=_tools_rule(minor),
        )
    # The base model, -mini, -nano, and a variant not documented yet (gpt-5.6-luna): a reasoning
    # model with the line's rules. From gpt-5.4 on the live service answers minimal with
    # "Supported values are: 'none', 'low', 'medium', 'high', and 'xhigh'."
    return replace(
        _GPT5,
        name=name,
        family=family,
        context_window=window,
        reasoning_efforts=efforts,
        default_effort="none" if minor < 5 else "medium",
        tools_need_responses=_tools_rule(minor),
    )


#: Azure's model router: one deployment that sends each prompt to one of its underlying models
#: and names that model in the response's ``model`` field (Azure model-router concepts page). The
#: capabilities are the ones every underlying model shares: not a reasoning model (the router
#: takes no reasoning_effort; sampling parameters are the caller's), image input ("all underlying
#: models can accept image input"), tools; no structured outputs assumed (adapters fall back to
#: tool calling). "The context window limit listed ... is the limit of the smallest underlying
#: model": 128,000 / 16,384, gpt-5-chat's, the smallest among the router's GPT-5-era models.
_MODEL_ROUTER = replace(
    _GPT4O,
    name="model-router",
    family="model-router",
    context_window=128_000,
    max_output=16_384,
    json_schema=False,
    responses_api=False,
    router=True,
)

#: models, gpt-oss: "gpt-oss-120b / gpt-oss-20b: Text in/text out only, Chat Completions API,
#: Streaming, Function calling, Structured outputs, Reasoning | 131,072 | 131,072". Efforts
#: low/medium/high (the open-weight model card); developer role and parallel tool calls not
#: documented on Azure, so not assumed.
_GPT_OSS = ModelInfo(
    name="gpt-oss",
    family="gpt-oss",
    reasoning=True,
    context_window=131_072,
    max_output=131_072,
    json_schema=True,
    parallel_tool_calls=False,
    reasoning_efforts=("low", "medium", "high"),
    default_effort="medium",
    encoding="o200k_base",
)


def _foundry(
    name: str, family: str, window: int, output: int, reasoning_output: str | None = None
) -> ModelInfo:
    """A model sold through Foundry's OpenAI-compatible chat route (facts §2.4: "Chat completions
    on v1 also serve non-OpenAI Foundry models"). Conservative: chat with tools (the service
    decides), no structured outputs, images or parallel tool calls assumed, and the smallest
    window among the family's Foundry models so prompts are never packed past it."""
    return ModelInfo(
        name=name,
        family=family,
        context_window=window,
        max_output=output,
        parallel_tool_calls=False,
        json_object=False,
        reasoning_output=reasoning_output,
    )


# (pattern on the normalised name, family). DeepSeek-R1 style models think in their answer
# (reasoning_content or a leading <think>); they take no reasoning_effort and are not given the
# OpenAI reasoning-model rules, which Azure documents for its OpenAI models only. Reasoning output:
# DeepSeek-R1 / MAI-DS-R1 "within the tags <think> and </think>" in the content (Foundry
# use-chat-reasoning); Phi-4-reasoning and Phi-4-mini-reasoning the same (their model cards:
# "<think> {Thought section} </think> {Solution section}"); the thinking DeepSeek V models (V3.1
# on) send "reasoning_content" on Azure's Chat Completions (earendil-works/pi#9645, DeepSeek V4
# Pro on Foundry), while Foundry's reasoning page shows DeepSeek-V4-Pro with <think> tags: both
# are read for them.
_FOUNDRY: tuple[tuple[re.Pattern[str], ModelInfo], ...] = (
    (
        re.compile(r"^(deepseek-r1|mai-ds-r1)\b"),
        _foundry("deepseek-r1", "deepseek-r1", 128_000, 32_768, "think_tags"),
    ),
    (
        re.compile(r"^deepseek-v(3\.[1-9]|[4-9])"),
        _foundry("deepseek", "deepseek", 128_000, 8_192, "reasoning_content"),
    ),
    (re.compile(r"^deepseek-"), _foundry("deepseek", "deepseek", 128_000, 8_192)),
    (re.compile(r"(^|-)llama-"), _foundry("llama", "llama", 128_000, 4_096)),
    (re.compile(r"^(mistral|ministral|codestral)"), _foundry("mistral", "mistral", 32_768, 4_096)),
    (
        re.compile(r"^phi-4(-mini)?-reasoning"),
        _foundry("phi", "phi", 16_384, 4_096, "think_tags"),
    ),
    (re.compile(r"^phi-"), _foundry("phi", "phi", 16_384, 4_096)),
)

#: Names the rules above cover, listed for documentation, ``doctor`` and the table comparison.
_RULE_EXAMPLES = (
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

_CATALOG["model-router"] = _MODEL_ROUTER
_CATALOG["gpt-oss"] = _GPT_OSS

_PREFIXES = sorted(_CATALOG, key=len, reverse=True)

_UNKNOWN = ModelInfo(
    name="",
    family="unknown",
    known=False,
    context_window=8_192,
    max_output=4_096,
    json_schema=False,
)


def _normalise(name: str) -> str:
    n = name.strip().lower()
    for prefix in ("azure-openai/", "azure/", "openai/"):
        if n.startswith(prefix):
            n = n[len(prefix) :]
    # Azure spells the 3.5 family without the dot.
    if n.startswith("gpt-35"):
        n = "gpt-3.5" + n[len("gpt-35") :]
    return n


@lru_cache(maxsize=512)
def lookup_model(name: str | None) -> ModelInfo:
    """Return what is known about ``name`` (a real model name such as ``gpt-4o-2024-08-06``).

    Matching is by longest prefix ending at a name boundary, so dated and suffixed variants map to
    their family. ``None``, an empty string or an unknown name gives conservative defaults with
    ``known=False``; this function never raises.
    """
    if not name:
        return _UNKNOWN
    n = _normalise(name)
    line = _GPT5_LINE.match(n)
    # A gpt-5.N name takes a table entry only when one is at least as specific as its family and
    # variant ("gpt-5.1-codex-max", not "gpt-5.2" for "gpt-5.2-codex").
    shortest = len(line.group(0)) if line else 0
    for prefix in _PREFIXES:
        if len(prefix) < shortest:
            break
        if _prefixes(n, prefix):
            info = _CATALOG[prefix]
            return info if info.name == name else replace(info, name=name)
    if line:
        return _gpt5_line(int(line.group(1)), line.group(2), name)
    for pattern, info in _FOUNDRY:
        if pattern.search(n):
            return replace(info, name=name)
    if n.startswith("text-embedding"):
        return replace(
            _EMBED, name=name, family="embedding", known=False, supports_dimensions=False
        )
    return replace(_UNKNOWN, name=name)


def _prefixes(n: str, prefix: str) -> bool:
    return n == prefix or (n.startswith(prefix) and n[len(prefix)] in "-_:@ ")


_GPT_NAME = re.compile(r"^gpt-(\d+(?:\.\d+)?[a-z]?)((?:-[a-z0-9.]+)*?)(?:-(\d{4}-\d{2}-\d{2}))?$")


def display_name(model: str) -> str:
    """A readable name for a model, as model profiles show one: ``gpt-5.5`` -> ``GPT-5.5``,
    ``gpt-4o-mini`` -> ``GPT-4o Mini``, ``gpt-35-turbo`` -> ``GPT-3.5 Turbo``, a dated name with
    its date in brackets; any other name (``o3``, ``DeepSeek-R1``) as given."""
    m = _GPT_NAME.match(_normalise(model))
    if m is None:
        return model
    base, rest, date = m.groups()
    words = [w if w[0].isdigit() else w.capitalize() for w in rest.split("-") if w]
    name = " ".join([f"GPT-{base}", *words])
    return f"{name} ({date})" if date else name


def known_families() -> list[str]:
    """The model name prefixes the catalogue recognises, with the documented names its rules
    cover (gpt-5.N and its variants), for documentation and ``doctor``."""
    return sorted({*_CATALOG, *_RULE_EXAMPLES})
