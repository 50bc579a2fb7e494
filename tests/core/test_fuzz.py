"""Property-based tests: settings parsing and the dialects' parsers only ever raise typed azoai
errors on bad input (never KeyError, IndexError, AttributeError, TypeError), and never hang."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from azoai.config.endpoints import parse_endpoint
from azoai.config.settings import Settings, parse_bool
from azoai.config.versions import parse_api_version, resolve_route
from azoai.content_filter import parse_category_results, parse_prompt_filter_results
from azoai.error_reading import error_from_response, parse_retry_after
from azoai.errors import AzoaiError
from azoai.wire import chat_completions as cc
from azoai.wire import responses as rs
from azoai.wire.common import loads, parse_tool_arguments
from azoai.wire.sse import iter_sse

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)

# Dicts that look like Azure payloads: the right keys, arbitrary values.
CHAT_KEYS = [
    "id",
    "model",
    "choices",
    "usage",
    "prompt_filter_results",
    "prompt_annotations",
    "system_fingerprint",
    "delta",
    "message",
    "content",
    "tool_calls",
    "function",
    "arguments",
    "finish_reason",
    "index",
    "content_filter_results",
    "content_filter_offsets",
    "prompt_tokens_details",
    "completion_tokens_details",
]
RESP_KEYS = [
    "type",
    "delta",
    "item",
    "response",
    "output",
    "status",
    "usage",
    "output_index",
    "call_id",
    "name",
    "arguments",
    "summary",
    "error",
    "code",
    "message",
    "incomplete_details",
    "content",
    "text",
]


def shaped(keys: list[str]) -> st.SearchStrategy[Any]:
    return st.recursive(
        st.none()
        | st.booleans()
        | st.integers(-3, 3)
        | st.text(max_size=10)
        | st.sampled_from(keys),
        lambda children: (
            st.lists(children, max_size=3)
            | st.dictionaries(st.sampled_from(keys), children, max_size=5)
        ),
        max_leaves=25,
    )


def only_typed(fn: Any, *args: Any) -> None:
    try:
        fn(*args)
    except AzoaiError:
        pass


@FAST
@given(shaped(CHAT_KEYS))
def test_chat_parsers_only_raise_typed_errors(body: Any) -> None:
    only_typed(cc.parse_response, body)
    only_typed(cc.parse_chunk, body)


@FAST
@given(shaped(RESP_KEYS))
def test_responses_parsers_only_raise_typed_errors(body: Any) -> None:
    only_typed(rs.parse_response, body)
    only_typed(rs.parse_event, body)


@FAST
@given(json_values)
def test_content_filter_parsers_never_raise(raw: Any) -> None:
    parse_category_results(raw)
    parse_prompt_filter_results({"prompt_filter_results": raw})
    parse_prompt_filter_results({"prompt_annotations": raw})


@FAST
@given(
    st.integers(100, 599),
    st.one_of(json_values.map(json.dumps), st.binary(max_size=60)),
    st.dictionaries(
        st.sampled_from(
            ["retry-after", "retry-after-ms", "x-ms-retry-after-ms", "apim-request-id"]
        ),
        st.text(max_size=12),
        max_size=3,
    ),
)
def test_error_mapping_always_gives_a_typed_error(
    status: int, body: Any, headers: dict[str, str]
) -> None:
    err = error_from_response(status, body, headers)
    assert isinstance(err, AzoaiError)
    parse_retry_after(headers, str(body))


@FAST
@given(st.binary(max_size=200))
def test_json_loading_of_garbage_is_typed(data: bytes) -> None:
    only_typed(loads, data)


@FAST
@given(st.lists(st.text(max_size=40), max_size=30))
def test_sse_decoding_of_garbage_lines_terminates(lines: list[str]) -> None:
    events = list(iter_sse(lines))
    assert len(events) <= len(lines)
    for e in events:
        only_typed(cc.parse_chunk, _maybe_json(e))


def _maybe_json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


@FAST
@given(st.text(max_size=2000))
def test_tool_arguments_never_silently_empty(raw: str) -> None:
    args, text, error = parse_tool_arguments(raw)
    assert text == raw
    if error is not None:
        assert args is None
    elif raw.strip():
        assert isinstance(args, dict) and json.loads(raw) == args


def test_huge_tool_argument_strings_are_kept() -> None:
    raw = '{"x": "' + "a" * 2_000_000  # truncated mid-string
    args, text, error = parse_tool_arguments(raw)
    assert args is None and text == raw and error


@FAST
@given(st.text(max_size=60))
def test_endpoint_parsing_only_raises_config_errors(raw: str) -> None:
    only_typed(parse_endpoint, raw)
    only_typed(parse_endpoint, "https://" + raw)


@FAST
@given(
    st.text(max_size=30),
    st.sampled_from(["chat", "responses", "x"]),
    st.sampled_from([None, "v1", "deployments", "y"]),
)
def test_versions_and_routes_only_raise_config_errors(
    version: str, api: str, route: str | None
) -> None:
    only_typed(parse_api_version, version)
    only_typed(resolve_route, api, route, version or None)


@FAST
@given(st.one_of(st.text(max_size=10), st.integers(), st.none(), st.booleans()))
def test_booleans_only_raise_config_errors(value: Any) -> None:
    only_typed(lambda: parse_bool(value, setting="x"))


@FAST
@given(
    st.dictionaries(
        st.sampled_from(
            [
                "AZURE_OPENAI_ENDPOINT",
                "AZURE_OPENAI_API_KEY",
                "AZURE_OPENAI_AD_TOKEN",
                "OPENAI_API_VERSION",
                "AZURE_OPENAI_API_VERSION",
                "AZURE_OPENAI_DEPLOYMENT",
                "AZURE_USE_MANAGED_IDENTITY",
                "AZURE_USE_DEFAULT_CREDENTIAL",
                "AZURE_FEDERATED_TOKEN_FILE",
                "AZURE_CLIENT_ID",
                "AZURE_TENANT_ID",
            ]
        ),
        st.text(max_size=30),
        max_size=6,
    )
)
def test_environment_parsing_only_raises_config_errors(env: dict[str, str]) -> None:
    only_typed(lambda: Settings.build(env=env, config_file=""))


@FAST
@given(
    st.dictionaries(
        st.sampled_from(
            [
                "endpoint",
                "api",
                "route",
                "api_version",
                "deployment",
                "strict",
                "deployment_map",
                "deployments",
                "auth",
                "retry",
                "timeout",
                "discovery",
                "typo",
            ]
        ),
        json_values,
        max_size=5,
    )
)
def test_config_files_only_raise_config_errors(tmp_path_factory: Any, data: dict[str, Any]) -> None:
    path = tmp_path_factory.mktemp("cfg") / "azoai.toml"
    path.write_text(_toml(data))
    only_typed(lambda: Settings.build(env={}, config_file=path))


def _toml(data: dict[str, Any]) -> str:
    lines = []
    for k, v in data.items():
        lines.append(
            f"{k} = {json.dumps(v) if not isinstance(v, dict | type(None)) else json.dumps(str(v))}"
        )
    return "\n".join(lines)
