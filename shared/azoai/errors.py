"""The typed errors azoai raises, and the one mapping from HTTP responses and Azure bodies to them.

Catch :class:`AzoaiError` for everything, or a subclass for one case. Every error carries a
one-line ``fix`` when there is an obvious one, and never a secret: messages are built from Azure's
error text and our own context (deployment, route, api-version), never from headers or settings
that hold keys or tokens.
"""

from __future__ import annotations

import builtins
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

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "ApiVersionError",
    "AuthenticationError",
    "AzoaiError",
    "BadRequestError",
    "ConfigError",
    "ContentFilterError",
    "ContextLengthError",
    "CorruptResponseError",
    "DeploymentNotFoundError",
    "DeploymentPausedError",
    "InvalidResponseError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "ResponseTooLargeError",
    "ResponsesRequiredError",
    "ServiceUnavailableError",
    "StreamInterruptedError",
    "TimeoutError",
    "UnsupportedParameterError",
    "error_from_response",
    "parse_retry_after",
]

#: Response headers worth keeping on errors and results (lower-case).
AZURE_HEADERS = ("x-ms-region", "apim-request-id", "x-request-id", "x-ms-client-request-id")


class AzoaiError(Exception):
    """Base of every error azoai raises.

    ``status_code`` is set when the error came from an HTTP response; ``fix`` is a one-line hint
    naming the setting or action that resolves it.
    """

    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        code: str | None = None,
        fix: str | None = None,
        request_id: str | None = None,
        deployment: str | None = None,
        route: str | None = None,
        headers: Mapping[str, str] | None = None,
        body: Any = None,
    ) -> None:
        self.message = message
        self.status_code = status_code
        self.code = code
        self.fix = fix
        self.request_id = request_id
        self.deployment = deployment
        self.route = route
        self.headers: dict[str, str] = dict(headers or {})
        self.body = body
        super().__init__(self._render())

    def _render(self) -> str:
        parts = [self.message]
        if self.fix:
            parts.append(f"Fix: {self.fix}")
        if self.request_id:
            parts.append(f"(request id {self.request_id})")
        return " ".join(parts)

    def __reduce__(self) -> tuple[Any, ...]:
        # Keep errors picklable (multiprocessing, pytest-xdist) without re-running __init__ logic.
        return (_rebuild_error, (type(self), self.__dict__.copy(), self.args))


def _rebuild_error(
    cls: type[AzoaiError], state: dict[str, Any], args: tuple[Any, ...]
) -> AzoaiError:
    err = cls.__new__(cls)
    Exception.__init__(err, *args)
    err.__dict__.update(state)
    return err


class ConfigError(AzoaiError, ValueError):
    """The configuration is invalid. ``setting`` names the setting to change."""

    def __init__(self, message: str, *, setting: str | None = None, fix: str | None = None) -> None:
        self.setting = setting
        super().__init__(message, fix=fix)


class ApiVersionError(ConfigError):
    """A feature was asked for on an api-version (or route) that does not have it."""

    def __init__(
        self,
        message: str,
        *,
        feature: str | None = None,
        api_version: str | None = None,
        fix: str | None = None,
    ) -> None:
        self.feature = feature
        self.api_version = api_version
        super().__init__(message, setting="api_version", fix=fix)


class APIStatusError(AzoaiError):
    """Azure answered with an HTTP error status not covered by a more specific class."""


class AuthenticationError(APIStatusError):
    """401 from Azure, or no token could be obtained from the configured credential."""


class PermissionDeniedError(APIStatusError):
    """403 (firewall, private endpoint), or a 401 ``PermissionDenied`` for a missing role."""


class NotFoundError(APIStatusError):
    """404: an unknown path, or an operation this api-version does not serve."""


class DeploymentNotFoundError(NotFoundError):
    """404 ``DeploymentNotFound``: no deployment of that name on this resource."""


class DeploymentPausedError(APIStatusError):
    """423: the deployment is paused."""


class BadRequestError(APIStatusError):
    """400: Azure rejected the request."""


class ContextLengthError(BadRequestError):
    """400: the prompt plus the requested output exceed the model's context window."""


class UnsupportedParameterError(BadRequestError):
    """400: the model or api-version does not accept a parameter that was sent."""

    def __init__(self, message: str, *, param: str | None = None, **kw: Any) -> None:
        self.param = param
        super().__init__(message, **kw)


