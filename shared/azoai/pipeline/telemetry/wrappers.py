"""The client's entry points, wrapped: ``chat``, ``stream``, ``embed`` and their async twins
each run as one :class:`~azoai.pipeline.telemetry.operation.Operation` when the client has
telemetry and a provider is configured, and untouched otherwise."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, cast

from azoai.pipeline.telemetry.operation import _current

if TYPE_CHECKING:
    from azoai.pipeline.telemetry.otel import Telemetry
    from azoai.wire.types import ChatRequest

__all__ = [
    "traced_achat",
    "traced_aembed",
    "traced_astream",
    "traced_chat",
    "traced_embed",
    "traced_stream",
]

F = TypeVar("F", bound=Callable[..., Any])


# Each wrapper costs one attribute test when the client has no telemetry. Inside a call already
# recorded (a route's target client, a session's turn) the inner call joins the outer record. A
# stream decides when it is created (where a route's target stream is created inside the outer
# call) and its record starts when it is first read, as its request does.


def _tel(client: Any) -> Telemetry | None:
    return cast("Telemetry | None", getattr(client, "_telemetry", None))


def traced_chat(fn: F) -> F:
    @functools.wraps(fn)
    def chat(self: Any, request: ChatRequest, *args: Any, **kwargs: Any) -> Any:
        tel = _tel(self)
        if tel is None or _current.get() is not None:
            return fn(self, request, *args, **kwargs)
        op = tel.begin("chat", kwargs.get("model"), False)
        if op is None:
            return fn(self, request, *args, **kwargs)
        op.enter()
        try:
            result = fn(self, request, *args, **kwargs)
        except BaseException as err:
            op.leave()
            op.end(error=err, request=request)
            raise
        op.leave()
        op.end(result, request=request)
        return result

    return cast(F, chat)


def traced_achat(fn: F) -> F:
    async def traced(self: Any, tel: Telemetry, request: ChatRequest, args: Any, kw: Any) -> Any:
        if _current.get() is not None:
            return await fn(self, request, *args, **kw)
        op = tel.begin("chat", kw.get("model"), False)
        if op is None:
            return await fn(self, request, *args, **kw)
        op.enter()
        try:
            result = await fn(self, request, *args, **kw)
        except BaseException as err:
            op.leave()
            op.end(error=err, request=request)
            raise
        op.leave()
        op.end(result, request=request)
        return result

    @functools.wraps(fn)
    def achat(self: Any, request: ChatRequest, *args: Any, **kwargs: Any) -> Any:
        tel = _tel(self)
        if tel is None:
            return fn(self, request, *args, **kwargs)  # the coroutine itself: no extra frame
        return traced(self, tel, request, args, kwargs)

    return cast(F, achat)


def _stream_kwargs(kwargs: dict[str, Any]) -> tuple[dict[str, Any], Any]:
    """The call's keyword arguments with an accumulator to read the stream's outcome from (the
    caller's ``into``, else a fresh one: the core folds each delta into it once either way)."""
    acc = kwargs.get("into")
    if acc is None:
        from azoai.wire.stream import StreamAccumulator

        acc = StreamAccumulator()
        kwargs = {**kwargs, "into": acc}
    return kwargs, acc


def traced_stream(fn: F) -> F:
    def traced(
        self: Any, tel: Telemetry, request: ChatRequest, args: Any, kw: Any
    ) -> Iterator[Any]:
        op = tel.begin("chat", kw.get("model"), True)
        if op is None:
            yield from fn(self, request, *args, **kw)
            return
        kw, acc = _stream_kwargs(kw)
        inner = fn(self, request, *args, **kw)
        op.enter()
        try:
            first = next(inner)  # sending, retries and failover happen up to the first delta
        except StopIteration:
            op.leave()
            op.end(acc=acc, request=request)
            return
        except BaseException as err:
            op.leave()
            op.end(error=err, request=request)
            raise
        op.leave()
        op.chunk()
        ended = False
        try:
            yield first
            for delta in inner:
                op.chunk()
                yield delta
        except GeneratorExit:  # the consumer stopped early (closed, or dropped the stream)
            ended = True
            op.end(acc=acc, abandoned=True, request=request)
            raise
        except BaseException as err:
            ended = True
            op.end(error=err, request=request)
            raise
        finally:
            inner.close()
            if not ended:
                op.end(acc=acc, request=request)

    @functools.wraps(fn)
    def stream(self: Any, request: ChatRequest, *args: Any, **kwargs: Any) -> Any:
        tel = _tel(self)
        if tel is None or _current.get() is not None or not tel.wanted():
            return fn(self, request, *args, **kwargs)  # the generator itself: no per-chunk cost
        return traced(self, tel, request, args, kwargs)

    return cast(F, stream)


def traced_astream(fn: F) -> F:
    async def traced(
        self: Any, tel: Telemetry, request: ChatRequest, args: Any, kw: Any
    ) -> AsyncIterator[Any]:
        op = tel.begin("chat", kw.get("model"), True)
        if op is None:
            async for plain in fn(self, request, *args, **kw):
                yield plain
            return
        kw, acc = _stream_kwargs(kw)
        inner = fn(self, request, *args, **kw)
        op.enter()
        try:
            first = await anext(inner)
        except StopAsyncIteration:
            op.leave()
            op.end(acc=acc, request=request)
            return
        except BaseException as err:
            op.leave()
            op.end(error=err, request=request)
            raise
        op.leave()
        op.chunk()
        ended = False
        try:
            yield first
            async for delta in inner:
                op.chunk()
                yield delta
        except GeneratorExit:
            ended = True
            op.end(acc=acc, abandoned=True, request=request)
            raise
        except BaseException as err:
            ended = True
            op.end(error=err, request=request)
            raise
        finally:
            await inner.aclose()
            if not ended:
                op.end(acc=acc, request=request)

    @functools.wraps(fn)
    def astream(self: Any, request: ChatRequest, *args: Any, **kwargs: Any) -> Any:
        tel = _tel(self)
        if tel is None or _current.get() is not None or not tel.wanted():
            return fn(self, request, *args, **kwargs)
        return traced(self, tel, request, args, kwargs)

    return cast(F, astream)


def traced_embed(fn: F) -> F:
    @functools.wraps(fn)
    def embed(self: Any, texts: Sequence[str], *args: Any, **kwargs: Any) -> Any:
        tel = _tel(self)
        if tel is None or _current.get() is not None:
            return fn(self, texts, *args, **kwargs)
        op = tel.begin("embeddings", kwargs.get("model"), False)
        if op is None:
            return fn(self, texts, *args, **kwargs)
        op.enter()
        try:
            result = fn(self, texts, *args, **kwargs)
        except BaseException as err:
            op.leave()
            op.end(error=err, inputs=len(texts))
            raise
        op.leave()
        op.end(result, inputs=len(texts))
        return result

    return cast(F, embed)


def traced_aembed(fn: F) -> F:
    async def traced(self: Any, tel: Telemetry, texts: Sequence[str], args: Any, kw: Any) -> Any:
        if _current.get() is not None:
            return await fn(self, texts, *args, **kw)
        op = tel.begin("embeddings", kw.get("model"), False)
        if op is None:
            return await fn(self, texts, *args, **kw)
        op.enter()
        try:
            result = await fn(self, texts, *args, **kw)
        except BaseException as err:
            op.leave()
            op.end(error=err, inputs=len(texts))
            raise
        op.leave()
        op.end(result, inputs=len(texts))
        return result

    @functools.wraps(fn)
    def aembed(self: Any, texts: Sequence[str], *args: Any, **kwargs: Any) -> Any:
        tel = _tel(self)
        if tel is None:
            return fn(self, texts, *args, **kwargs)
        return traced(self, tel, texts, args, kwargs)

    return cast(F, aembed)
