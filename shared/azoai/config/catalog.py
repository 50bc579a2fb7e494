"""What azoai knows about model families: limits and capabilities, keyed by the *real* model name.

Azure users name deployments freely ("prod-chat", "gpt4o-eu"), so nothing here is looked up by
deployment name. The model name comes from discovery, a static deployment list or the user's
``model=`` argument. An unknown name never raises: it gets conservative defaults and
``known=False``, which callers (``azoai doctor``, metadata) can report.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache

__all__ = ["ModelInfo", "known_families", "lookup_model"]


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
    verbosity: bool = False
    responses_api: bool = False
    # embeddings
    embedding_dimensions: int | None = None
    supports_dimensions: bool = False
    max_input_tokens: int | None = None
    # offline token counting
    encoding: str = "cl100k_base"

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
    responses_api=True,
    parallel_tool_calls=False,
    encoding="o200k_base",
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
    verbosity=True,
    responses_api=True,
    encoding="o200k_base",
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
    "gpt-4o-audio": replace(_GPT4O, name="gpt-4o-audio", vision=False),
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
    "o1": replace(_O_SERIES, name="o1"),
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
        responses_api=False,
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
        responses_api=False,
    ),
    "o3": _O_SERIES,
    "o3-mini": replace(_O_SERIES, name="o3-mini", vision=False),
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
        _GPT5, name="gpt-5-pro", parallel_tool_calls=False, reasoning_efforts=("high",)
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
    "gpt-5.1": replace(_GPT5, name="gpt-5.1", reasoning_efforts=("none", "low", "medium", "high")),
    # Azure models/reasoning tables: the -chat models have "128,000 (Input: 111,616 Output:
    # 16,384)", not their base model's 400,000 window.
    "gpt-5.1-chat": replace(
        _GPT5,
        name="gpt-5.1-chat",
        family="gpt-5.1-chat",
        context_window=128_000,
        max_output=16_384,
        reasoning_efforts=("none", "low", "medium", "high"),
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
        _GPT5, name="gpt-5.2", reasoning_efforts=("none", "low", "medium", "high", "xhigh")
    ),
    # Window as the Azure models table gives it; the reasoning rules stay gpt-5.2's until Azure
    # documents otherwise (tests/emulator/test_tables_agree.py, UNSETTLED).
    "gpt-5.2-chat": replace(
        _GPT5,
        name="gpt-5.2-chat",
        family="gpt-5.2-chat",
        context_window=128_000,
        max_output=16_384,
        reasoning_efforts=("none", "low", "medium", "high", "xhigh"),
    ),
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
    for prefix in _PREFIXES:
        if n == prefix or (n.startswith(prefix) and n[len(prefix)] in "-_:@ "):
            info = _CATALOG[prefix]
            return info if info.name == name else replace(info, name=name)
    if n.startswith("text-embedding"):
        return replace(
            _EMBED, name=name, family="embedding", known=False, supports_dimensions=False
        )
    return replace(_UNKNOWN, name=name)


def known_families() -> list[str]:
    """The model name prefixes the catalogue recognises, for documentation and ``doctor``."""
    return sorted(_CATALOG)
