"""The emulator's tables beside the product's: they are written separately (azoai_emulator from
Azure's specs and documentation, azoai for the client), so a rule the product gets wrong is not
copied into the stand-in every test runs against. Where they disagree this test fails, and the
disagreement is investigated against Azure's documentation instead of being copied.

Disagreements investigated and found to be the product's error are listed in PRODUCT_WRONG,
each with its evidence, and run as ``xfail(strict=True)``: fixing the product makes the case pass,
strict turns that pass into a failure, and the entry has to go. Disagreements where Azure's
documents contradict each other or another authoritative source are listed in UNSETTLED, also as
strict xfails, with why the product keeps its value. Nothing is skipped.

Compared: the api-version catalogue and each feature's first preview / first GA version
(``azoai.config.versions`` / ``azoai_emulator.api_versions``), the parameters reasoning models refuse,
each model's capabilities and limits (``azoai.config.catalog`` / ``azoai_emulator.models``), the
content-filter verdicts the emulator sends as read by ``azoai.content_filter``, and the emulator's
error bodies as classified by ``azoai.errors``, and the first dated api-version of each model.
Model names come from both tables, including the documented names each side's gpt-5.N rule
serves. Not compared, for the product has no such table: which API a model serves
(Responses-only codex models, completions-only instruct).
"""

from __future__ import annotations

from typing import Any

import pytest

from azoai import content_filter, error_reading, errors
from azoai.config import catalog, versions
from azoai.openai_compat import azoai_class
from azoai_emulator import api_versions, azure_errors, filters, models
from azoai_emulator.rules import REASONING_UNSUPPORTED

#: (model, field) -> why the product's value is wrong, with the source. Sources: reasoning =
#: MicrosoftDocs/azure-ai-docs articles/foundry/openai/how-to/reasoning.md @0d126d3 ("API & feature
#: support"); models = articles/foundry/openai/includes/models-azure-direct-openai.md @00bb554;
#: models@2025-06 = articles/ai-foundry/openai/concepts/models.md @005fa2f. Empty: every
#: disagreement found so far was settled by fixing the product's catalogue (gpt-35-turbo-instruct,
#: gpt-5-chat, gpt-5-codex, gpt-5-pro, gpt-5.1-chat, gpt-5.2-chat window, gpt-5.1-codex-max).
#: gpt-5.2-chat's reasoning rules, once UNSETTLED, were settled on the Azure models table: it and
#: gpt-5.3-chat list no "Reasoning" in rows beside gpt-5.1-chat's and gpt-chat-latest's, which do
#: (models @00bb554, 2026-06), so the -chat models from 5.2 on are not reasoning models in both.
PRODUCT_WRONG: dict[tuple[str, str], str] = {}

#: (model, field) -> why the disagreement stands: the emulator's source is contradicted by another
#: source of equal or better weight, so the product keeps its value until the live service or a
#: newer document settles it. Run as strict xfails too, so a change on either side is noticed.
UNSETTLED: dict[tuple[str, str], str] = {
    # reasoning, options row: "xhigh is only supported with gpt-5.1-codex-max". The same row says
    # "none is only supported for gpt-5.1", which footnote 7 of the same page contradicts (gpt-5.2
    # takes none), so the row predates gpt-5.2; OpenAI's API reference: "xhigh is supported for
    # all models after gpt-5.1-codex-max". The product keeps xhigh on gpt-5.2.
    ("gpt-5.2", "reasoning_efforts"): "stale Azure row vs OpenAI: xhigh after gpt-5.1-codex-max",
}

#: Fields compared for every model, and those compared only for embedding models.
CHAT_FIELDS = (
    "reasoning",
    "context_window",
    "max_output",
    "vision",
    "tools",
    "parallel_tool_calls",
    "json_object",
    "json_schema",
    "developer_role",
    "system_role",
    "reasoning_efforts",
    "verbosity",
    "responses_api",
    "first_dated_version",
)
EMBEDDING_FIELDS = ("embedding_dimensions", "supports_dimensions")
#: The product's embedding limits are a client-side cap: facts §6 gives 8191 as "the safe
#: client-side cap" where the service takes 8,192. A cap may sit below the service's limit,
#: never above it.
CLIENT_CAPS = ("context_window", "max_input_tokens")


