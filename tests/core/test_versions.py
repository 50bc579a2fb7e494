"""api-version rules: parsing, route resolution, feature minimums, parameter shaping (facts §1, §8)."""

from __future__ import annotations

import dataclasses
import logging

import pytest

from azoai.config.catalog import lookup_model
from azoai.config.versions import (
    DATED_GA,
    DATED_PREVIEW,
    DEFAULT_DATED_VERSION,
    Feature,
    developer_role_for,
    parse_api_version,
    require_feature,
    resolve_route,
    shape_chat_params,
    supports,
)
from azoai.errors import ApiVersionError, ConfigError


@pytest.mark.parametrize(
    ("value", "kind", "query"),
    [
        ("2024-10-21", "ga", "2024-10-21"),
        ("2025-04-01-preview", "preview", "2025-04-01-preview"),
        ("v1", "v1", None),
        ("preview", "v1-preview", "preview"),
        (" 2024-06-01 ", "ga", "2024-06-01"),
    ],
)
def test_parse_api_version(value: str, kind: str, query: str | None) -> None:
    v = parse_api_version(value)
    assert v.kind == kind
    assert v.query_value == query


@pytest.mark.parametrize(
    "bad", ["2024-13-01", "2024-10", "latest", "V1", "2024-10-21-beta", "", "2024-02-30"]
)
def test_malformed_versions_are_config_errors_naming_the_setting(bad: str) -> None:
    with pytest.raises(ConfigError) as exc:
        parse_api_version(bad)
    assert exc.value.setting == "api_version"
    assert "not a valid api-version" in str(exc.value)


def test_catalogue_has_every_version_once_and_known_flags() -> None:
    assert len(set(DATED_GA)) == len(DATED_GA)
    assert len(set(DATED_PREVIEW)) == len(DATED_PREVIEW)
    assert DATED_PREVIEW[-1] == "2025-04-01-preview"
    assert DEFAULT_DATED_VERSION == "2024-10-21" and DEFAULT_DATED_VERSION in DATED_GA
    assert parse_api_version("2024-10-21").known
    assert not parse_api_version("2024-10-22").known


# route resolution: (api, route, version) -> (route, version) or the error text it must contain
ROUTES = [
    ("chat", None, None, ("v1", "v1")),
    ("chat", None, "v1", ("v1", "v1")),
    ("chat", None, "preview", ("v1", "preview")),
    ("chat", None, "2024-10-21", ("deployments", "2024-10-21")),
    ("chat", "deployments", None, ("deployments", DEFAULT_DATED_VERSION)),
    ("chat", "deployments", "2025-04-01-preview", ("deployments", "2025-04-01-preview")),
    ("chat", "v1", None, ("v1", "v1")),
    ("responses", None, None, ("v1", "v1")),
    ("responses", "v1", "preview", ("v1", "preview")),
    ("responses", None, "v1", ("v1", "v1")),
    (
        "chat",
        "v1",
        "2024-10-21",
        "is not valid on the v1 route; use 'v1' or 'preview', or set route='deployments'",
    ),
    ("chat", "deployments", "v1", "only valid on the v1 route; set route='v1'"),
    ("chat", "deployments", "preview", "only valid on the v1 route"),
    # the Responses API on dated versions: /openai/responses?api-version=<date> from 2025-03-01-preview
    ("responses", None, "2025-03-01-preview", ("deployments", "2025-03-01-preview")),
    ("responses", None, "2025-04-01-preview", ("deployments", "2025-04-01-preview")),
    ("responses", "deployments", None, ("deployments", "2025-04-01-preview")),
    ("responses", None, "2026-01-01-preview", ("deployments", "2026-01-01-preview")),
    (
        "responses",
        None,
        "2025-02-01-preview",
        "has no Responses API: Azure serves it (/openai/responses?api-version=<date>) on dated "
        "versions from 2025-03-01-preview on; set api_version='2025-03-01-preview' or later",
    ),
    ("responses", None, "2024-10-21", "or use route='v1' (remove api_version)"),
    ("responses", "v1", "2025-04-01-preview", "is not valid on the v1 route"),
    ("responses", "deployments", "preview", "only valid on the v1 route"),
    ("chat", "dated", None, "route 'dated' is not valid"),
    ("completions", None, None, "api 'completions' is not valid"),
    ("chat", None, "2024-1-1", "not a valid api-version"),
]


@pytest.mark.parametrize(("api", "route", "version", "expected"), ROUTES)
def test_resolve_route(api: str, route: str | None, version: str | None, expected: object) -> None:
    if isinstance(expected, tuple):
        r, v = resolve_route(api, route, version)
        assert (r, v.value) == expected
    else:
        with pytest.raises(ConfigError) as exc:
            resolve_route(api, route, version)
        assert str(expected) in str(exc.value)


def test_route_error_names_where_the_version_came_from() -> None:
    with pytest.raises(ConfigError) as exc:
        resolve_route("responses", None, "2024-10-21", version_source="file azoai.toml")
    assert "(from file azoai.toml)" in str(exc.value)
    with pytest.raises(ConfigError) as exc:
        resolve_route("chat", "deployments", "v1", version_source="env OPENAI_API_VERSION")
    assert "(from env OPENAI_API_VERSION)" in str(exc.value)


