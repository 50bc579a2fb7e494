"""Several deployments or regions behind one name: ordered failover or weighted balancing.

A route is configured in the settings (``routes={"chat": {...}}`` or a ``[routes.chat]`` table)
and used by naming it where a deployment goes (``model="chat"``, or as the default deployment).

* ``failover`` tries targets in order; ``weighted`` picks among healthy targets in proportion
  to their weights.
* A 429, 5xx, timeout or dropped connection moves the call to the next healthy target at once
  (no sleeping) and puts the failed target in cool-down for the ``retry-after`` Azure asked for
  (or ``cooldown`` seconds). Targets in cool-down are skipped; when every target is cooling, the
  call waits for the earliest to recover, up to the retry policy's ``max_retry_after``.
* Streams fail over only before their first chunk: once text has arrived, an error is raised.
* Other errors (400, 401, 404, content filter) are not failed over: they would fail anywhere.
* Results say which target served them: ``ChatResult.target`` and the first ``StreamDelta.target``.
* With the ``quota_store`` setting (a Redis URL), cool-downs live in that store: a target one
  process saw fail rests for every process of the fleet (keyed by endpoint and deployment).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Protocol

from azoai.config.routes import RouteSpec, fallback_settings
from azoai.errors import AzoaiError, ConfigError
from azoai.io.transport import Failed, Ok, Outcome
from azoai.pipeline.loop import arun, run
from azoai.pipeline.pacing import QuotaStore, quota_key, store_for
from azoai.pipeline.policy import DEFAULT_OPTIONS, FAILOVER_STATUSES, CallOptions, retryable
from azoai.pipeline.telemetry import note_target
from azoai.wire.types import ChatRequest, ChatResult, StreamDelta

if TYPE_CHECKING:
    from azoai.config.settings import Settings

__all__ = ["FAILOVER_STATUSES", "Failover", "Router", "Target"]

log = logging.getLogger("azoai.routing")


class Target(Protocol):
    """What a route sends to: a client for one target's settings (``azoai.client.Client``)."""

    settings: Settings

    def chat(
        self, request: ChatRequest, *, model: str | None = ..., options: CallOptions | None = ...
    ) -> ChatResult: ...

    async def achat(
        self, request: ChatRequest, *, model: str | None = ..., options: CallOptions | None = ...
    ) -> ChatResult: ...

    def stream(
        self, request: ChatRequest, *, model: str | None = ..., options: CallOptions | None = ...
    ) -> Iterator[StreamDelta]: ...

    def astream(
        self, request: ChatRequest, *, model: str | None = ..., options: CallOptions | None = ...
    ) -> AsyncIterator[StreamDelta]: ...

    def close(self) -> None: ...

    async def aclose(self) -> None: ...


class _Slot:
    __slots__ = ("client", "cool_until", "deployment", "fallback", "key", "name", "weight")

    def __init__(
        self, client: Target, deployment: str, name: str, weight: float, fallback: bool
    ) -> None:
        self.client = client
        self.deployment = deployment
        self.name = name
        self.weight = weight
        self.fallback = fallback
        self.cool_until = 0.0
        #: what the fleet's store files this target's cool-down under
        self.key = quota_key(client.settings, deployment)


def _fails_over(err: AzoaiError) -> bool:
    return retryable(err)  # the same statuses: FAILOVER_STATUSES is RETRY_STATUSES


class Failover:
    """The request loop's policy over a route's targets (see the module docstring): each round
    tries the healthy targets in order, a failure that may succeed elsewhere cools its target and
    moves on at once, and between rounds the loop waits for the first target to recover."""

    __slots__ = ("current", "last", "queue", "round", "router")
    failover = True  # the loop's resends under this policy are failovers (pipeline.telemetry)

    def __init__(self, router: Router) -> None:
        self.router = router
        self.round = 0
        self.queue: list[_Slot] | None = None
        self.current: _Slot | None = None
        self.last: AzoaiError | None = None

    def start(self) -> float | None:
        if self.queue is None:
            self.queue = self.router._order()
        return self._next()

    async def astart(self) -> float | None:
        if self.queue is None:
            self.queue = await self.router._aorder()
        return self._next()

    def _next(self) -> float | None:
        if self.queue:
            self.current = self.queue.pop(0)
            return None
        self.queue = None
        self.round += 1
        router = self.router
        if self.round >= router._rounds():
            raise router._exhausted(self.last)
        wait = router._wait_time(router.slots[0].client.settings.retry.max_retry_after)
        if wait is None:
            raise router._exhausted(self.last)
        return wait

    def decide(self, outcome: Outcome) -> float | None:
        err = self._failed(outcome)
        if err is None:
            return None
        assert self.current is not None
        self.router._cool(self.current, err)
        return 0.0

    async def adecide(self, outcome: Outcome) -> float | None:
        err = self._failed(outcome)
        if err is None:
            return None
        assert self.current is not None
        await self.router._acool(self.current, err)
        return 0.0

    def _failed(self, outcome: Outcome) -> AzoaiError | None:
        """The error that moves the call on (``None``: done); raises one that would fail
        anywhere."""
        if isinstance(outcome, Ok):
            return None
        assert isinstance(outcome, Failed) and self.current is not None
        err = outcome.error
        if not _fails_over(err):
            raise err
        self.last = err
        return err

    def abandon(self) -> None:
        pass