def _azure_spelling(name: str) -> str:
    return "gpt-35" + name[len("gpt-3.5") :] if name.startswith("gpt-3.5") else name


MODEL_NAMES = sorted(
    {_azure_spelling(n) for n in catalog.known_families()} | set(models.known_models())
)


def _cases() -> list[Any]:
    out = []
    for name in MODEL_NAMES:
        embedding = models.model_spec(name).is_embedding
        fields = ("kind", *(EMBEDDING_FIELDS + CLIENT_CAPS if embedding else CHAT_FIELDS))
        for field in fields:
            reason = PRODUCT_WRONG.get((name, field)) or UNSETTLED.get((name, field))
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            out.append(pytest.param(name, field, marks=marks, id=f"{name}:{field}"))
    return out


def test_every_known_disagreement_names_a_compared_case() -> None:
    compared = {(p.values[0], p.values[1]) for p in _cases()}
    assert set(PRODUCT_WRONG) <= compared
    assert set(UNSETTLED) <= compared
    assert not set(PRODUCT_WRONG) & set(UNSETTLED)


@pytest.mark.parametrize(("name", "field"), _cases())
def test_model_tables_agree(name: str, field: str) -> None:
    product = catalog.lookup_model(name)
    emulator = models.model_spec(name)
    assert product.known and emulator.known, name
    if field == "kind":
        assert product.kind == ("embedding" if emulator.is_embedding else "chat")
    elif field in CLIENT_CAPS and emulator.is_embedding:
        cap, limit = getattr(product, field), getattr(emulator, field)
        assert cap is not None and limit is not None and cap <= limit
    else:
        assert getattr(product, field) == getattr(emulator, field)


# --- api-versions --------------------------------------------------------------------------------


def test_version_catalogues_agree() -> None:
    assert set(versions.DATED_GA) == set(api_versions.DATED_GA)
    assert set(versions.DATED_PREVIEW) == set(api_versions.DATED_PREVIEW)
    assert set(versions.V1_VERSIONS) == set(api_versions.V1_VERSIONS)


def test_the_same_features_are_gated() -> None:
    assert {f.name for f in versions.Feature} == {f.name for f in api_versions.Feature}


@pytest.mark.parametrize("feature", [f.name for f in versions.Feature])
def test_feature_gates_agree(feature: str) -> None:
    product, emulator = versions.Feature[feature], api_versions.Feature[feature]
    assert versions.FEATURES[product] == api_versions.FIRST_VERSIONS[emulator]
    for value in (*api_versions.DATED_GA, *api_versions.DATED_PREVIEW):
        dated = api_versions.dated_version(value)
        assert dated is not None
        assert versions.supports(versions.parse_api_version(value), product) == (
            api_versions.supports(dated, emulator)
        ), value


def test_reasoning_models_refuse_the_same_parameters() -> None:
    assert set(versions.REASONING_UNSUPPORTED) == set(REASONING_UNSUPPORTED)


# --- content filter ------------------------------------------------------------------------------


def _prompt_cases() -> list[tuple[dict[str, Any], list[str]]]:
    cases: list[tuple[dict[str, Any], list[str]]] = [(filters.prompt_results(), [])]
    cases += [(filters.prompt_results(c), [c]) for c in filters.PROMPT_CATEGORIES]
    cases.append((filters.prompt_results(blocklist="words"), ["blocklist:words"]))
    return cases


def _completion_cases() -> list[tuple[dict[str, Any], list[str]]]:
    cases: list[tuple[dict[str, Any], list[str]]] = [(filters.completion_results(), [])]
    return cases + [(filters.completion_results(c), [c]) for c in filters.COMPLETION_CATEGORIES]