FEATURE_TABLE = [
    # (version, feature, supported)
    ("2023-05-15", Feature.TOOLS, False),
    ("2023-12-01-preview", Feature.TOOLS, True),
    ("2024-02-01", Feature.TOOLS, True),
    ("2024-06-01", Feature.JSON_SCHEMA, False),
    ("2024-07-01-preview", Feature.JSON_SCHEMA, False),
    ("2024-08-01-preview", Feature.JSON_SCHEMA, True),
    ("2024-10-21", Feature.JSON_SCHEMA, True),
    ("2024-08-01-preview", Feature.MAX_COMPLETION_TOKENS, False),
    ("2024-09-01-preview", Feature.MAX_COMPLETION_TOKENS, True),
    ("2024-10-21", Feature.MAX_COMPLETION_TOKENS, True),
    ("2024-10-21", Feature.PARALLEL_TOOL_CALLS, True),
    ("2024-06-01", Feature.PARALLEL_TOOL_CALLS, False),
    # A GA version newer than a preview can still lack the preview's features.
    ("2024-10-21", Feature.REASONING_EFFORT, False),
    ("2024-10-21", Feature.DEVELOPER_ROLE, False),
    ("2024-12-01-preview", Feature.REASONING_EFFORT, True),
    ("2025-04-01-preview", Feature.DEVELOPER_ROLE, True),
    ("2024-02-01", Feature.EMBEDDING_DIMENSIONS, False),
    ("2024-03-01-preview", Feature.EMBEDDING_DIMENSIONS, True),
    ("2025-02-01-preview", Feature.RESPONSES, False),
    ("2025-03-01-preview", Feature.RESPONSES, True),
    ("v1", Feature.REASONING_EFFORT, True),
    ("preview", Feature.RESPONSES, True),
    # Newer than the table: assumed to have everything.
    ("2026-01-01", Feature.REASONING_EFFORT, True),
    ("2026-01-01-preview", Feature.RESPONSES, True),
]


@pytest.mark.parametrize(("version", "feature", "ok"), FEATURE_TABLE)
def test_feature_minimums(version: str, feature: Feature, ok: bool) -> None:
    assert supports(parse_api_version(version), feature) is ok


def test_require_feature_message_names_the_fix_and_can_be_turned_off() -> None:
    v = parse_api_version("2024-06-01")
    with pytest.raises(ApiVersionError) as exc:
        require_feature(v, Feature.JSON_SCHEMA)
    msg = str(exc.value)
    assert "response_format json_schema needs api_version 2024-08-01-preview" in msg
    assert "GA 2024-10-21" in msg and "route='v1'" in msg and "'2024-06-01'" in msg
    assert exc.value.setting == "api_version" and exc.value.feature == "response_format json_schema"
    require_feature(v, Feature.JSON_SCHEMA, check=False)


# --- parameter shaping -----------------------------------------------------------------------

GPT4O = lookup_model("gpt-4o")
O3MINI = lookup_model("o3-mini")
GPT5 = lookup_model("gpt-5-mini")
V1 = parse_api_version("v1")
GA = parse_api_version("2024-10-21")
OLD = parse_api_version("2024-06-01")


def shape(
    params: dict[str, object], model=GPT4O, version=V1, api="chat", **kw: object
) -> dict[str, object]:
    return shape_chat_params(params, api=api, model=model, version=version, **kw).params  # type: ignore[arg-type]


def test_non_reasoning_keeps_temperature_zero_and_sampling() -> None:
    out = shape({"temperature": 0, "top_p": 0.0, "presence_penalty": 0, "max_tokens": 5})
    assert out == {
        "temperature": 0,
        "top_p": 0.0,
        "presence_penalty": 0,
        "max_completion_tokens": 5,
    }


def test_output_limit_name_per_api_version_and_family() -> None:
    assert shape({"max_tokens": 7}, version=OLD) == {"max_tokens": 7}
    assert shape({"max_tokens": 7}, version=GA) == {"max_completion_tokens": 7}
    assert shape(
        {"max_tokens": 7}, model=O3MINI, version=parse_api_version("2025-04-01-preview")
    ) == {"max_completion_tokens": 7}
    assert shape({"max_tokens": 7}, api="responses") == {"max_output_tokens": 7}
    assert shape({"max_completion_tokens": 9}, api="responses", model=GPT5) == {
        "max_output_tokens": 9
    }


def test_reasoning_model_on_a_version_without_max_completion_tokens_is_an_error() -> None:
    # A reasoning model with no known first api-version (one learned from Azure's answers): the
    # feature rule names the parameter. (o3-mini itself fails earlier, on its first version.)
    learned = dataclasses.replace(O3MINI, first_dated_version=None)
    with pytest.raises(ApiVersionError, match="max_completion_tokens"):
        shape({"max_tokens": 7}, model=learned, version=OLD)


