"""The retry policy: what one call may retry, how long it waits, when it gives up.

:class:`Attempts` decides on each attempt's :data:`~azoai.io.transport.Outcome` for the request
loop (:mod:`azoai.pipeline.loop`), whatever the transport: connection errors, timeouts and
408/429/500/502/503/504 are retried with exponential backoff and jitter, honouring Azure's
``retry-after`` headers; a call gives up at once when Azure asks for longer than
``max_retry_after``; credentials are refreshed once after a 401; 429 quota waits during
embeddings ingestion do not use up the error budget. The quota pacer, when the call has one,
is fed from here.
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from azoai.config.catalog import ModelInfo
from azoai.error_reading import error_from_response
from azoai.errors import APIConnectionError, AzoaiError, ConfigError, TimeoutError
from azoai.io.transport import Again, Failed, Ok, Outcome, Status
from azoai.pipeline.telemetry import note_call, note_quota_wait
from azoai.pipeline.waits import announce

if TYPE_CHECKING:
    from azoai.config.settings import RetryPolicy, Settings
    from azoai.pipeline.pacing import Pacer

__all__ = [
    "FAILOVER_STATUSES",
    "RETRY_STATUSES",
    "Attempts",
    "Call",
    "CallOptions",
    "error_for_status",
]

log = logging.getLogger("azoai.client")

#: Statuses retried on the same target, and failed over to the next target of a route: both
#: are "this attempt failed, another may not".
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
FAILOVER_STATUSES = RETRY_STATUSES


@dataclass(frozen=True, slots=True)
class CallOptions:
    """Per-call overrides. ``return_filtered=True`` returns a completion the content filter cut
    (``finish_reason == "content_filter"``) instead of raising :class:`ContentFilterError`."""

    max_retries: int | None = None
    timeout: float | None = None
    return_filtered: bool = False
    extra_headers: Mapping[str, str] | None = None

    def __post_init__(self) -> None:
        if self.max_retries is not None and (
            isinstance(self.max_retries, bool)
            or not isinstance(self.max_retries, int)
            or self.max_retries < 0
        ):
            raise ConfigError(
                f"CallOptions max_retries must be an integer >= 0, got {self.max_retries!r}",
                setting="max_retries",
            )
        if self.timeout is not None:
            from azoai.config.settings import MAX_SECONDS

            t = self.timeout
            if (
                isinstance(t, bool)
                or not isinstance(t, int | float)
                or not math.isfinite(t)
                or not 0 < t <= MAX_SECONDS
            ):
                raise ConfigError(
                    f"CallOptions timeout must be a finite number of seconds > 0, got {t!r}",
                    setting="timeout",
                )


DEFAULT_OPTIONS = CallOptions()

#: A pacer admission that took longer than this waited for quota (shorter is its own bookkeeping).
QUOTA_WAIT_NOTED = 0.001


@dataclass(slots=True)
class Call:
    """One prepared request: where it goes, its body, and what the policy needs to know."""

    deployment: str
    api: str
    url: str
    body: bytes
    model: ModelInfo
    stream: bool
    notes: list[str]
    pacer: Pacer | None = None  # quota pacing (embeddings ingestion)
    estimate: int = 0  # the request's offline token estimate, for the pacer
    rate_limit_retries: int = 0  # 429 retries allowed on top of max_retries
    #: Azure's token count for the request from a successful answer (embeddings: the usage),
    #: so the pacer corrects its reservation; None when the answer does not say
    counted: Callable[[Any], int | None] | None = None
    place: str = ""  # the request's place in the pacer's line (issued when it was planned)
    model_version: str | None = None  # known from configuration or discovery


def _without_query(url: str | None) -> str:
    """A redirect target fit for a message: scheme, host and path only (a gateway may carry a
    key-bearing query string over, and userinfo may hold a password)."""
    if not url:
        return "?"
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "(an unparsable URL)"
    return f"{parts.scheme}://{host}{port}{parts.path}" if parts.scheme else parts.path


def error_for_status(
    settings: Settings, deployment: str, status: int, content: bytes, headers: Mapping[str, str]
) -> AzoaiError:
    """The typed error for a non-2xx answer (a redirect is refused, never followed)."""
    if 300 <= status < 400:
        return AzoaiError(
            f"Azure answered {status} with a redirect to {_without_query(headers.get('location'))!r}; azoai does not follow "
            "redirects because the credential would travel with them",
            status_code=status,
            fix="set endpoint to the URL the redirect points to, if you trust it",
            deployment=deployment,
        )
    return error_from_response(
        status,
        content,
        headers,
        deployment=deployment,
        route=settings.route,
        api_version=settings.api_version.value,
    )


def retryable(err: AzoaiError) -> bool:
    """Whether another attempt (or another target) may succeed where this one failed."""
    return isinstance(err, APIConnectionError | TimeoutError) or err.status_code in RETRY_STATUSES


class Attempts:
    """The retry policy for one call (see the module docstring): a :class:`~azoai.pipeline.loop.
    Policy` for one target. ``refresh(auth)`` is the credential's ``on_unauthorized``;
    ``error_for(status, body, headers)`` types an error answer."""

    __slots__ = (
        "attempt",
        "call",
        "error_for",
        "max_retries",
        "policy",
        "refresh",
        "refreshed",
        "sent_at",
        "throttled",
    )

    def __init__(
        self,
        policy: RetryPolicy,
        call: Call,
        options: CallOptions,
        refresh: Callable[[dict[str, str]], bool],
        error_for: Callable[[int, bytes, Mapping[str, str]], AzoaiError],
    ) -> None:
        self.policy = policy
        self.call = call
        self.refresh = refresh
        self.error_for = error_for
        self.max_retries = (
            policy.max_retries if options.max_retries is None else options.max_retries
        )
        self.attempt = 0
        self.throttled = 0
        self.refreshed = False
        self.sent_at: float | None = None  # the pacer's ticket

    # -- the loop's hooks ------------------------------------------------------------------------

    def start(self) -> float | None:
        """Before an attempt: wait for the quota pacer (its own waits), then go."""
        if self.call.pacer is not None:
            began = time.monotonic()
            self.sent_at = self.call.pacer.acquire(self.call.estimate, self.call.place)
            held = time.monotonic() - began
            if held > QUOTA_WAIT_NOTED:
                note_quota_wait(held)  # the call's span adds up the quota waits
        return None

    async def astart(self) -> float | None:
        if self.call.pacer is not None:
            began = time.monotonic()
            self.sent_at = await self.call.pacer.aacquire(self.call.estimate, self.call.place)
            held = time.monotonic() - began
            if held > QUOTA_WAIT_NOTED:
                note_quota_wait(held)
        return None

    def abandon(self) -> None:
        """The attempt raised (cancelled, or a credential failed): no answer."""
        if self.call.pacer is not None:
            self.call.pacer.release(self.sent_at)

    def decide(self, outcome: Outcome) -> float | None:
        """``None`` when the call is done (``outcome`` is :class:`Ok`), else the seconds to
        wait before the next attempt (0: at once); raises the error when the call gives up."""
        err = self._typed(outcome)
        pacer = self.call.pacer
        if pacer is not None and not isinstance(outcome, Again):
            headers, settle, blocked = self._news(outcome, err)
            pacer.observe(
                headers,
                self.sent_at,
                settle=settle,
                blocked=blocked,
                counted=self._counted(outcome),
            )
        return self._next(outcome, err)

    async def adecide(self, outcome: Outcome) -> float | None:
        """:meth:`decide` for the async loop: a fleet's quota store is told without blocking."""
        err = self._typed(outcome)
        pacer = self.call.pacer
        if pacer is not None and not isinstance(outcome, Again):
            headers, settle, blocked = self._news(outcome, err)
            await pacer.aobserve(
                headers,
                self.sent_at,
                settle=settle,
                blocked=blocked,
                counted=self._counted(outcome),
            )
        return self._next(outcome, err)

    def _counted(self, outcome: Outcome) -> int | None:
        counted = self.call.counted
        return counted(outcome.value) if counted is not None and isinstance(outcome, Ok) else None

    def _typed(self, outcome: Outcome) -> AzoaiError | None:
        if isinstance(outcome, Status):
            return self.error_for(outcome.status, outcome.content, outcome.headers)
        return None

    def _news(
        self, outcome: Outcome, err: AzoaiError | None
    ) -> tuple[Mapping[str, str], bool, float | None]:
        """What the pacer learns from an attempt: headers, whether the probe ends, and the
        seconds a 429 blocks every sender."""
        if isinstance(outcome, Ok):
            # the caller reads the usage and calibrates the pacer, which ends a probe
            return outcome.headers, False, None
        if isinstance(outcome, Status):
            retry_after = getattr(err, "retry_after", None)
            blocked = None
            if (
                outcome.status == 429
                and retry_after is not None
                and retry_after <= self.policy.max_retry_after
            ):
                blocked = float(retry_after)
            return outcome.headers, True, blocked
        # no answer: end the probe, learn nothing
        return {}, True, None

    def _next(self, outcome: Outcome, err: AzoaiError | None) -> float | None:
        if isinstance(outcome, Ok):
            return None
        if isinstance(outcome, Again):
            return 0.0
        if isinstance(outcome, Failed):
            if outcome.final:
                raise outcome.error
            return self.next_delay(outcome.error)
        assert isinstance(outcome, Status) and err is not None
        err = self._refreshed(outcome, err)
        return 0.0 if err is None else self.next_delay(err)

    # -- the rules -------------------------------------------------------------------------------

    def status_error(self, outcome: Status) -> AzoaiError | None:
        """The typed error for a non-2xx answer, or ``None`` to resend at once (after a 401
        that a fresh token may fix); the pacer learns from the answer."""
        err = self._typed(outcome)
        assert err is not None
        pacer = self.call.pacer
        if pacer is not None:
            headers, settle, blocked = self._news(outcome, err)
            pacer.observe(headers, self.sent_at, settle=settle, blocked=blocked)
        return self._refreshed(outcome, err)

    def _refreshed(self, outcome: Status, err: AzoaiError) -> AzoaiError | None:
        if outcome.status == 401 and not self.refreshed and self.refresh(outcome.auth):
            self.refreshed = True
            return None
        return err

    def next_delay(self, err: AzoaiError) -> float:
        """Seconds to wait before the next attempt; raises ``err`` when the call must give up."""
        if not retryable(err):
            raise err
        if err.status_code == 429 and self.throttled < self.call.rate_limit_retries:
            self.throttled += 1  # quota waits during ingestion do not use up the error budget
        elif self.attempt >= self.max_retries:
            raise err
        else:
            self.attempt += 1
        policy = self.policy
        retry_after = getattr(err, "retry_after", None)
        if retry_after is not None:
            if retry_after > policy.max_retry_after:
                raise err
            delay = float(retry_after)
        else:
            base: float = min(
                policy.max_delay, policy.initial_delay * (2 ** (self.attempt + self.throttled - 1))
            )
            delay = base * (1 + policy.jitter * (2 * random.random() - 1))
        log.info(
            "azoai: %s; retrying in %.2f s (attempt %d)",
            type(err).__name__,
            delay,
            self.attempt + self.throttled,
        )
        if err.status_code == 429:
            announce(delay, "rate limit")  # a listening progress bar says why it waits
        return delay


def attempts_for(
    settings: Settings, call: Call, options: CallOptions, refresh: Callable[[dict[str, str]], bool]
) -> Attempts:
    """The retry policy for a call to Azure OpenAI with these settings."""

    def error_for(status: int, content: bytes, headers: Mapping[str, str]) -> AzoaiError:
        return error_for_status(settings, call.deployment, status, content, headers)

    note_call(settings, call)  # the call's span learns where it goes (one context lookup)
    return Attempts(settings.retry, call, options, refresh, error_for)
