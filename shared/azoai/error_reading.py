"""Azure's error answers read into azoai's typed errors (:mod:`azoai.errors`): the error body
(both spellings Azure uses), the retry-after headers and texts, the Azure headers worth keeping,
content-filter verdicts and the request parameter an "unknown parameter" answer names.

Nothing from request headers is read, so no secret can reach an error's message."""

from __future__ import annotations

import difflib
import json
import re
import time
from collections.abc import Mapping
from typing import Any

from azoai.content_filter import (
    ContentFilterResults,
    Side,
    blocked_side,
    parse_error_filter_results,
)
from azoai.errors import (
    AZURE_HEADERS,
    APIStatusError,
    AuthenticationError,
    AzoaiError,
    BadRequestError,
    ContentFilterError,
    ContextLengthError,
    DeploymentNotFoundError,
    DeploymentPausedError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServiceUnavailableError,
    TimeoutError,
    UnprocessableEntityError,
    UnsupportedParameterError,
)

__all__ = [
    "content_filter_error",
    "error_from_response",
    "filter_side",
    "is_content_filter",
    "kept_headers",
    "parse_retry_after",
]


# --- retry-after --------------------------------------------------------------------------------

_RETRY_IN_TEXT = re.compile(
    r"(?:retry after|try again in)\s+(\d+(?:\.\d+)?)\s*(second|millisecond|ms|s)", re.I
)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        for k, v in headers.items():
            if k.lower() == name:
                return v
    return value


def parse_retry_after(headers: Mapping[str, str], message: str | None = None) -> float | None:
    """The wait, in seconds, that a 429/503 asks for.

    Order: ``retry-after-ms``, ``x-ms-retry-after-ms``, ``retry-after`` (seconds or an HTTP date),
    then the "retry after N seconds" sentence in Azure's message. Nonsense values (negative,
    unparsable) are ignored so the caller falls back to its own backoff.
    """
    for name, scale in (("retry-after-ms", 0.001), ("x-ms-retry-after-ms", 0.001)):
        raw = _header(headers, name)
        if raw is not None:
            try:
                value = float(raw) * scale
            except ValueError:
                continue
            if 0 <= value < float("inf"):  # untrusted: nan, inf and negatives are ignored
                return value
    raw = _header(headers, "retry-after")
    if raw is not None:
        try:
            value = float(raw)
            if 0 <= value < float("inf"):
                return value
        except ValueError:
            import email.utils  # an HTTP date: rare, so parsed on demand

            try:
                when = email.utils.parsedate_to_datetime(raw)
            except (TypeError, ValueError, IndexError):
                when = None
            if when is not None:
                return max(0.0, when.timestamp() - time.time())
    if message:
        m = _RETRY_IN_TEXT.search(message)
        if m:
            value = float(m.group(1))
            return value / 1000 if m.group(2).lower().startswith("m") else value
    return None


# --- mapping ------------------------------------------------------------------------------------


def _parse_body(
    body: bytes | str | Mapping[str, Any] | None,
) -> tuple[Mapping[str, Any] | None, str]:
    if body is None:
        return None, ""
    if isinstance(body, Mapping):
        return body, ""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes | bytearray) else str(body)
    try:
        parsed = json.loads(text)
    except ValueError:
        return None, text
    return (parsed if isinstance(parsed, Mapping) else None), text


_KEPT = (
    *AZURE_HEADERS,
    "x-ratelimit-limit-requests",
    "x-ratelimit-limit-tokens",
    "x-ratelimit-remaining-requests",
    "x-ratelimit-remaining-tokens",
    "retry-after",
    "retry-after-ms",
)


_KEPT_SET = frozenset(_KEPT)
_KEPT_BYTES = frozenset(name.encode("ascii") for name in _KEPT)


