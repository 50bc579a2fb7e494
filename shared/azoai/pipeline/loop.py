"""THE request loop, written once: a decision state machine with a thin sync and async driver.

Each turn of the loop is: *start* (the policy may pick a target, wait for quota, or say how long
to wait first), *send* (one attempt by a transport, reported as an
:data:`~azoai.io.transport.Outcome`), *decide* (the policy: done, resend at once, wait then
resend, or give up by raising). The policy is an argument: :class:`~azoai.pipeline.policy.
Attempts` (retries on one target, credentials refreshed once after a 401, pacing) or
:class:`~azoai.pipeline.routing.Failover` (fail over across a route's targets). The transports
never sleep: every wait that paces a retry happens here.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from azoai.io.transport import Ok, Outcome
from azoai.pipeline.telemetry import resent

__all__ = ["Policy", "arun", "run"]


class Policy(Protocol):
    def start(self) -> float | None:
        """Before an attempt: ``None`` to send now, or seconds to wait before asking again.
        Raises to give up."""
        ...

    async def astart(self) -> float | None: ...

    def decide(self, outcome: Outcome) -> float | None:
        """After an attempt: ``None`` when done, else seconds to wait before the next attempt
        (0: at once). Raises to give up."""
        ...

    async def adecide(self, outcome: Outcome) -> float | None:
        """:meth:`decide` in the async loop (a fleet's quota store is told without blocking)."""
        ...

    def abandon(self) -> None:
        """The attempt raised instead of returning an outcome."""
        ...


def run(policy: Policy, send: Callable[[], Outcome]) -> Any:
    """Drive ``send`` under ``policy`` until it succeeds; the value of the :class:`Ok`."""
    while True:
        wait = policy.start()
        if wait is None:
            try:
                outcome = send()
            except BaseException:
                policy.abandon()
                raise
            wait = policy.decide(outcome)
            if wait is None:
                assert isinstance(outcome, Ok)
                return outcome.value
            resent(policy, outcome, wait)  # the slow path: the call's span counts it
        elif wait > 0:
            resent(policy, None, wait)
        if wait > 0:
            time.sleep(wait)


async def arun(policy: Policy, send: Callable[[], Awaitable[Outcome]]) -> Any:
    import asyncio

    while True:
        wait = await policy.astart()
        if wait is None:
            try:
                outcome = await send()
            except BaseException:
                policy.abandon()
                raise
            wait = await policy.adecide(outcome)
            if wait is None:
                assert isinstance(outcome, Ok)
                return outcome.value
            resent(policy, outcome, wait)
        elif wait > 0:
            resent(policy, None, wait)
        if wait > 0:
            await asyncio.sleep(wait)
