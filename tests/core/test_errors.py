"""Mapping Azure's error responses (facts §4) to the typed errors, and retry-after parsing."""

from __future__ import annotations

import json
import pickle
import time
from email.utils import formatdate

import pytest

from azoai import errors as E
from azoai.error_reading import error_from_response, parse_retry_after
from azoai.openai_compat import azoai_class

CF_BODY = {
    "error": {
        "message": "The response was filtered due to the prompt triggering Azure OpenAI's content management policy.",
        "type": None,
        "param": "prompt",
        "code": "content_filter",
        "status": 400,
        "innererror": {
            "code": "ResponsibleAIPolicyViolation",
            "content_filter_result": {
                "custom_blocklists": [{"filtered": True, "id": "raiBlocklistName"}],
                "hate": {"filtered": False, "severity": "safe"},
                "jailbreak": {"filtered": True, "detected": True},
                "violence": {"filtered": False, "severity": "low"},
            },
        },
    }
}


@pytest.mark.parametrize(
    ("status", "body", "cls", "text"),
    [
        (
            401,
            {
                "error": {
                    "code": "401",
                    "message": "Access denied due to invalid subscription key or wrong API endpoint.",
                }
            },
            E.AuthenticationError,
            "invalid subscription key",
        ),
        (
            401,
            {
                "error": {
                    "code": "PermissionDenied",
                    "message": "The principal `x` lacks the required data action",
                }
            },
            E.PermissionDeniedError,
            "Cognitive Services OpenAI User",
        ),
        (
            403,
            {"error": {"code": "403", "message": "Public access is disabled."}},
            E.PermissionDeniedError,
            "network rules",
        ),
        (
            403,
            "<html><body>Forbidden</body></html>",
            E.ServiceUnavailableError,
            "403 from a gateway",
        ),
        (
            404,
            {
                "error": {
                    "code": "DeploymentNotFound",
                    "message": "The API deployment for this resource does not exist.",
                }
            },
            E.DeploymentNotFoundError,
            "Deployment 'dep' not found",
        ),
        (
            404,
            {
                "error": {
                    "type": "invalid_request_error",
                    "code": "DeploymentNotFound",
                    "message": "x",
                }
            },
            E.DeploymentNotFoundError,
            "route v1",
        ),
        (
            404,
            {"error": {"code": "404", "message": "Resource not found"}},
            E.NotFoundError,
            "Resource not found",
        ),
        (408, "", E.TimeoutError, "408"),
        (
            423,
            {"error": {"code": "DeploymentPaused", "message": "paused"}},
            E.DeploymentPausedError,
            "paused",
        ),
        (
            429,
            {
                "error": {
                    "code": "429",
                    "message": "Rate limit is exceeded. Try again in 2 seconds.",
                }
            },
            E.RateLimitError,
            "Rate limited",
        ),
        (
            500,
            {"error": {"code": "InternalServerError", "message": "oops"}},
            E.ServiceUnavailableError,
            "returned 500",
        ),
        (503, b"not json at all", E.ServiceUnavailableError, "not json at all"),
        (
            400,
            {
                "error": {
                    "message": "This model's maximum context length is 128000 tokens.",
                    "code": "context_length_exceeded",
                }
            },
            E.ContextLengthError,
            "maximum context length",
        ),
        (
            400,
            {
                "error": {
                    "message": "Unsupported parameter: 'temperature' is not supported with this model.",
                    "code": "unsupported_parameter",
                }
            },
            E.UnsupportedParameterError,
            "temperature",
        ),
        (
            400,
            {"error": {"message": "Unrecognized request arguments supplied: tool_choice, tools"}},
            E.UnsupportedParameterError,
            "check the spelling of 'tool_choice', 'tools'",
        ),
        (
            400,
            {
                "error": {
                    "message": "'parallel_tool_calls' is only allowed when 'tools' are specified."
                }
            },
            E.BadRequestError,
            "parallel_tool_calls",
        ),
        (400, CF_BODY, E.ContentFilterError, "blocked the prompt"),
        (418, {"weird": True}, E.APIStatusError, "418"),
    ],
)
def test_error_mapping(status: int, body: object, cls: type, text: str) -> None:
    raw = json.dumps(body).encode() if isinstance(body, dict) else body
    err = error_from_response(
        status, raw, {"apim-request-id": "req-1"}, deployment="dep", route="v1"
    )
    assert azoai_class(type(err)) is cls  # (an openai twin once openai is imported)
    assert text in str(err)
    assert err.status_code == status and err.request_id == "req-1"
    assert isinstance(err, E.AzoaiError)


