"""The typed errors azoai raises, and the one mapping from HTTP responses and Azure bodies to them.

Catch :class:`AzoaiError` for everything, or a subclass for one case. Every error carries a
one-line ``fix`` when there is an obvious one, and never a secret: messages are built from Azure's
error text and our own context (deployment, route, api-version), never from headers or settings
that hold keys or tokens.
"""

from __future__ import annotations

import builtins
import sys
from collections.abc import Mapping
from typing import Any

from azoai.content_filter import (
    ContentFilterResults,
)

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "ApiVersionError",
    "AuthenticationError",
    "AzoaiError",
    "BadRequestError",
    "BatchCancelledError",
    "BatchDeploymentError",
    "BatchError",
    "BatchExpiredError",
    "BatchInputRejectedError",
    "BatchLineError",
    "ConfigError",
    "ContentFilterError",
    "ContextLengthError",
    "CorruptResponseError",
    "DeploymentNotFoundError",
    "DeploymentPausedError",
    "FineTuningJobError",
    "InputTooLargeError",
    "InvalidResponseError",
    "NotFoundError",
    "PermissionDeniedError",
    "QuotaStoreError",
    "RateLimitError",
    "ResponseTooLargeError",
    "ResponsesRequiredError",
    "ServiceUnavailableError",
    "StreamInterruptedError",
    "TimeoutError",
    "TrainingDataError",
    "UnprocessableEntityError",
    "UnsupportedParameterError",
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
        if sys.modules.get("openai") is not None:
            _as_openai(self)

    def _render(self) -> str:
        parts = [self.message]
        if self.fix:
            parts.append(f"Fix: {self.fix}")
        if self.request_id:
            parts.append(f"(request id {self.request_id})")
        return " ".join(parts)

    def __reduce__(self) -> tuple[Any, ...]:
        # Keep errors picklable (multiprocessing, pytest-xdist) without re-running __init__ logic;
        # an openai twin (azoai.openai_compat) pickles as its azoai class.
        cls = type(self).__dict__.get("_azoai_class") or type(self)
        return (_rebuild_error, (cls, self.__dict__.copy(), self.args))


def _as_openai(err: AzoaiError) -> None:
    """Users' ``except openai.RateLimitError`` (and the frameworks' retry helpers) catch azoai's
    errors: once openai is imported, each error is also the openai exception the SDK would raise
    (:mod:`azoai.openai_compat`; never imported before openai is)."""
    from azoai.openai_compat import adopt

    adopt(err)


def _rebuild_error(
    cls: type[AzoaiError], state: dict[str, Any], args: tuple[Any, ...]
) -> AzoaiError:
    err = cls.__new__(cls)
    Exception.__init__(err, *args)
    err.__dict__.update(state)
    if sys.modules.get("openai") is not None:
        _as_openai(err)
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


class InputTooLargeError(ConfigError):
    """An input over one of Azure's size limits, refused before anything is sent (an audio file
    over the 25 MB Azure accepts per request, a training file over 512 MB). ``size`` and
    ``limit`` are in bytes; ``setting`` names the argument."""

    def __init__(
        self, message: str, *, size: int, limit: int, setting: str, fix: str | None = None
    ) -> None:
        self.size = size
        self.limit = limit
        super().__init__(message, setting=setting, fix=fix)


class TrainingDataError(ConfigError):
    """A fine-tuning data file Azure would refuse, found before upload: ``line`` is the 1-based
    line of the first problem (``None`` for the file as a whole), ``source`` the file's name."""

    def __init__(
        self,
        message: str,
        *,
        line: int | None,
        source: str,
        setting: str = "training_file",
        fix: str | None = None,
    ) -> None:
        self.line = line
        self.source = source
        super().__init__(message, setting=setting, fix=fix)


class FineTuningJobError(AzoaiError):
    """A fine-tuning job that ended without a model (``failed`` or ``cancelled``) while being
    followed: ``job`` is its last state, with Azure's ``error`` when it gave one."""

    def __init__(self, message: str, *, job: Any, **kw: Any) -> None:
        self.job = job
        super().__init__(message, **kw)


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


class UnprocessableEntityError(BadRequestError):
    """422: Azure understood the request but cannot process it (a gateway or a newer service
    answering what a 400 usually says)."""


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


class QuotaStoreError(AzoaiError):
    """The fleet's quota store (the ``quota_store`` setting, a Redis URL) could not be reached or
    refused a command. azoai never falls back to pacing each process on its own, which would let
    the fleet overrun the quota together; ``setting`` is ``"quota_store"``."""

    def __init__(self, message: str, *, setting: str = "quota_store", **kw: Any) -> None:
        self.setting = setting
        super().__init__(message, **kw)


# --- the Batch API (azoai.batch) ------------------------------------------------------------------


class BatchError(AzoaiError):
    """A Batch API job, one of its batches, or one of its requests did not produce a result.
    ``job_id`` is azoai's job, ``batch_id`` Azure's batch (when there is one)."""

    def __init__(
        self, message: str, *, job_id: str | None = None, batch_id: str | None = None, **kw: Any
    ) -> None:
        self.job_id = job_id
        self.batch_id = batch_id
        super().__init__(message, **kw)


class BatchLineError:
    """One entry of Azure's validation errors for a batch input file: the 1-based ``line`` of
    the file (``None`` when Azure names none), Azure's ``code`` and ``message``, and ``index``,
    the input the line carried (the first one, for a line carrying several)."""

    __slots__ = ("code", "index", "line", "message")

    def __init__(self, code: str, message: str, line: int | None, index: int | None) -> None:
        self.code = code
        self.message = message
        self.line = line
        self.index = index

    def __repr__(self) -> str:
        return f"BatchLineError({self.code!r}, line={self.line}, index={self.index})"


class BatchInputRejectedError(BatchError):
    """Azure's validation rejected a batch input file (its batch ``failed``): ``line_errors``
    lists what it said about each line (:class:`BatchLineError`). Every request of that file is
    reported with this error; the lines Azure names carry their own reason."""

    def __init__(self, message: str, *, line_errors: list[BatchLineError], **kw: Any) -> None:
        self.line_errors = line_errors
        super().__init__(message, **kw)


class BatchExpiredError(BatchError):
    """The batch expired (``expired``) before this request ran; what had run is returned."""


class BatchCancelledError(BatchError):
    """The job or its batch was cancelled before this request ran; what had run is returned."""


class BatchDeploymentError(BatchError):
    """The deployment cannot take Batch API work: it does not exist, or it is not a Global Batch
    or Data Zone Batch deployment (its SKU is not ``GlobalBatch``/``DataZoneBatch``). ``setting``
    names what to change (``model``/``deployment``)."""

    def __init__(self, message: str, *, setting: str = "deployment", **kw: Any) -> None:
        self.setting = setting
        super().__init__(message, **kw)