class Router:
    """Runs calls for one route over its targets (see the module docstring). ``make_client``
    builds the client for a target's settings; ``owner`` serves targets that need no settings
    of their own."""

    def __init__(
        self,
        owner: Target,
        name: str,
        spec: RouteSpec,
        make_client: Callable[[Settings], Target],
    ) -> None:
        self.name = name
        self.spec = spec
        self._lock = threading.Lock()
        self.slots: list[_Slot] = []
        base = owner.settings
        for t in spec.targets:
            settings = base
            changes: dict[str, Any] = {"routes": {}, "deployment": t.deployment}
            if t.model is not None:
                changes["model"] = t.model
            if t.base_url is not None:
                changes.update(fallback_settings(t, name))
            elif t.endpoint is not None:
                from azoai.config.endpoints import parse_endpoint

                changes["endpoint"] = parse_endpoint(
                    t.endpoint, custom_endpoint=base.endpoint.kind == "custom"
                )
            if t.api_key is not None:
                changes["auth"] = replace(
                    base.auth,
                    mode="api_key",
                    api_key=t.api_key,
                    token=None,
                    token_provider=None,
                    async_token_provider=None,
                    credential=None,
                )
            elif t.endpoint is not None and base.auth.mode == "api_key":
                raise ConfigError(
                    f"route {name!r}: target {t.deployment!r} is on another resource ({t.endpoint}) and an API key belongs to one resource",
                    setting=f"routes.{name}",
                    fix="give the target api_key_env (the variable holding that resource's key), or use Entra ID auth",
                )
            settings = replace(settings, **changes)
            client = owner if settings is base else make_client(settings)
            label = t.name or (
                f"{settings.endpoint.host}/{t.deployment}"
                if t.endpoint or t.base_url
                else t.deployment
            )
            self.slots.append(_Slot(client, t.deployment, label, t.weight, t.is_fallback))
        self.store: QuotaStore | None = store_for(base)

    def _shared(self, cooling: list[float]) -> None:
        """Adopt the fleet's cool-downs (seconds left per slot) where they end later."""
        now = time.monotonic()
        with self._lock:
            for slot, left in zip(self.slots, cooling, strict=True):
                if left > 0:
                    slot.cool_until = max(slot.cool_until, now + left)

    def _order(self) -> list[_Slot]:
        if self.store is not None:
            self._shared(self.store.cooling([s.key for s in self.slots]))
        return self._healthy()

    async def _aorder(self) -> list[_Slot]:
        if self.store is not None:
            self._shared(await self.store.acooling([s.key for s in self.slots]))
        return self._healthy()

    def _healthy(self) -> list[_Slot]:
        now = time.monotonic()
        healthy = [s for s in self.slots if s.cool_until <= now]
        if self.spec.strategy == "failover" or len(healthy) < 2:
            return healthy
        # weighted order without replacement: the first pick follows the weights; the
        # OpenAI-compatible fallback (always the last target) stays last
        pool = [s for s in healthy if not s.fallback]
        order = []
        while pool:
            pick = random.choices(pool, weights=[s.weight for s in pool])[0]
            order.append(pick)
            pool.remove(pick)
        return order + [s for s in healthy if s.fallback]

    def _cool(self, slot: _Slot, err: AzoaiError) -> None:
        seconds = self._rest(slot, err)
        if self.store is not None:
            self.store.cool(slot.key, seconds)

    async def _acool(self, slot: _Slot, err: AzoaiError) -> None:
        seconds = self._rest(slot, err)
        if self.store is not None:
            await self.store.acool(slot.key, seconds)

    def _rest(self, slot: _Slot, err: AzoaiError) -> float:
        """Cool ``slot`` here for the ``retry-after`` Azure gave (else the route's cooldown);
        the seconds, for the fleet's store."""
        wait = getattr(err, "retry_after", None)
        seconds = float(wait) if wait is not None else self.spec.cooldown
        with self._lock:
            slot.cool_until = time.monotonic() + seconds
        log.warning(
            "azoai: route %r: target %s failed (%s); cooling it for %.1f s",
            self.name,
            slot.name,
            type(err).__name__,
            seconds,
        )
        return seconds

    def _wait_time(self, owner_retry_cap: float) -> float | None:
        """Seconds until the first target recovers, or None when that is beyond the cap."""
        now = time.monotonic()
        soonest = min(s.cool_until for s in self.slots) - now
        return max(0.0, soonest) if soonest <= owner_retry_cap else None

    def _rounds(self) -> int:
        return self.slots[0].client.settings.retry.max_retries + 1

    @staticmethod
    def _no_retry(options: CallOptions | None) -> CallOptions:
        return replace(options or DEFAULT_OPTIONS, max_retries=0)

    @staticmethod
    def _for(slot: _Slot, options: CallOptions) -> CallOptions:
        """A call's options for one target: per-call ``extra_headers`` were written for Azure
        and, like ``default_headers``, never go to the OpenAI-compatible fallback."""
        if slot.fallback and options.extra_headers:
            return replace(options, extra_headers=None)
        return options

    def _exhausted(self, last: AzoaiError | None) -> AzoaiError:
        if last is not None:
            return last
        return AzoaiError(
            f"route {self.name!r}: every target is cooling down",
            fix="wait, or add targets to the route",
        )

    # -- calls: each target is tried with its own retries off; the loop fails over ----------

    def chat(self, request: ChatRequest, options: CallOptions | None) -> ChatResult:
        opts = self._no_retry(options)
        policy = Failover(self)

        def send() -> Outcome:
            slot = policy.current
            assert slot is not None
            note_target(self.name, slot.name)
            try:
                result = slot.client.chat(
                    request, model=slot.deployment, options=self._for(slot, opts)
                )
            except AzoaiError as err:
                return Failed(err)
            result.target = slot.name
            return Ok(result, {})

        return run(policy, send)  # type: ignore[no-any-return]

    async def achat(self, request: ChatRequest, options: CallOptions | None) -> ChatResult:
        opts = self._no_retry(options)
        policy = Failover(self)

        async def send() -> Outcome:
            slot = policy.current
            assert slot is not None
            note_target(self.name, slot.name)
            try:
                result = await slot.client.achat(
                    request, model=slot.deployment, options=self._for(slot, opts)
                )
            except AzoaiError as err:
                return Failed(err)
            result.target = slot.name
            return Ok(result, {})

        return await arun(policy, send)  # type: ignore[no-any-return]

    def stream(self, request: ChatRequest, options: CallOptions | None) -> Iterator[StreamDelta]:
        opts = self._no_retry(options)
        policy = Failover(self)

        def send() -> Outcome:
            slot = policy.current
            assert slot is not None
            note_target(self.name, slot.name)
            gen = slot.client.stream(request, model=slot.deployment, options=self._for(slot, opts))
            try:
                first = next(gen)
            except StopIteration:
                return Ok(None, {})
            except AzoaiError as err:
                return Failed(err)
            first.target = slot.name
            return Ok((first, gen), {})

        started = run(policy, send)
        if started is None:
            return
        first, gen = started
        yield first
        yield from gen  # after the first chunk, errors are the caller's

    async def astream(
        self, request: ChatRequest, options: CallOptions | None
    ) -> AsyncIterator[StreamDelta]:
        opts = self._no_retry(options)
        policy = Failover(self)

        async def send() -> Outcome:
            slot = policy.current
            assert slot is not None
            note_target(self.name, slot.name)
            gen = slot.client.astream(request, model=slot.deployment, options=self._for(slot, opts))
            try:
                first = await anext(gen)
            except StopAsyncIteration:
                return Ok(None, {})
            except AzoaiError as err:
                return Failed(err)
            first.target = slot.name
            return Ok((first, gen), {})

        started = await arun(policy, send)
        if started is None:
            return
        first, gen = started
        yield first
        async for delta in gen:
            yield delta

    def close(self) -> None:
        for s in self.slots:
            s.client.close()

    async def aclose(self) -> None:
        for s in self.slots:
            await s.client.aclose()