class ResponsesRequiredError(BadRequestError):
    """A chat call that only the Responses API serves on Azure, and azoai did not (or could not)
    send it there: Chat Completions refuses function tools with reasoning on gpt-5.2 and later
    ("Function tools with reasoning_effort are not supported ... Please use /v1/responses") and
    every file part ("Invalid Value: 'file'"). ``reason`` is ``"tools"`` or ``"files"``;
    ``setting`` names what to change (``auto_responses``, ``api_version``...). Raised before
    sending when the rule is known, else carrying Azure's 400."""

    def __init__(self, message: str, *, reason: str, setting: str, **kw: Any) -> None:
        self.reason = reason
        self.setting = setting
        super().__init__(message, **kw)


class ContentFilterError(AzoaiError):
    """Azure's content filter blocked the prompt (400) or the completion (``finish_reason``).

    ``side`` is ``"prompt"`` or ``"completion"``; ``results`` holds the category verdicts;
    ``partial_text`` is what the model produced before it was filtered (completion side).
    """

    def __init__(
        self,
        message: str,
        *,
        side: str,
        results: list[ContentFilterResults] | None = None,
        partial_text: str = "",
        partial_result: Any = None,
        **kw: Any,
    ) -> None:
        self.side = side
        self.results = list(results or [])
        self.partial_text = partial_text
        self.partial_result = partial_result
        super().__init__(message, **kw)

    @property
    def filtered_categories(self) -> list[str]:
        out: list[str] = []
        for r in self.results:
            out.extend(c for c in r.filtered_categories if c not in out)
        return out


class RateLimitError(APIStatusError):
    """429. ``retry_after`` is the wait Azure asked for, in seconds (``None`` if it gave none)."""

    retryable = True

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        self.retry_after = retry_after
        super().__init__(message, **kw)

    @property
    def quota_exhausted(self) -> bool:
        """Azure's way of saying the quota is used up is a wait of hours (86400 s), not seconds."""
        return self.retry_after is not None and self.retry_after >= 3600


class ServiceUnavailableError(APIStatusError):
    """5xx, or a 403 gateway page with no JSON body: a transient service-side failure."""

    retryable = True


class TimeoutError(AzoaiError, builtins.TimeoutError):
    """The request (or a stream between two chunks) took longer than the configured timeout."""

    retryable = True


class APIConnectionError(AzoaiError):
    """The connection failed or was closed before a response arrived."""

    retryable = True


class StreamInterruptedError(AzoaiError):
    """A stream ended without a finish reason or ``[DONE]``. ``partial_text`` is what arrived."""

    retryable = True

    def __init__(self, message: str, *, partial_text: str = "", **kw: Any) -> None:
        self.partial_text = partial_text
        super().__init__(message, **kw)


class InvalidResponseError(AzoaiError):
    """Azure (or a proxy in between) sent a body azoai cannot parse."""


class CorruptResponseError(APIConnectionError):
    """The response body could not be decoded (a ``Content-Encoding: gzip`` body that is not
    gzip, say): damaged on the way, so it is retried and failed over like a dropped connection."""


class ResponseTooLargeError(InvalidResponseError):
    """A response body (decoded) or one stream event was larger than its limit. ``setting`` names
    the limit (``max_response_bytes`` or ``max_event_bytes``) and ``limit`` its value in bytes."""

    def __init__(self, message: str, *, setting: str, limit: int, **kw: Any) -> None:
        self.setting = setting
        self.limit = limit
        super().__init__(message, **kw)


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
        if "unrecognized request argument" in lower:
            return UnsupportedParameterError(
                f"{message}{where}",
                param=param,
                fix="this api_version is too old for the feature; use a newer api_version or route='v1'",
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
    (``content_policy_violation`` in the Responses API's stream error frame, maximhq/bifrost#6652),
    or a filter ``innererror.code``."""
    inner = err.get("innererror") or err.get("inner_error")
    inner_code = inner.get("code") if isinstance(inner, Mapping) else None
    return err.get("code") in ("content_filter", "content_policy_violation") or (
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


def _quoted(message: str) -> str | None:
    m = re.search(r"'([A-Za-z_][\w.]*)'", message)
    return m.group(1) if m else None
