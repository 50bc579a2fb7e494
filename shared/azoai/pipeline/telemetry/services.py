"""The other services' entry points, wrapped: legacy completions (``text_completion``), images,
speech and transcriptions (``generate_content``, with ``gen_ai.output.type`` and the API in
``azoai.operation``). Each call is one :class:`~azoai.pipeline.telemetry.operation.Operation`
when its client has telemetry and a provider is configured, and untouched otherwise; a stream's
record ends when the stream ends or is closed."""

from __future__ import annotations

import functools
import inspect
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from azoai.pipeline.telemetry.names import AZOAI_OPERATION, OUTPUT_TYPE
from azoai.pipeline.telemetry.operation import _current

if TYPE_CHECKING:
    from azoai.pipeline.telemetry.operation import Operation
    from azoai.pipeline.telemetry.otel import Telemetry

__all__ = ["traced_service", "traced_service_stream"]

F = TypeVar("F", bound=Callable[..., Any])


def _tel(service: Any) -> Telemetry | None:
    return cast("Telemetry | None", getattr(service.client, "_telemetry", None))


def _start(api: str, output: str | None) -> dict[str, Any]:
    start: dict[str, Any] = {AZOAI_OPERATION: api}
    if output is not None:
        start[OUTPUT_TYPE] = output
    return start


def _ender(op: Operation) -> Callable[[Any, BaseException | None, bool], None]:
    def done(stream: Any, error: BaseException | None, complete: bool) -> None:
        op.end(stream, error=error, abandoned=error is None and not complete)

    return done


def traced_service(
    operation: str,
    api: str,
    *,
    output: str | None = None,
    model_kw: str = "model",
    opens_stream: bool = False,
) -> Callable[[F], F]:
    """Wrap a service method (sync or async) that returns its result whole; ``model_kw`` is
    the keyword that names the deployment (``model`` or ``deployment``). With
    ``opens_stream`` the method opens a byte stream under the retry policy and returns an
    object with an ``on_end`` slot (:class:`azoai.audio.SpeechStream`): the record ends when
    the stream is read to its end, fails or is closed, not when the method returns."""
    start = _start(api, output)

    def finish(op: Operation, result: Any) -> None:
        if opens_stream:
            op.chunk()  # the answer started: time to first chunk
            result.on_end = _ender(op)
        else:
            op.end(result)

    def wrap(fn: F) -> F:
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def acall(self: Any, *args: Any, **kwargs: Any) -> Any:
                tel = _tel(self)
                if tel is None or _current.get() is not None:
                    return await fn(self, *args, **kwargs)
                op = tel.begin(operation, kwargs.get(model_kw), opens_stream, start)
                if op is None:
                    return await fn(self, *args, **kwargs)
                op.enter()
                try:
                    result = await fn(self, *args, **kwargs)
                except BaseException as err:
                    op.leave()
                    op.end(error=err)
                    raise
                op.leave()
                finish(op, result)
                return result

            return cast(F, acall)

        @functools.wraps(fn)
        def call(self: Any, *args: Any, **kwargs: Any) -> Any:
            tel = _tel(self)
            if tel is None or _current.get() is not None:
                return fn(self, *args, **kwargs)
            op = tel.begin(operation, kwargs.get(model_kw), opens_stream, start)
            if op is None:
                return fn(self, *args, **kwargs)
            op.enter()
            try:
                result = fn(self, *args, **kwargs)
            except BaseException as err:
                op.leave()
                op.end(error=err)
                raise
            op.leave()
            finish(op, result)
            return result

        return cast(F, call)

    return wrap


class _Tally:
    """What a stream of completion pieces adds up to, for its span: the answer's id, model,
    usage (the last chunk's, when the request asked for it), finish reasons per choice and
    headers."""

    __slots__ = ("finish", "headers", "id", "model", "usage")

    def __init__(self) -> None:
        self.id: str | None = None
        self.model: str | None = None
        self.usage: Any = None
        self.headers: Mapping[str, str] | None = None
        self.finish: dict[int, str] = {}

    def add(self, piece: Any) -> None:
        if self.id is None and piece.id:
            self.id = piece.id
        if piece.model:
            self.model = piece.model
        if piece.usage is not None:
            self.usage = piece.usage
        if self.headers is None and piece.headers:
            self.headers = piece.headers
        if piece.finish_reason:
            self.finish[piece.index] = piece.finish_reason

    @property
    def finish_reasons(self) -> list[str]:
        return [self.finish[i] for i in sorted(self.finish)]


def traced_service_stream(operation: str, api: str, *, model_kw: str = "model") -> Callable[[F], F]:
    """Wrap a service's streaming generator (sync or async) whose pieces carry ``id``,
    ``model``, ``usage``, ``headers``, ``index`` and ``finish_reason`` (completions)."""
    start = _start(api, None)

    def wrap(fn: F) -> F:
        if inspect.isasyncgenfunction(fn):

            async def atraced(self: Any, tel: Telemetry, args: Any, kw: Any) -> AsyncIterator[Any]:
                op = tel.begin(operation, kw.get(model_kw), True, start)
                if op is None:
                    async for plain in fn(self, *args, **kw):
                        yield plain
                    return
                tally = _Tally()
                inner = fn(self, *args, **kw)
                op.enter()
                try:
                    first = await anext(inner)
                except StopAsyncIteration:
                    op.leave()
                    op.end(tally)
                    return
                except BaseException as err:
                    op.leave()
                    op.end(error=err)
                    raise
                op.leave()
                ended = False
                try:
                    op.chunk()
                    tally.add(first)
                    yield first
                    async for piece in inner:
                        op.chunk()
                        tally.add(piece)
                        yield piece
                except GeneratorExit:
                    ended = True
                    op.end(tally, abandoned=True)
                    raise
                except BaseException as err:
                    ended = True
                    op.end(tally, error=err)
                    raise
                finally:
                    await inner.aclose()
                    if not ended:
                        op.end(tally)

            @functools.wraps(fn)
            def astream(self: Any, *args: Any, **kwargs: Any) -> Any:
                tel = _tel(self)
                if tel is None or _current.get() is not None or not tel.wanted():
                    return fn(self, *args, **kwargs)
                return atraced(self, tel, args, kwargs)

            return cast(F, astream)

        def traced(self: Any, tel: Telemetry, args: Any, kw: Any) -> Iterator[Any]:
            op = tel.begin(operation, kw.get(model_kw), True, start)
            if op is None:
                yield from fn(self, *args, **kw)
                return
            tally = _Tally()
            inner = fn(self, *args, **kw)
            op.enter()
            try:
                first = next(inner)  # sending and retries happen up to the first piece
            except StopIteration:
                op.leave()
                op.end(tally)
                return
            except BaseException as err:
                op.leave()
                op.end(error=err)
                raise
            op.leave()
            ended = False
            try:
                op.chunk()
                tally.add(first)
                yield first
                for piece in inner:
                    op.chunk()
                    tally.add(piece)
                    yield piece
            except GeneratorExit:
                ended = True
                op.end(tally, abandoned=True)
                raise
            except BaseException as err:
                ended = True
                op.end(tally, error=err)
                raise
            finally:
                inner.close()
                if not ended:
                    op.end(tally)

        @functools.wraps(fn)
        def stream(self: Any, *args: Any, **kwargs: Any) -> Any:
            tel = _tel(self)
            if tel is None or _current.get() is not None or not tel.wanted():
                return fn(self, *args, **kwargs)
            return traced(self, tel, args, kwargs)

        return cast(F, stream)

    return wrap
