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
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from azoai.config.routes import RouteSpec, fallback_settings
from azoai.errors import APIConnectionError, AzoaiError, ConfigError, TimeoutError
from azoai.wire.types import ChatRequest, ChatResult, StreamDelta

if TYPE_CHECKING:
    from azoai.client import CallOptions, Client

__all__ = ["Router"]

log = logging.getLogger("azoai.routing")

FAILOVER_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


class _Slot:
    __slots__ = ("client", "cool_until", "deployment", "fallback", "name", "weight")

    def __init__(
        self, client: Client, deployment: str, name: str, weight: float, fallback: bool
    ) -> None:
        self.client = client
        self.deployment = deployment
        self.name = name
        self.weight = weight
        self.fallback = fallback
        self.cool_until = 0.0


def _fails_over(err: AzoaiError) -> bool:
    return (
        isinstance(err, APIConnectionError | TimeoutError) or err.status_code in FAILOVER_STATUSES
    )


class Router:
    """Runs calls for one route over its targets (see the module docstring)."""

    def __init__(self, owner: Client, name: str, spec: RouteSpec) -> None:
        from azoai.client import Client

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
            client = (
                owner
                if settings is base
                else Client(
                    settings,
                    http_client=owner._http_client,
                    http_async_client=owner._http_async_client,
                )
            )
            label = t.name or (
                f"{settings.endpoint.host}/{t.deployment}"
                if t.endpoint or t.base_url
                else t.deployment
            )
            self.slots.append(_Slot(client, t.deployment, label, t.weight, t.is_fallback))

    def _order(self) -> list[_Slot]:
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

    def _wait_time(self, owner_retry_cap: float) -> float | None:
        """Seconds until the first target recovers, or None when that is beyond the cap."""
        now = time.monotonic()
        soonest = min(s.cool_until for s in self.slots) - now
        return max(0.0, soonest) if soonest <= owner_retry_cap else None

    def _rounds(self) -> int:
        return self.slots[0].client.settings.retry.max_retries + 1

    @staticmethod
    def _no_retry(options: CallOptions | None) -> CallOptions:
        from azoai.client import CallOptions

        return replace(options or CallOptions(), max_retries=0)

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

    # -- calls -----------------------------------------------------------------------------------

    def chat(self, request: ChatRequest, options: CallOptions | None) -> ChatResult:
        opts = self._no_retry(options)
        last: AzoaiError | None = None
        for _ in range(self._rounds()):
            for slot in self._order():
                try:
                    result = slot.client.chat(
                        request, model=slot.deployment, options=self._for(slot, opts)
                    )
                except AzoaiError as err:
                    if not _fails_over(err):
                        raise
                    self._cool(slot, err)
                    last = err
                    continue
                result.target = slot.name
                return result
            wait = self._wait_time(self.slots[0].client.settings.retry.max_retry_after)
            if wait is None:
                break
            time.sleep(wait)
        raise self._exhausted(last)

    async def achat(self, request: ChatRequest, options: CallOptions | None) -> ChatResult:
        import asyncio

        opts = self._no_retry(options)
        last: AzoaiError | None = None
        for _ in range(self._rounds()):
            for slot in self._order():
                try:
                    result = await slot.client.achat(
                        request, model=slot.deployment, options=self._for(slot, opts)
                    )
                except AzoaiError as err:
                    if not _fails_over(err):
                        raise
                    self._cool(slot, err)
                    last = err
                    continue
                result.target = slot.name
                return result
            wait = self._wait_time(self.slots[0].client.settings.retry.max_retry_after)
            if wait is None:
                break
            await asyncio.sleep(wait)
        raise self._exhausted(last)

    def stream(self, request: ChatRequest, options: CallOptions | None) -> Iterator[StreamDelta]:
        opts = self._no_retry(options)
        last: AzoaiError | None = None
        for _ in range(self._rounds()):
            for slot in self._order():
                gen = slot.client.stream(
                    request, model=slot.deployment, options=self._for(slot, opts)
                )
                try:
                    first = next(gen)
                except StopIteration:
                    return
                except AzoaiError as err:
                    if not _fails_over(err):
                        raise
                    self._cool(slot, err)
                    last = err
                    continue
                first.target = slot.name
                yield first
                yield from gen  # after the first chunk, errors are the caller's
                return
            wait = self._wait_time(self.slots[0].client.settings.retry.max_retry_after)
            if wait is None:
                break
            time.sleep(wait)
        raise self._exhausted(last)

    async def astream(
        self, request: ChatRequest, options: CallOptions | None
    ) -> AsyncIterator[StreamDelta]:
        import asyncio

        opts = self._no_retry(options)
        last: AzoaiError | None = None
        for _ in range(self._rounds()):
            for slot in self._order():
                gen = slot.client.astream(
                    request, model=slot.deployment, options=self._for(slot, opts)
                )
                try:
                    first = await anext(gen)
                except StopAsyncIteration:
                    return
                except AzoaiError as err:
                    if not _fails_over(err):
                        raise
                    self._cool(slot, err)
                    last = err
                    continue
                first.target = slot.name
                yield first
                async for delta in gen:
                    yield delta
                return
            wait = self._wait_time(self.slots[0].client.settings.retry.max_retry_after)
            if wait is None:
                break
            await asyncio.sleep(wait)
        raise self._exhausted(last)

    def close(self) -> None:
        for s in self.slots:
            s.client.close()

    async def aclose(self) -> None:
        for s in self.slots:
            await s.client.aclose()
