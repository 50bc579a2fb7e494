"""The Batch API's steps, written once and driven sync or async.

A job's logic (:mod:`azoai.batch.job`) is written as generators that ``yield`` what they need
done: an HTTP request (:class:`~azoai.io.files.FileRequest`) or a pause (:class:`Pause`). A
driver runs them: :func:`drive` with blocking HTTP and ``time.sleep``, :func:`adrive` with the
async client and ``asyncio.sleep``, sending each answer back (or throwing the typed error in,
where the logic may catch it). Each request goes through the request loop
(:mod:`azoai.pipeline.loop`) under the client's retry policy, over the client's connection.
"""

from __future__ import annotations

import time
from collections.abc import Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from azoai.config.catalog import lookup_model
from azoai.io.files import FileRequest, FileTransport
from azoai.pipeline.loop import arun, run
from azoai.pipeline.policy import DEFAULT_OPTIONS, Call, attempts_for

if TYPE_CHECKING:
    from azoai.client import Client

__all__ = ["Pause", "Runner", "Steps", "adrive", "drive"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Pause:
    """Wait ``seconds`` before going on."""

    seconds: float


Steps = Generator[FileRequest | Pause, Any, T]


class Runner:
    """Runs one step for a job targeting ``deployment`` through ``client``."""

    def __init__(self, client: Client, deployment: str) -> None:
        self.client = client
        self.deployment = deployment
        self._transport: FileTransport | None = None

    @property
    def transport(self) -> FileTransport:
        conn = self.client.connection
        if self._transport is None or self._transport.connection is not conn:
            self._transport = FileTransport(self.client.settings, conn)
        return self._transport

    def _attempts(self, req: FileRequest) -> Any:
        s = self.client.settings
        call = Call(self.deployment, "batch", req.url, b"", lookup_model(None), False, [])
        return attempts_for(s, call, DEFAULT_OPTIONS, self.client.connection.auth.on_unauthorized)

    def do(self, op: FileRequest | Pause) -> Any:
        if isinstance(op, Pause):
            if op.seconds > 0:
                time.sleep(op.seconds)
            return None
        transport = self.transport
        return run(self._attempts(op), lambda: transport.send(op))

    async def ado(self, op: FileRequest | Pause) -> Any:
        import asyncio

        if isinstance(op, Pause):
            if op.seconds > 0:
                await asyncio.sleep(op.seconds)
            return None
        transport = self.transport
        return await arun(self._attempts(op), lambda: transport.asend(op))


def drive(steps: Steps[T], runner: Runner) -> T:
    """Run ``steps`` to the end with blocking I/O; its return value."""
    value: Any = None
    error: BaseException | None = None
    while True:
        try:
            op = steps.throw(error) if error is not None else steps.send(value)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        value, error = None, None
        try:
            value = runner.do(op)
        except Exception as exc:  # handed to the steps, which may catch it
            error = exc


async def adrive(steps: Steps[T], runner: Runner) -> T:
    """:func:`drive` with async I/O."""
    value: Any = None
    error: BaseException | None = None
    while True:
        try:
            op = steps.throw(error) if error is not None else steps.send(value)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        value, error = None, None
        try:
            value = await runner.ado(op)
        except Exception as exc:
            error = exc
