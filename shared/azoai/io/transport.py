"""The one transport interface: what a single attempt over the wire returns.

A transport (HTTP in :mod:`azoai.io.exchange`, the Responses WebSocket in
:mod:`azoai.io.websocket`, ARM listing in :mod:`azoai.io.arm`) sends one request once and
reports what happened as an :data:`Outcome`; it never sleeps, retries or fails over. Those
decisions belong to the request loop in :mod:`azoai.pipeline.loop`, which drives any transport
through the same retry policy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from azoai.errors import AzoaiError

__all__ = ["Again", "Failed", "Ok", "Outcome", "Status", "Transport"]

T = TypeVar("T")
R_contra = TypeVar("R_contra", contravariant=True)


@dataclass(slots=True)
class Ok(Generic[T]):
    """The attempt succeeded: ``value`` is the transport's answer (a body, an open stream, ...)."""

    value: T
    headers: Mapping[str, str]


@dataclass(slots=True)
class Status:
    """Azure answered with an error status (or a WebSocket ``error`` event carrying one);
    ``auth`` is the credential header the attempt sent, so a 401 can refresh just that one."""

    status: int
    content: bytes
    headers: Mapping[str, str]
    auth: dict[str, str]


@dataclass(slots=True)
class Failed:
    """The attempt failed without a status: ``error`` is already typed (a timeout, a dropped
    connection, a corrupt body). ``final`` errors are never retried (a body over its limit)."""

    error: AzoaiError
    final: bool = False


@dataclass(slots=True)
class Again:
    """Send again at once without using the retry budget: a reused socket that had died while
    idle, a WebSocket that reached its connection limit, a continuation resent in full."""

    why: str = ""


Outcome = Ok[Any] | Status | Failed | Again


class Transport(Protocol[R_contra]):
    """One attempt, sync or async, for a transport-specific request."""

    def send(self, request: R_contra) -> Outcome: ...

    async def asend(self, request: R_contra) -> Outcome: ...
