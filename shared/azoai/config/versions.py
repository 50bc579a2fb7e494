"""The api-version catalogue and the rules that follow from it. Pure functions, table-driven.

Two URL families exist (see the README's route table):

* ``deployments``: ``/openai/deployments/{d}/{op}?api-version=YYYY-MM-DD[-preview]``; the version
  is required and decides which features exist.
* ``v1``: ``/openai/v1/{op}``; the version is absent (``v1``) or ``preview``; every feature exists.

The Responses API sits in both: ``/openai/v1/responses``, and on dated versions from
``2025-03-01-preview`` ``/openai/responses?api-version=<date>`` (no deployment in the path; the
body's ``model`` names it), which is the ``deployments`` route of a Responses client.

Features arrived in preview versions first and reached GA versions later, and a GA version can be
*newer* than a preview yet lack its features (``2024-10-21`` has no ``reasoning_effort``). So each
feature records the first preview and the first GA version that has it, separately.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any, Literal

from azoai.config.catalog import ModelInfo
from azoai.errors import ApiVersionError, ConfigError

__all__ = [
    "DATED_GA",
    "DATED_PREVIEW",
    "DEFAULT_DATED_VERSION",
    "DEFAULT_RESPONSES_VERSION",
    "FIRST_RESPONSES_VERSION",
    "Api",
    "ApiVersion",
    "Feature",
    "Route",
    "ShapedParams",
    "parse_api_version",
    "require_feature",
    "require_model_version",
    "resolve_route",
    "shape_chat_params",
    "supports",
]

log = logging.getLogger("azoai.versions")

Api = Literal["chat", "responses"]
Route = Literal["deployments", "v1"]

#: Inference GA versions (azure-openai-facts §1.2).
DATED_GA: tuple[str, ...] = ("2022-12-01", "2023-05-15", "2024-02-01", "2024-06-01", "2024-10-21")
#: Inference preview versions; ``2025-04-01-preview`` is the last dated preview there will be.
DATED_PREVIEW: tuple[str, ...] = (
    "2022-03-01-preview",
    "2022-06-01-preview",
    "2023-03-15-preview",
    "2023-06-01-preview",
    "2023-07-01-preview",
    "2023-08-01-preview",
    "2023-09-01-preview",
    "2023-10-01-preview",
    "2023-11-01-preview",
    "2023-12-01-preview",
    "2024-02-15-preview",
    "2024-03-01-preview",
    "2024-04-01-preview",
    "2024-05-01-preview",
    "2024-07-01-preview",
    "2024-08-01-preview",
    "2024-09-01-preview",
    "2024-10-01-preview",
    "2024-12-01-preview",
    "2025-01-01-preview",
    "2025-02-01-preview",
    "2025-03-01-preview",
    "2025-04-01-preview",
)
V1_VERSIONS: tuple[str, ...] = ("v1", "preview")
#: Used on the deployments route when no api-version is configured: the latest GA version.
DEFAULT_DATED_VERSION = "2024-10-21"

_DATED = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(-preview)?$")


@dataclass(frozen=True, slots=True)
class ApiVersion:
    """A parsed api-version. ``kind`` is ``ga``, ``preview`` (dated), ``v1`` or ``v1-preview``."""

    value: str
    kind: Literal["ga", "preview", "v1", "v1-preview"]
    date: date | None = None

    @property
    def is_dated(self) -> bool:
        return self.date is not None

    @property
    def known(self) -> bool:
        return self.value in DATED_GA or self.value in DATED_PREVIEW or self.value in V1_VERSIONS

    @property
    def query_value(self) -> str | None:
        """What goes into ``?api-version=``; ``None`` means send no query (plain ``v1``)."""
        return None if self.value == "v1" else self.value

    def __str__(self) -> str:
        return self.value


def parse_api_version(
    value: str, *, setting: str = "api_version", source: str | None = None
) -> ApiVersion:
    """Parse ``YYYY-MM-DD``, ``YYYY-MM-DD-preview``, ``v1`` or ``preview``; anything else is a
    :class:`ConfigError` naming the setting (and ``source``, where the value came from)."""
    v = value.strip()
    if v in ("v1", "preview"):
        return ApiVersion(v, "v1" if v == "v1" else "v1-preview")
    m = _DATED.match(v)
    if m:
        try:
            d = date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            d = None
        if d is not None:
            return ApiVersion(v, "preview" if m.group(4) else "ga", d)
    origin = f" (from {source})" if source else ""
    raise ConfigError(
        f"{setting} {value!r}{origin} is not a valid api-version; use a date such as "
        "'2024-10-21' or '2025-04-01-preview' for route='deployments', or 'v1' / 'preview' for "
        "route='v1'",
        setting=setting,
    )


class Feature(StrEnum):
    CHAT_COMPLETIONS = "chat completions"
    FUNCTIONS = "functions"
    TOOLS = "tools and tool_choice"
    VISION = "image inputs"
    JSON_OBJECT = "response_format json_object"
    EMBEDDING_DIMENSIONS = "embeddings dimensions"
    JSON_SCHEMA = "response_format json_schema"
    PARALLEL_TOOL_CALLS = "parallel_tool_calls"
    MAX_COMPLETION_TOKENS = "max_completion_tokens"
    STREAM_OPTIONS = "stream_options (streamed usage)"
    REASONING_EFFORT = "reasoning_effort"
    DEVELOPER_ROLE = "the developer role"
    STORE = "store and metadata"
    PREDICTION = "predicted outputs"
    RESPONSES = "the Responses API"
    AUDIO_TRANSCRIPTION = "audio transcriptions and translations"
    AUDIO_TIMESTAMPS = "timestamp_granularities (word and segment timestamps)"
    AUDIO_SPEECH = "text to speech (audio/speech)"
    FINE_TUNING = "fine-tuning jobs"
    FINE_TUNING_CHECKPOINTS = "fine-tuning checkpoints"
    FINE_TUNING_PAUSE = "pausing and resuming fine-tuning jobs"
    COMPLETIONS = "legacy completions (completions)"
    IMAGE_GENERATIONS = "image generation (images/generations)"
    IMAGE_EDITS = "image editing (images/edits)"


# feature -> (first preview version, first GA version or None). Sources: the api-version
# lifecycle changelog and the two vendored specs (azure-openai-facts §1.4); streamed usage on
# 2024-10-21 per Azure.AI.OpenAI 2.1.0's release notes.
FEATURES: Mapping[Feature, tuple[str, str | None]] = {
    Feature.CHAT_COMPLETIONS: ("2023-03-15-preview", "2023-05-15"),
    Feature.FUNCTIONS: ("2023-07-01-preview", "2024-02-01"),
    Feature.TOOLS: ("2023-12-01-preview", "2024-02-01"),
    Feature.VISION: ("2023-12-01-preview", "2024-02-01"),
    Feature.JSON_OBJECT: ("2023-12-01-preview", "2024-02-01"),
    Feature.EMBEDDING_DIMENSIONS: ("2024-03-01-preview", "2024-06-01"),
    Feature.JSON_SCHEMA: ("2024-08-01-preview", "2024-10-21"),
    Feature.PARALLEL_TOOL_CALLS: ("2024-09-01-preview", "2024-10-21"),
    Feature.MAX_COMPLETION_TOKENS: ("2024-09-01-preview", "2024-10-21"),
    Feature.STREAM_OPTIONS: ("2024-09-01-preview", "2024-10-21"),
    Feature.REASONING_EFFORT: ("2024-12-01-preview", None),
    Feature.DEVELOPER_ROLE: ("2024-12-01-preview", None),
    Feature.STORE: ("2024-12-01-preview", None),
    Feature.PREDICTION: ("2025-01-01-preview", None),
    Feature.RESPONSES: ("2025-03-01-preview", None),
    # The preview lifecycle page's feature list: "Whisper. [Added in 2023-09-01-preview]", "Text
    # to speech. [Added in 2024-02-15-preview]", "Fine-tuning gpt-35-turbo, babbage-002, and
    # davinci-002 models. [Added in 2023-10-01-preview]", and "Fine-tuning checkpoints, seed,
    # events" between 2024-04-01-preview and 2024-05-01-preview; facts §1.3 for the GA versions
    # (audio/transcriptions and fine_tuning/jobs in 2024-02-01, checkpoints in 2024-06-01, no
    # audio/speech in 2024-10-21; pause/resume in the 2025-04-01-preview authoring spec).
    # timestamp_granularities[] is in spec 2025-04-01-preview and not in spec 2024-10-21; the
    # previews between were not checked, so only the version known to have it passes
    # (check_api_version=False lets an older preview try).
    Feature.AUDIO_TRANSCRIPTION: ("2023-09-01-preview", "2024-02-01"),
    Feature.AUDIO_TIMESTAMPS: ("2025-04-01-preview", None),
    Feature.AUDIO_SPEECH: ("2024-02-15-preview", None),
    Feature.FINE_TUNING: ("2023-10-01-preview", "2024-02-01"),
    Feature.FINE_TUNING_CHECKPOINTS: ("2024-05-01-preview", "2024-06-01"),
    Feature.FINE_TUNING_PAUSE: ("2025-04-01-preview", None),
    # facts §1.3: /deployments/{id}/completions is in every inference version (2022-12-01 on;
    # 2022-03-01-preview is the first preview); images/generations reached GA in 2024-06-01 and
    # came with DALL-E 3 in 2023-12-01-preview (the preview lifecycle page: "DALL-E 3. [Added in
    # 2023-12-01-preview]"); images/edits is in 2025-04-01-preview only.
    Feature.COMPLETIONS: ("2022-03-01-preview", "2022-12-01"),
    Feature.IMAGE_GENERATIONS: ("2023-12-01-preview", "2024-06-01"),
    Feature.IMAGE_EDITS: ("2025-04-01-preview", None),
}

_NEWEST_KNOWN: date = max(
    _d for v in (*DATED_GA, *DATED_PREVIEW) if (_d := parse_api_version(v).date)
)


def _date_of(version: str) -> date:
    d = parse_api_version(version).date
    assert d is not None
    return d


def supports(version: ApiVersion, feature: Feature) -> bool:
    """Whether ``version`` has ``feature``. The v1 route has everything; a dated version newer than
    every version in the table is assumed to have everything too (Azure only adds features)."""
    if not version.is_dated:
        return True
    assert version.date is not None
    if version.date > _NEWEST_KNOWN:
        return True
    first_preview, first_ga = FEATURES[feature]
    if version.kind == "preview":
        return version.date >= _date_of(first_preview)
    return first_ga is not None and version.date >= _date_of(first_ga)


def minimum_versions(feature: Feature) -> str:
    """A human phrase naming the versions that have ``feature``, for error messages."""
    first_preview, first_ga = FEATURES[feature]
    ga = f" or GA {first_ga} and later" if first_ga else ""
    return f"api_version {first_preview} or a later preview{ga}, or route='v1'"


def require_feature(version: ApiVersion, feature: Feature, *, check: bool = True) -> None:
    """Raise :class:`ApiVersionError` before any request is sent when ``version`` lacks ``feature``.

    ``check=False`` (the ``check_api_version`` setting) turns the rule off for users whose
    resource knows better than this table.
    """
    if not check or supports(version, feature):
        return
    raise ApiVersionError(
        f"{feature.value} needs {minimum_versions(feature)}; api_version is {version.value!r}",
        feature=feature.value,
        api_version=version.value,
        fix=f"set api_version='{_suggest(feature)}', or route='v1' (no api-version needed)",
    )


def require_model_version(model: ModelInfo, version: ApiVersion, *, check: bool = True) -> None:
    """Raise :class:`ApiVersionError` before sending when a dated ``version`` is older than the
    first one that serves ``model`` (Azure would answer "Model {modelName} is enabled only for api
    versions ... and later", placeholder and all). A version newer than the table passes."""
    first = model.first_dated_version
    if not check or first is None or not version.is_dated:
        return
    assert version.date is not None
    if version.date > _NEWEST_KNOWN or version.date >= _date_of(first):
        return
    label = f"{model.name} ({model.family} family)" if model.name else model.family
    raise ApiVersionError(
        f"model {label} needs api_version {first} or later on the deployments route; "
        f"api_version is {version.value!r}",
        feature=f"model {model.family}",
        api_version=version.value,
        fix=f"set api_version='{first}', or route='v1' (no api-version needed)",
    )


def _suggest(feature: Feature) -> str:
    first_ga = FEATURES[feature][1]
    return first_ga if first_ga else "2025-04-01-preview"


# --- route resolution ---------------------------------------------------------------------------


def resolve_route(
    api: str,
    route: str | None,
    api_version: str | None,
    *,
    version_source: str | None = None,
    project: str | None = None,
    transport: str = "http",
) -> tuple[Route, ApiVersion]:
    """Decide the route and api-version from what the user gave, or raise a :class:`ConfigError`
    that names the fix.

    Defaults: Chat Completions uses ``v1`` unless a dated api-version is given, which selects
    ``deployments``. The Responses API uses ``v1`` too, and with a dated api-version from
    ``2025-03-01-preview`` on, Azure's dated ``/openai/responses?api-version=<date>`` (route
    ``deployments``); an older dated version has no Responses API. A Foundry ``project`` endpoint
    and the WebSocket transport exist on ``v1`` only.

    ``version_source`` (for example ``env OPENAI_API_VERSION``) is named in messages so users find
    where a value came from. A dated version *from the environment* that cannot serve what this
    client was configured for (the Responses API on an older version, a project endpoint, the
    WebSocket, an explicit ``route='v1'``) is ignored with an INFO log instead of raising: that
    variable is usually set for other (chat) models in the same process, as langchain-openai
    users keep ``OPENAI_API_VERSION`` around, and the user did not pass it to this client.
    """
    if api not in ("chat", "responses"):
        raise ConfigError(f"api {api!r} is not valid; use 'chat' or 'responses'", setting="api")
    if route is not None and route not in ("deployments", "v1"):
        raise ConfigError(
            f"route {route!r} is not valid; use 'v1' (/openai/v1/...) or 'deployments' "
            f"(/openai/deployments/{{d}}/...?api-version=<date>)",
            setting="route",
        )
    src = f" (from {version_source})" if version_source else ""
    version = parse_api_version(api_version, source=version_source) if api_version else None
    from_env = bool(version_source and version_source.startswith("env "))
    v1 = ApiVersion("v1", "v1")

    def ignore_env(why: str) -> None:
        assert version is not None
        log.info(
            "azoai: api_version %r%s is not used: %s; using the v1 route", version.value, src, why
        )

    only_v1 = _only_v1(project, transport, api)
    if only_v1 is not None:
        why, fix = only_v1
        if route == "deployments":
            raise ConfigError(
                f"route='deployments' is not possible: {why}; remove route{fix}", setting="route"
            )
        if version is not None and version.is_dated:
            if not from_env:
                raise ConfigError(
                    f"api_version {version.value!r}{src} is a dated version, but {why}, which "
                    f"takes 'v1' or 'preview'; remove api_version (or set 'v1'){fix}",
                    setting="api_version",
                )
            ignore_env(why)
            version = None
        return "v1", version or v1
    if route == "v1" and version is not None and version.is_dated and from_env:
        ignore_env("route='v1' is set")
        version = None

    if api == "responses":
        return _responses_route(route, version, src, from_env, ignore_env)

    if route is None:
        route = "deployments" if version is not None and version.is_dated else "v1"
    if route == "v1":
        if version is not None and version.is_dated:
            raise ConfigError(
                f"api_version {version.value!r}{src} is not valid on the v1 route; use 'v1' or "
                "'preview', or set route='deployments'",
                setting="api_version",
            )
        return "v1", version or v1
    if version is not None and not version.is_dated:
        raise ConfigError(
            f"api_version {version.value!r}{src} is only valid on the v1 route; set route='v1', or "
            f"give a dated api_version such as '{DEFAULT_DATED_VERSION}' for route='deployments'",
            setting="api_version",
        )
    return "deployments", version or parse_api_version(DEFAULT_DATED_VERSION)


#: The first dated api-version with the Responses API (``/openai/responses?api-version=``).
FIRST_RESPONSES_VERSION = FEATURES[Feature.RESPONSES][0]
#: The dated version the Responses API uses with ``route='deployments'`` and no api_version:
#: the last dated preview (``DEFAULT_DATED_VERSION`` predates the Responses API).
DEFAULT_RESPONSES_VERSION = "2025-04-01-preview"


def _only_v1(project: str | None, transport: str, api: str) -> tuple[str, str] | None:
    """Why only the v1 route can serve this client, and the alternative to name, or ``None``."""
    if project is not None:
        return (
            f"a Foundry project endpoint (project {project!r}) serves the v1 API only "
            f"(/api/projects/{project}/openai/v1/...)",
            ", or give the account endpoint https://<account>.services.ai.azure.com for a "
            "dated api_version",
        )
    if transport == "websocket" and api == "responses":
        return (
            "the Responses WebSocket is served on the v1 route only "
            "(wss://<resource>/openai/v1/responses)",
            ", or use transport='http' for the dated /openai/responses route",
        )
    return None


def _responses_route(
    route: str | None,
    version: ApiVersion | None,
    src: str,
    from_env: bool,
    ignore_env: Callable[[str], None],
) -> tuple[Route, ApiVersion]:
    v1 = ApiVersion("v1", "v1")
    if version is None or not version.is_dated:
        if route == "deployments":
            if version is not None:
                raise ConfigError(
                    f"api_version {version.value!r}{src} is only valid on the v1 route; set "
                    f"route='v1', or give a dated api_version from {FIRST_RESPONSES_VERSION} "
                    "for route='deployments' (/openai/responses?api-version=<date>)",
                    setting="api_version",
                )
            return "deployments", parse_api_version(DEFAULT_RESPONSES_VERSION)
        return "v1", version or v1
    if route == "v1":
        raise ConfigError(
            f"api_version {version.value!r}{src} is not valid on the v1 route; use 'v1' or "
            "'preview', or remove route to use the dated /openai/responses route",
            setting="api_version",
        )
    if supports(version, Feature.RESPONSES):
        return "deployments", version
    if from_env and route is None:
        ignore_env(f"the Responses API needs {FIRST_RESPONSES_VERSION} or later")
        return "v1", v1
    raise ConfigError(
        f"api_version {version.value!r}{src} has no Responses API: Azure serves it "
        f"(/openai/responses?api-version=<date>) on dated versions from {FIRST_RESPONSES_VERSION} "
        f"on; set api_version='{FIRST_RESPONSES_VERSION}' or later (e.g. "
        f"'{DEFAULT_RESPONSES_VERSION}'), or use route='v1' (remove api_version), or api='chat'",
        setting="api_version",
    )


# --- parameter shaping per model family ----------------------------------------------------------

#: Sampling parameters reasoning models reject by their mere presence (facts §8).
REASONING_UNSUPPORTED = (
    "temperature",
    "top_p",
    "presence_penalty",
    "frequency_penalty",
    "logprobs",
    "top_logprobs",
    "logit_bias",
)

_warned: set[tuple[str, str]] = set()


@dataclass(slots=True)
class ShapedParams:
    """Request parameters after the rules, and a readable note for each rule that changed them."""

    params: dict[str, Any]
    notes: list[str]


def _drop(
    params: dict[str, Any],
    name: str,
    reason: str,
    notes: list[str],
    *,
    strict: bool,
    model: str,
) -> None:
    if name not in params:
        return
    if strict:
        raise ConfigError(
            f"{name} is not supported: {reason}",
            setting=name,
            fix=f"remove {name}, or set strict=False to drop it with a warning",
        )
    del params[name]
    note = f"{name} dropped: {reason}"
    notes.append(note)
    key = (model, name)
    if key not in _warned:
        _warned.add(key)
        log.warning("azoai: %s (warned once per model)", note)


def shape_chat_params(
    params: Mapping[str, Any],
    *,
    api: str,
    model: ModelInfo,
    version: ApiVersion,
    strict: bool = False,
    check_version: bool = True,
) -> ShapedParams:
    """Apply the api-version and model-family rules to OpenAI-style request parameters.

    ``params`` use Chat Completions names (``max_tokens``, ``temperature``, ``reasoning_effort``,
    ``tools``, ``tool_choice``, ``parallel_tool_calls``, ``response_format``, ``stream_options``,
    ...). The result uses the names the target API expects. Rules:

    * the output limit goes out as ``max_output_tokens`` (Responses), ``max_completion_tokens``
      (reasoning models, or any version that has it) or ``max_tokens`` (older versions);
    * reasoning models lose temperature, top_p, penalties, logprobs and logit_bias (a warning
      once per model, or a :class:`ConfigError` when ``strict``); non-reasoning models keep every
      value the caller set, including ``temperature=0``;
    * ``reasoning_effort`` is kept only for reasoning models; ``tool_choice`` ``any``/``True``
      become ``required``; ``parallel_tool_calls`` is sent only with tools, only where the version
      and model have it;
    * each feature is checked against the api-version first (:func:`require_feature`).
    """
    out = {k: v for k, v in params.items() if v is not None}
    notes: list[str] = []
    label = f"{model.family} family" if model.known else f"model {model.name or 'unknown'}"

    def need(feature: Feature) -> None:
        require_feature(version, feature, check=check_version)

    require_model_version(model, version, check=check_version)

    # output limit
    limit = None
    for key in ("max_output_tokens", "max_completion_tokens", "max_tokens"):
        if key in out:
            value = out.pop(key)
            limit = value if limit is None else limit
    if limit is not None:
        if api == "responses":
            out["max_output_tokens"] = limit
        elif model.reasoning:
            need(Feature.MAX_COMPLETION_TOKENS)
            out["max_completion_tokens"] = limit
            notes.append(f"{label}: max_tokens sent as max_completion_tokens")
        elif supports(version, Feature.MAX_COMPLETION_TOKENS):
            out["max_completion_tokens"] = limit
        else:
            out["max_tokens"] = limit

    if model.reasoning:
        if out.get("temperature") == 1:
            # the one temperature reasoning models run at (the adapters show it as theirs):
            # not sent, and nothing to warn about
            del out["temperature"]
        for name in REASONING_UNSUPPORTED:
            _drop(
                out, name, f"{label} is a reasoning model", notes, strict=strict, model=model.name
            )
    effort = out.get("reasoning_effort")
    if effort is not None:
        if not model.reasoning and model.known:
            _drop(
                out,
                "reasoning_effort",
                f"{label} is not a reasoning model",
                notes,
                strict=strict,
                model=model.name,
            )
        elif api == "chat":
            need(Feature.REASONING_EFFORT)
        if (
            "reasoning_effort" in out
            and model.reasoning_efforts
            and effort not in model.reasoning_efforts
        ):
            raise ConfigError(
                f"reasoning_effort {effort!r} is not valid for {label}; use one of "
                f"{', '.join(model.reasoning_efforts)}",
                setting="reasoning_effort",
            )
    if "verbosity" in out and not model.verbosity and model.known:
        _drop(
            out,
            "verbosity",
            f"{label} has no verbosity setting",
            notes,
            strict=strict,
            model=model.name,
        )

    tools = out.get("tools")
    if tools:
        need(Feature.TOOLS)
        if not model.tools:
            raise ConfigError(f"{label} does not support tool calling", setting="tools")
    choice = out.get("tool_choice")
    if choice is not None:
        if choice in ("any", True):
            out["tool_choice"] = "required"
        if not tools:
            if out["tool_choice"] in ("none", "auto"):
                del out["tool_choice"]
            else:
                raise ConfigError(
                    f"tool_choice {choice!r} needs tools; bind tools first",
                    setting="tool_choice",
                )
    if "parallel_tool_calls" in out:
        if not tools:
            del out["parallel_tool_calls"]
        elif not model.parallel_tool_calls or out.get("reasoning_effort") == "minimal":
            _drop(
                out,
                "parallel_tool_calls",
                f"{label} does not take parallel_tool_calls"
                + (
                    " with reasoning_effort='minimal'"
                    if out.get("reasoning_effort") == "minimal"
                    else ""
                ),
                notes,
                strict=False,
                model=model.name,
            )
        elif api == "chat" and not supports(version, Feature.PARALLEL_TOOL_CALLS):
            _drop(
                out,
                "parallel_tool_calls",
                f"api_version {version.value} does not have it",
                notes,
                strict=strict,
                model=model.name,
            )

    fmt = out.get("response_format")
    if isinstance(fmt, Mapping):
        kind = fmt.get("type")
        if kind == "json_schema":
            need(Feature.JSON_SCHEMA)
        elif kind == "json_object":
            need(Feature.JSON_OBJECT)

    if "stream_options" in out and api == "chat" and not supports(version, Feature.STREAM_OPTIONS):
        del out["stream_options"]
        notes.append(
            f"stream_options dropped: api_version {version.value} does not have it (no streamed usage)"
        )
    if api == "chat":
        for key, feature in (
            ("store", Feature.STORE),
            ("metadata", Feature.STORE),
            ("prediction", Feature.PREDICTION),
        ):
            if key in out:
                need(feature)
    return ShapedParams(out, notes)


def developer_role_for(model: ModelInfo, version: ApiVersion, api: str) -> str:
    """Which role carries system instructions: ``developer`` where the model and version take it
    and the model is a reasoning model (Azure treats ``system`` as ``developer`` there anyway),
    otherwise ``system``."""
    if (
        api == "chat"
        and model.reasoning
        and model.developer_role
        and supports(version, Feature.DEVELOPER_ROLE)
    ):
        return "developer"
    return "system"