@pytest.mark.parametrize("model", [O3MINI, GPT5, lookup_model("o1"), lookup_model("gpt-5.1")])
def test_reasoning_models_lose_sampling_parameters_with_a_note(model, caplog) -> None:
    params = {
        "temperature": 0.2,
        "top_p": 1,
        "presence_penalty": 0.1,
        "frequency_penalty": 0.1,
        "logprobs": True,
        "top_logprobs": 2,
        "logit_bias": {"1": 2},
        "max_tokens": 10,
    }
    with caplog.at_level(logging.WARNING, logger="azoai.versions"):
        shaped = shape_chat_params(params, api="chat", model=model, version=V1)
    assert shaped.params == {"max_completion_tokens": 10}
    assert any("temperature dropped" in n and "reasoning model" in n for n in shaped.notes)


def test_reasoning_parameter_warning_is_logged_once_per_model(caplog) -> None:
    model = lookup_model("o4-mini-2025-04-16")
    with caplog.at_level(logging.WARNING, logger="azoai.versions"):
        shape({"temperature": 0.7}, model=model)
        shape({"temperature": 0.7}, model=model)
    assert len([r for r in caplog.records if "temperature dropped" in r.getMessage()]) == 1


def test_strict_mode_raises_instead_of_dropping() -> None:
    with pytest.raises(ConfigError, match="temperature is not supported") as exc:
        shape({"temperature": 0.5}, model=O3MINI, strict=True)
    assert exc.value.setting == "temperature"


def test_gpt5_chat_is_not_a_reasoning_model() -> None:
    assert shape({"temperature": 0}, model=lookup_model("gpt-5-chat")) == {"temperature": 0}


def test_reasoning_effort_rules() -> None:
    assert shape({"reasoning_effort": "low"}, model=O3MINI) == {"reasoning_effort": "low"}
    assert shape({"reasoning_effort": "minimal"}, model=GPT5) == {"reasoning_effort": "minimal"}
    with pytest.raises(ConfigError, match="not valid for o-series"):
        shape({"reasoning_effort": "minimal"}, model=O3MINI)
    learned = dataclasses.replace(O3MINI, first_dated_version=None)
    with pytest.raises(ApiVersionError, match="reasoning_effort"):
        shape({"reasoning_effort": "low"}, model=learned, version=GA)
    assert shape({"reasoning_effort": "low"}) == {}  # gpt-4o is not a reasoning model


def test_tool_choice_and_parallel_tool_calls() -> None:
    tools = [{"type": "function", "function": {"name": "f", "parameters": {}}}]
    assert shape({"tools": tools, "tool_choice": "any"})["tool_choice"] == "required"
    assert shape({"tools": tools, "tool_choice": True})["tool_choice"] == "required"
    assert shape({"tools": tools, "parallel_tool_calls": False})["parallel_tool_calls"] is False
    # only with tools
    assert shape({"parallel_tool_calls": False}) == {}
    assert shape({"tool_choice": "auto"}) == {}
    with pytest.raises(ConfigError, match="needs tools"):
        shape({"tool_choice": "required"})
    # not on a version without it
    assert "parallel_tool_calls" not in shape(
        {"tools": tools, "parallel_tool_calls": True}, version=parse_api_version("2024-02-01")
    )
    # not with gpt-5 minimal effort
    out = shape(
        {"tools": tools, "parallel_tool_calls": False, "reasoning_effort": "minimal"}, model=GPT5
    )
    assert "parallel_tool_calls" not in out
    with pytest.raises(ApiVersionError, match="tools"):
        shape({"tools": tools}, version=parse_api_version("2023-05-15"))


def test_response_format_and_stream_options_versions() -> None:
    schema = {"type": "json_schema", "json_schema": {"name": "x", "schema": {}}}
    with pytest.raises(ApiVersionError, match="json_schema"):
        shape({"response_format": schema}, version=OLD)
    assert shape({"response_format": schema}, version=GA)["response_format"] == schema
    shaped = shape_chat_params(
        {"stream_options": {"include_usage": True}},
        api="chat",
        model=GPT4O,
        version=parse_api_version("2024-06-01"),
    )
    assert "stream_options" not in shaped.params and "no streamed usage" in shaped.notes[0]


def test_model_without_tools_refuses_tools() -> None:
    with pytest.raises(ConfigError, match="does not support tool calling"):
        shape({"tools": [{"type": "function"}]}, model=lookup_model("o1-mini"), version=V1)


def test_unknown_model_keeps_everything_it_cannot_judge() -> None:
    unknown = lookup_model("my-finetune")
    assert shape({"temperature": 0.3, "reasoning_effort": "high"}, model=unknown) == {
        "temperature": 0.3,
        "reasoning_effort": "high",
    }


def test_developer_role_choice() -> None:
    assert developer_role_for(O3MINI, V1, "chat") == "developer"
    assert developer_role_for(O3MINI, GA, "chat") == "system"
    assert developer_role_for(GPT4O, V1, "chat") == "system"