def test_content_filter_details_kept_in_both_spellings() -> None:
    err = error_from_response(400, CF_BODY)
    assert isinstance(err, E.ContentFilterError) and err.side == "prompt"
    assert err.filtered_categories == ["blocklist:raiBlocklistName", "jailbreak"]
    assert err.results[0].to_dict()["violence"] == {"filtered": False, "severity": "low"}
    spec = {
        "error": {
            "code": "content_filter",
            "message": "m",
            "inner_error": {
                "code": "ResponsibleAIPolicyViolation",
                "content_filter_results": {"sexual": {"filtered": True, "severity": "high"}},
            },
        }
    }
    err2 = error_from_response(400, spec)
    assert isinstance(err2, E.ContentFilterError) and err2.filtered_categories == ["sexual"]
    # detected by the inner code alone
    inner_only = {
        "error": {
            "code": "BadRequest",
            "message": "m",
            "innererror": {"code": "ResponsibleAIPolicyViolation", "content_filter_result": {}},
        }
    }
    assert isinstance(error_from_response(400, inner_only), E.ContentFilterError)


def test_rate_limit_retry_after_and_quota() -> None:
    err = error_from_response(
        429,
        {"error": {"code": "429", "message": "x"}},
        {"retry-after-ms": "1500", "retry-after": "2"},
    )
    assert isinstance(err, E.RateLimitError) and err.retry_after == 1.5 and err.retryable
    quota = error_from_response(
        429, {"error": {"code": "429", "message": "Please retry after 86400 seconds."}}
    )
    assert (
        isinstance(quota, E.RateLimitError) and quota.retry_after == 86400 and quota.quota_exhausted
    )


@pytest.mark.parametrize(
    ("headers", "message", "expected"),
    [
        ({"retry-after-ms": "250"}, None, 0.25),
        ({"x-ms-retry-after-ms": "3000"}, None, 3.0),
        ({"Retry-After": "7"}, None, 7.0),
        ({"retry-after-ms": "bogus", "retry-after": "4"}, None, 4.0),
        ({"retry-after-ms": "-5"}, None, None),
        ({}, "Rate limit is exceeded. Try again in 2 seconds.", 2.0),
        ({}, "Please retry after 60 seconds.", 60.0),
        ({}, "nothing here", None),
    ],
)
def test_parse_retry_after(
    headers: dict[str, str], message: str | None, expected: float | None
) -> None:
    assert parse_retry_after(headers, message) == expected


def test_retry_after_http_date() -> None:
    value = parse_retry_after({"retry-after": formatdate(time.time() + 30, usegmt=True)})
    assert value is not None and 25 <= value <= 31


def test_errors_pickle_and_keep_fields() -> None:
    err = error_from_response(
        429, {"error": {"code": "429", "message": "m"}}, {"retry-after": "3"}, deployment="d"
    )
    clone = pickle.loads(pickle.dumps(err))
    assert azoai_class(type(clone)) is E.RateLimitError
    assert clone.retry_after == 3 and str(clone) == str(err)


def test_config_error_is_a_value_error_with_the_setting() -> None:
    err = E.ConfigError("bad", setting="api_version", fix="use v1")
    assert (
        isinstance(err, ValueError) and err.setting == "api_version" and "Fix: use v1" in str(err)
    )


def test_timeout_error_is_the_builtin_too() -> None:
    assert issubclass(E.TimeoutError, TimeoutError) and E.TimeoutError.retryable