@pytest.mark.parametrize(
    ("side", "cases"), [("prompt", _prompt_cases()), ("completion", _completion_cases())]
)
def test_the_product_reads_every_filter_verdict_the_emulator_sends(
    side: Any, cases: list[tuple[dict[str, Any], list[str]]]
) -> None:
    for raw, hit in cases:
        read = content_filter.ContentFilterResults(side, raw=raw)
        assert read.filtered_categories == hit, raw
        assert read.to_dict() == raw
        parsed = {c.category: c for c in content_filter.parse_category_results(raw)}
        for name in filters.SEVERITY_CATEGORIES:
            assert parsed[name].severity in filters.SEVERITY_LEVELS
        for name in (*filters.PROMPT_DETECTIONS, *filters.COMPLETION_DETECTIONS):
            if name in raw:
                assert parsed[name].detected is raw[name]["detected"]


def test_the_product_reads_prompt_filter_results() -> None:
    [read] = content_filter.parse_prompt_filter_results(
        {"prompt_filter_results": filters.prompt_filter_results("violence")}
    )
    assert (read.side, read.index, read.filtered_categories) == ("prompt", 0, ["violence"])


# --- error bodies --------------------------------------------------------------------------------


def _classified(error: Any) -> errors.AzoaiError:
    return error_reading.error_from_response(error.status, error.body, error.headers)


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (azure_errors.key_denied(), errors.AuthenticationError),
        (azure_errors.token_denied(), errors.AuthenticationError),
        (azure_errors.entra_refused_for_v1_embeddings(), errors.PermissionDeniedError),
        (azure_errors.deployment_not_found(v1=False), errors.DeploymentNotFoundError),
        (azure_errors.deployment_not_found(v1=True), errors.DeploymentNotFoundError),
        (azure_errors.resource_not_found(), errors.NotFoundError),
        (azure_errors.deployment_paused("chat"), errors.DeploymentPausedError),
        (azure_errors.unsupported_parameter("temperature"), errors.UnsupportedParameterError),
        (azure_errors.unrecognized_arguments(["store"]), errors.UnsupportedParameterError),
        (azure_errors.api_version_not_supported(), errors.BadRequestError),
        (azure_errors.service_error(500), errors.ServiceUnavailableError),
        (azure_errors.service_error(503), errors.ServiceUnavailableError),
        (azure_errors.service_error(408), errors.TimeoutError),
    ],
    ids=lambda v: v.__name__ if isinstance(v, type) else None,
)
def test_the_product_classifies_every_error_body(error: Any, expected: type) -> None:
    # (an openai twin once openai is imported: azoai.openai_compat)
    assert azoai_class(type(_classified(error))) is expected


def test_the_product_reads_a_rate_limit_as_sent() -> None:
    error = azure_errors.rate_limited(
        operation="ChatCompletions_Create",
        api_version="2024-10-21",
        wait_ms=1500,
        kind="token",
        remaining_requests=0,
        remaining_tokens=0,
    )
    read = _classified(error)
    assert isinstance(read, errors.RateLimitError)
    assert read.retry_after == 1.5  # retry-after-ms first (facts §4.8)


@pytest.mark.parametrize("category", filters.PROMPT_CATEGORIES)
def test_the_product_reads_a_filtered_prompt_as_sent(category: str) -> None:
    read = _classified(azure_errors.prompt_filtered(filters.prompt_results(category)))
    assert isinstance(read, errors.ContentFilterError)
    assert [r.filtered_categories for r in read.results] == [[category]]


# --- Foundry reasoning output --------------------------------------------------------------------

#: Foundry model names (as Azure names them) beside OpenAI ones: where each shows its reasoning.
FOUNDRY_NAMES = (
    "DeepSeek-R1",
    "DeepSeek-R1-0528",
    "MAI-DS-R1",
    "DeepSeek-V3-0324",
    "DeepSeek-V3.1",
    "DeepSeek-V4-Pro",
    "Phi-4",
    "Phi-4-reasoning",
    "Phi-4-mini-reasoning",
    "Llama-3.3-70B-Instruct",
    "Mistral-Large-2411",
    "gpt-4o",
    "o3-mini",
    "gpt-oss-120b",
)


@pytest.mark.parametrize("name", FOUNDRY_NAMES)
def test_reasoning_output_agrees(name: str) -> None:
    assert catalog.lookup_model(name).reasoning_output == models.model_spec(name).reasoning_output