def kept_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The Azure response headers worth keeping on results and errors (lower-case names).

    One pass over the raw header list: each lookup on ``httpx.Headers`` scans and decodes every
    header, so a dozen lookups cost more than reading them all once."""
    raw = getattr(headers, "raw", None)
    if raw is not None:
        out: dict[str, str] = {}
        for key, value in raw:
            name = key.lower()
            if name in _KEPT_BYTES:  # compared as bytes: only kept headers get decoded
                out[name.decode("ascii")] = value.decode("latin-1")
        return out
    return {k.lower(): v for k, v in headers.items() if k.lower() in _KEPT_SET}


def error_from_response(
    status: int,
    body: bytes | str | Mapping[str, Any] | None,
    headers: Mapping[str, str] | None = None,
    *,
    deployment: str | None = None,
    route: str | None = None,
    api_version: str | None = None,
) -> AzoaiError:
    """Turn an HTTP error response from Azure into the matching typed error.

    Both error-body spellings are understood (``innererror``/``inner_error``,
    ``content_filter_result``/``content_filter_results``); ``error.code`` may be a word or a
    number in a string. Nothing from request headers is read, so no secret can reach the message.
    """
    headers = headers or {}
    parsed, text = _parse_body(body)
    err: Mapping[str, Any] = {}
    if parsed is not None:
        raw_err = parsed.get("error")
        if isinstance(raw_err, Mapping):
            err = raw_err
        elif isinstance(raw_err, str):
            err = {"message": raw_err}
        elif "message" in parsed or "code" in parsed:
            err = parsed
    code_raw = err.get("code")
    code = str(code_raw) if code_raw is not None else None
    message = err.get("message")
    if not isinstance(message, str) or not message:
        snippet = " ".join(text.split())[:300] if text else ""
        message = snippet or f"HTTP {status}"
    param = err.get("param") if isinstance(err.get("param"), str) else None
    request_id = _header(headers, "apim-request-id") or _header(headers, "x-request-id")
    where = _where(deployment, route, api_version)
    common: dict[str, Any] = {
        "status_code": status,
        "code": code,
        "request_id": request_id,
        "deployment": deployment,
        "route": route,
        "headers": kept_headers(headers),
        "body": parsed if parsed is not None else (text[:2000] if text else None),
    }
    lower = message.lower()

    if is_content_filter(err):
        return content_filter_error(err, message, **common)
    if status == 400 or status == 422:
        if (
            code == "context_length_exceeded"
            or "maximum context length" in lower
            or "context length" in lower
        ):
            return ContextLengthError(
                f"{message}{where}",
                fix="shorten the prompt or lower max_tokens",
                **common,
            )
        if (
            "unsupported parameter" in lower
            or "unsupported value" in lower
            or code in ("unsupported_parameter", "unsupported_value")
        ):
            return UnsupportedParameterError(
                f"{message}{where}",
                param=param or _quoted(message),
                fix="remove the parameter; if azoai does not know the deployment's model, name it "
                "(model=, deployments=[{'name': ..., 'model': ...}] or discovery) so that family's "
                "parameter rules apply",
                **common,
            )
        if (
            "unrecognized request argument" in lower
            or "unknown parameter" in lower
            or code == "unknown_parameter"
        ):
            names = _unknown_names(message, param)
            return UnsupportedParameterError(
                f"{message}{where}",
                param=param or (names[0] if names else None),
                fix=_unknown_fix(names, route, api_version),
                **common,
            )
        if status == 422:
            return UnprocessableEntityError(f"{message}{where}", **common)
        if code == "OperationNotSupported":
            # e.g. chat on gpt-35-turbo-instruct, or completions on a chat model
            return BadRequestError(
                f"{message}{where}",
                fix="use a deployment whose model serves this operation: legacy completions take "
                "instruct models (azoai.Completions; LangChain AzureOpenAI; LlamaIndex "
                "AzureOpenAICompletion), chat takes chat models, images take image models",
                **common,
            )
        return BadRequestError(f"{message}{where}", **common)
    if status == 401:
        if code == "PermissionDenied" or "lacks the required data action" in lower:
            return PermissionDeniedError(
                f"{message}{where}",
                fix="grant the identity the 'Cognitive Services OpenAI User' role on the resource (it can take 5 minutes to apply)",
                **common,
            )
        return AuthenticationError(
            f"{message}{where}",
            fix="check the API key or the Entra token (scope, tenant, expiry) for this endpoint",
            **common,
        )
    if status == 403:
        if parsed is None and ("<html" in text.lower() or not text.strip()):
            return ServiceUnavailableError(
                f"403 from a gateway with no JSON body{where}: {message}", **common
            )
        return PermissionDeniedError(
            f"{message}{where}",
            fix="check the resource's network rules (firewall, private endpoint) and the identity's role",
            **common,
        )
    if status == 404:
        if code == "DeploymentNotFound":
            name = f"'{deployment}' " if deployment else ""
            return DeploymentNotFoundError(
                f"Deployment {name}not found on this resource{where}: {message}",
                fix="check the deployment name (azoai deployments lists them) or set deployment_map",
                **common,
            )
        return NotFoundError(
            f"{message}{where}",
            fix="the route or api_version may not serve this operation; try route='v1'",
            **common,
        )
    if status == 408:
        return TimeoutError(f"Azure timed out the request (408){where}: {message}", **common)
    if status == 423:
        return DeploymentPausedError(
            f"Deployment {deployment or ''} is paused (423){where}: {message}",
            fix="resume the deployment in the Azure portal or route to another deployment",
            **common,
        )
    if status == 429:
        retry_after = parse_retry_after(headers, message)
        return RateLimitError(
            f"Rate limited (429){where}: {message}",
            retry_after=retry_after,
            fix="lower the request rate or raise the deployment's TPM/RPM quota",
            **common,
        )
    if status >= 500:
        return ServiceUnavailableError(f"Azure returned {status}{where}: {message}", **common)
    return APIStatusError(f"Azure returned {status}{where}: {message}", **common)


#: ``innererror.code`` values that mean the content filter: the classic one and the Responses
#: API's (microsoft/agent-framework#8385).
_FILTER_INNER_CODES = frozenset({"ResponsibleAIPolicyViolation", "ContentFiltered"})


def is_content_filter(err: Mapping[str, Any]) -> bool:
    """Whether an Azure error object is the content filter: ``code: "content_filter"``
    (``content_policy_violation`` in the Responses API's stream error frame, maximhq/bifrost#6652,
    and in the Images API's 400; ``contentFilter`` for an image the output filter withheld), or a
    filter ``innererror.code``."""
    inner = err.get("innererror") or err.get("inner_error")
    inner_code = inner.get("code") if isinstance(inner, Mapping) else None
    return err.get("code") in ("content_filter", "content_policy_violation", "contentFilter") or (
        inner_code in _FILTER_INNER_CODES
    )


def filter_side(err: Mapping[str, Any]) -> Side:
    """Which side an Azure content-filter error object blocked: the ``content_filters`` entry
    marked ``blocked``, else ``param: "prompt"`` or Azure's "prompt triggering" sentence say the
    prompt, else (the filter stopped output already under way) the completion."""
    inner = err.get("innererror") or err.get("inner_error")
    listed = err.get("content_filters")
    if listed is None and isinstance(inner, Mapping):
        listed = inner.get("content_filters")
    side = blocked_side(listed)
    if side is not None:
        return side
    message = err.get("message")
    if isinstance(message, str) and message.lower().startswith("generated image was filtered"):
        return "completion"  # the Images API's output filter (code "contentFilter")
    if err.get("param") == "prompt" or (isinstance(message, str) and "prompt" in message.lower()):
        return "prompt"
    return "completion" if "completion" in str(message).lower() else "prompt"


def content_filter_error(
    err: Mapping[str, Any], message: str, *, partial_text: str = "", **common: Any
) -> ContentFilterError:
    """The :class:`ContentFilterError` for an Azure content-filter error object (a 400 body's
    ``error``, or the error a Responses ``response.failed`` / ``error`` event carries)."""
    side = filter_side(err)
    results = parse_error_filter_results(err)
    if results is not None and results.side != side:
        results = ContentFilterResults(side, results.categories, raw=results.raw)
    verdicts = [results] if results else []
    cats = ", ".join(results.filtered_categories) if results else ""
    what = "the prompt" if side == "prompt" else "the completion"
    return ContentFilterError(
        f"Azure's content filter blocked {what}{f' ({cats})' if cats else ''}: {message}",
        side=side,
        results=verdicts,
        partial_text=partial_text,
        fix="rephrase the prompt, or ask your Azure admin to adjust the content filter policy"
        if side == "prompt"
        else "rephrase the request, or ask your Azure admin to adjust the content filter policy",
        **common,
    )


def _where(deployment: str | None, route: str | None, api_version: str | None) -> str:
    bits = []
    if deployment:
        bits.append(f"deployment '{deployment}'")
    if route:
        bits.append(f"route {route}")
    if api_version:
        bits.append(f"api-version {api_version}")
    return f" [{', '.join(bits)}]" if bits else ""


#: Request parameters of Chat Completions and the Responses API, for "did you mean" hints.
_REQUEST_PARAMETERS = (
    "messages",
    "input",
    "instructions",
    "model",
    "temperature",
    "top_p",
    "max_tokens",
    "max_completion_tokens",
    "max_output_tokens",
    "stop",
    "seed",
    "presence_penalty",
    "frequency_penalty",
    "logprobs",
    "top_logprobs",
    "logit_bias",
    "user",
    "n",
    "stream",
    "stream_options",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "response_format",
    "reasoning_effort",
    "reasoning",
    "verbosity",
    "store",
    "metadata",
    "prediction",
    "previous_response_id",
    "include",
    "text",
    "truncation",
    "service_tier",
    "modalities",
    "audio",
    "data_sources",
)


def _unknown_names(message: str, param: str | None) -> list[str]:
    """The parameters Azure's "Unrecognized request argument(s) supplied: a, b" or "Unknown
    parameter: 'a'." names."""
    m = re.search(r"supplied:\s*(.+)$", message.strip())
    if m:
        names = [n.strip(" .'\"") for n in m.group(1).split(",")]
        return [n for n in names if n]
    quoted = param or _quoted(message)
    return [quoted] if quoted else []


def _unknown_fix(names: list[str], route: str | None, api_version: str | None) -> str:
    """The fix for parameters Azure does not take: their spelling (with the known parameter each
    looks like), and only on a dated api-version, a newer one or the v1 route."""
    shown = ", ".join(repr(n) for n in names) or "the parameter"
    hints = {}
    for name in names:
        close = difflib.get_close_matches(name, _REQUEST_PARAMETERS, n=1, cutoff=0.75)
        if close and close[0] != name:
            hints[name] = close[0]
    fix = f"check the spelling of {shown}"
    if len(names) == 1 and hints:
        fix += f" (did you mean {hints[names[0]]!r}?)"
    elif hints:
        fix += f" (did you mean {', '.join(f'{m!r} for {n!r}' for n, m in hints.items())}?)"
    fix += ", or remove it"
    on_v1 = route == "v1" or api_version in (None, "v1", "preview")
    if not on_v1:
        fix += (
            f"; if it is a parameter newer than api_version {api_version}, use a newer "
            "api_version or route='v1'"
        )
    return fix


def _quoted(message: str) -> str | None:
    m = re.search(r"'([A-Za-z_][\w.]*)'", message)
    return m.group(1) if m else None
