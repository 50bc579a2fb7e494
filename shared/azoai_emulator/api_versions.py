"""The emulator's own api-version catalogue and feature gates, as Azure documents them.

Written from Azure's sources, not from ``azoai.config.versions`` (``tests/emulator/test_tables_agree.py``
holds the two side by side, so a disagreement is investigated rather than copied):

* ``facts`` = ``../shared/reference/azure-openai-facts.md`` (section numbers below);
* ``spec 2024-10-21`` / ``spec 2025-04-01-preview`` = the vendored inference specs in
  ``../shared/azure-openai-spec/``;
* ``lifecycle`` = the api-version changelog, ``MicrosoftDocs/azure-ai-docs``
  ``articles/ai-foundry/openai/api-version-lifecycle.md`` @00f98cc (2025-08);
* ``spec <version>`` for older versions = ``Azure/azure-rest-api-specs``
  ``specification/cognitiveservices/data-plane/AzureOpenAI/inference/{stable,preview}/<version>/``.

A dated version either is in the catalogue (and has a feature from the first preview and the
first GA version that carry it, counted separately: a GA version can be newer than a preview yet
lack its features) or is answered ``400 API version not supported``. The v1 route takes no
version, ``v1`` or ``preview``, and has every feature.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

__all__ = [
    "DATED_GA",
    "DATED_PREVIEW",
    "FIRST_VERSIONS",
    "V1_VERSIONS",
    "DatedVersion",
    "Feature",
    "dated_version",
    "supports",
]

#: Inference GA versions (facts §1.2).
DATED_GA: tuple[str, ...] = ("2022-12-01", "2023-05-15", "2024-02-01", "2024-06-01", "2024-10-21")

#: Inference preview versions (facts §1.2; ``2023-11-01-preview`` has a ``generated.json`` in the
#: spec tree, facts §1.2). ``2025-04-01-preview`` is the last dated preview: the changelog goes
#: from it to "v1 preview".
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

#: What the v1 route accepts in ``api-version`` besides nothing (facts §2.4).
V1_VERSIONS: tuple[str, ...] = ("v1", "preview")


class Feature(StrEnum):
    """A request capability that arrived with some api-version. Values name what the request
    carries, for messages."""

    CHAT_COMPLETIONS = "/chat/completions"
    FUNCTIONS = "functions"
    TOOLS = "tools"
    VISION = "image_url content parts"
    JSON_OBJECT = "response_format json_object"
    EMBEDDING_DIMENSIONS = "dimensions (embeddings)"
    JSON_SCHEMA = "response_format json_schema"
    PARALLEL_TOOL_CALLS = "parallel_tool_calls"
    MAX_COMPLETION_TOKENS = "max_completion_tokens"
    STREAM_OPTIONS = "stream_options"
    REASONING_EFFORT = "reasoning_effort"
    DEVELOPER_ROLE = "the developer role"
    STORE = "store and metadata"
    PREDICTION = "prediction"
    RESPONSES = "/responses"
    AUDIO_TRANSCRIPTION = "/audio/transcriptions and /audio/translations"
    AUDIO_TIMESTAMPS = "timestamp_granularities[]"
    AUDIO_SPEECH = "/audio/speech"
    FINE_TUNING = "/fine_tuning/jobs"
    FINE_TUNING_CHECKPOINTS = "/fine_tuning/jobs/{id}/checkpoints"
    FINE_TUNING_PAUSE = "/fine_tuning/jobs/{id}/pause and /resume"
    COMPLETIONS = "/completions"
    IMAGE_GENERATIONS = "/images/generations"
    IMAGE_EDITS = "/images/edits"


#: feature -> (first preview version, first GA version, or None while no GA version has it).
FIRST_VERSIONS: Mapping[Feature, tuple[str, str | None]] = {
    # Chat arrived in 2023-03-15-preview (its spec has /deployments/{id}/chat/completions) and
    # reached GA in 2023-05-15 (facts §1.3).
    Feature.CHAT_COMPLETIONS: ("2023-03-15-preview", "2023-05-15"),
    # "Function calling (added in 2023-07-01-preview)" (lifecycle, the 2024 page quoted in facts
    # §1.4); spec 2024-02-01 has functions/function_call.
    Feature.FUNCTIONS: ("2023-07-01-preview", "2024-02-01"),
    # Tools from about 2023-12-01-preview (facts §1.4, from Azure's "Unrecognized request
    # arguments supplied: tool_choice, tools"); spec 2024-02-01 has tools/tool_choice.
    Feature.TOOLS: ("2023-12-01-preview", "2024-02-01"),
    # The gpt-4 vision-preview and JSON-mode models came with 2023-12-01-preview (the version
    # facts §1.4 gives for tools); spec 2024-02-01 has image_url content parts and
    # response_format {"type": "json_object"}. The 2023-12-01-preview spec itself is not vendored.
    Feature.VISION: ("2023-12-01-preview", "2024-02-01"),
    Feature.JSON_OBJECT: ("2023-12-01-preview", "2024-02-01"),
    # "Embeddings encoding_format and dimensions parameters [added in 2024-03-01-preview]"
    # (facts §1.4, §6); spec 2024-02-01 lacks dimensions, spec 2024-06-01 has it.
    Feature.EMBEDDING_DIMENSIONS: ("2024-03-01-preview", "2024-06-01"),
    # "response_format value as json_schema is enabled only for api versions 2024-08-01-preview
    # and later" (facts §1.4); spec 2024-10-21 has json_schema.
    Feature.JSON_SCHEMA: ("2024-08-01-preview", "2024-10-21"),
    # lifecycle, "Changes between 2024-09-01-preview and 2024-08-01-preview"; spec 2024-10-21
    # has both (facts §1.4).
    Feature.PARALLEL_TOOL_CALLS: ("2024-09-01-preview", "2024-10-21"),
    Feature.MAX_COMPLETION_TOKENS: ("2024-09-01-preview", "2024-10-21"),
    # Added in 2024-09-01-preview (lifecycle). GA 2024-10-21 although spec 2024-10-21 does not list
    # stream_options on the request (facts §1.4 reads the spec): the spec defines
    # chatCompletionStreamOptions but never references it, and Azure's own SDK release for that
    # label says "The 2024-10-21 API version brings GA AOAI support for streaming token usage in
    # chat completions" (Azure.AI.OpenAI 2.1.0 release notes, 2024-12-05). The service wins.
    Feature.STREAM_OPTIONS: ("2024-09-01-preview", "2024-10-21"),
    # lifecycle, "Changes between 2024-12-01-preview and 2024-10-01-preview": reasoning_effort,
    # store, metadata; none of them, nor the developer role, is in spec 2024-10-21 (facts §1.4).
    # Developer messages came with o1 (2024-12-17): the reasoning-models page of that time lists
    # "o1, 2024-12-17 | API Version 2024-12-01-preview | Developer Messages ✅".
    Feature.REASONING_EFFORT: ("2024-12-01-preview", None),
    Feature.DEVELOPER_ROLE: ("2024-12-01-preview", None),
    Feature.STORE: ("2024-12-01-preview", None),
    # lifecycle, "Changes between 2025-01-01-preview and 2024-12-01-preview".
    Feature.PREDICTION: ("2025-01-01-preview", None),
    # lifecycle, "Changes between 2025-03-01-preview and 2025-02-01-preview"; facts §2.2.
    Feature.RESPONSES: ("2025-03-01-preview", None),
    # lifecycle (its feature list, kept on the 2024 pages): "Whisper. [Added in
    # 2023-09-01-preview]"; spec 2024-02-01 has /deployments/{id}/audio/transcriptions and
    # /audio/translations (facts §1.3).
    Feature.AUDIO_TRANSCRIPTION: ("2023-09-01-preview", "2024-02-01"),
    # spec 2025-04-01-preview's createTranscriptionRequest has timestamp_granularities[]; spec
    # 2024-10-21's has not. No preview in between is vendored: served from the one that has it.
    Feature.AUDIO_TIMESTAMPS: ("2025-04-01-preview", None),
    # lifecycle: "Text to speech. [Added in 2024-02-15-preview]" (the spec tree has
    # 2024-02-15-preview/examples/audio_speech.json); spec 2024-10-21 has no /audio/speech.
    Feature.AUDIO_SPEECH: ("2024-02-15-preview", None),
    # lifecycle: fine-tuning "[Added in 2023-10-01-preview]"; authoring 2024-02-01 has
    # fine_tuning/jobs (facts §1.3).
    Feature.FINE_TUNING: ("2023-10-01-preview", "2024-02-01"),
    # lifecycle, "Changes between 2024-04-01-preview and 2024-05-01-preview": "Fine-tuning
    # checkpoints, seed, events"; authoring 2024-06-01 adds checkpoints (facts §1.3).
    Feature.FINE_TUNING_CHECKPOINTS: ("2024-05-01-preview", "2024-06-01"),
    # facts §1.3: the 2025-04-01-preview authoring spec has fine_tuning pause/resume.
    Feature.FINE_TUNING_PAUSE: ("2025-04-01-preview", None),
    # facts §1.3: /deployments/{id}/completions is in every version's spec (2022-12-01 is the
    # first GA; 2022-03-01-preview the first preview in the catalogue).
    Feature.COMPLETIONS: ("2022-03-01-preview", "2022-12-01"),
    # lifecycle (the 2024 pages' feature list): "DALL-E 3. [Added in 2023-12-01-preview]"; facts
    # §1.3: images/generations reached GA in 2024-06-01 (spec 2024-02-01 has none).
    Feature.IMAGE_GENERATIONS: ("2023-12-01-preview", "2024-06-01"),
    # facts §1.3: images/edits is in spec 2025-04-01-preview only (not in spec 2024-10-21).
    Feature.IMAGE_EDITS: ("2025-04-01-preview", None),
}


@dataclass(frozen=True, slots=True)
class DatedVersion:
    """A dated api-version from the catalogue."""

    value: str
    day: date
    preview: bool

    def __str__(self) -> str:
        return self.value


def _day(value: str) -> date:
    return date(int(value[0:4]), int(value[5:7]), int(value[8:10]))


def dated_version(value: str) -> DatedVersion | None:
    """The catalogue entry for ``value``, or ``None`` for anything Azure does not serve (a
    malformed or an unknown date alike)."""
    if value in DATED_GA:
        return DatedVersion(value, _day(value), preview=False)
    if value in DATED_PREVIEW:
        return DatedVersion(value, _day(value), preview=True)
    return None


def supports(version: DatedVersion, feature: Feature) -> bool:
    """Whether ``version`` has ``feature`` (previews and GA versions counted separately)."""
    first_preview, first_ga = FIRST_VERSIONS[feature]
    if version.preview:
        return version.day >= _day(first_preview)
    return first_ga is not None and version.day >= _day(first_ga)
