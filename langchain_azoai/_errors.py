"""azoai's errors as langchain-core's standard model exceptions too.

langchain-core 1.x defines a family of model exceptions (``ContextOverflowError``,
``ModelRateLimitError``, ``ModelInvalidRequestError``, ...) that its own machinery and users'
code catch: ``SummarizationMiddleware`` summarizes and retries on ``ContextOverflowError``, and
langchain-openai raises them. An error leaving the adapter keeps its azoai class (and, once
openai is imported, its openai one) and becomes an instance of the matching langchain-core class
as well. Nothing happens on a langchain-core without these classes.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar, cast

from azoai import errors as E

__all__ = ["model_error", "translated"]

F = TypeVar("F", bound=Callable[..., Any])

#: azoai class -> langchain-core class name, the first match in order (a context-length 400 is
#: a BadRequestError too).
_MAP: tuple[tuple[type[E.AzoaiError], str], ...] = (
    (E.ContextLengthError, "ContextOverflowError"),
    (E.RateLimitError, "ModelRateLimitError"),
    (E.AuthenticationError, "ModelAuthenticationError"),
    (E.PermissionDeniedError, "ModelPermissionDeniedError"),
    (E.NotFoundError, "ModelNotFoundError"),
    (E.TimeoutError, "ModelTimeoutError"),
    (E.APIConnectionError, "ModelConnectionError"),
    (E.StreamInterruptedError, "ModelConnectionError"),
    (E.BadRequestError, "ModelInvalidRequestError"),
    (E.APIStatusError, "ModelAPIError"),
)

_TWINS: dict[tuple[type, type], type] = {}


def _target(err: E.AzoaiError) -> type[BaseException] | None:
    from langchain_core import exceptions

    for cls, name in _MAP:
        if isinstance(err, cls):
            found = getattr(exceptions, name, None)
            return found if isinstance(found, type) else None
    if isinstance(err, E.ContentFilterError) and err.status_code == 400:
        found = getattr(exceptions, "ModelInvalidRequestError", None)
        return found if isinstance(found, type) else None
    return None


def model_error(err: E.AzoaiError) -> E.AzoaiError:
    """``err``, now also an instance of the matching langchain-core model exception."""
    target = _target(err)
    if target is None or isinstance(err, target):
        return err
    cls = type(err)
    twin = _TWINS.get((cls, target))
    if twin is None:
        base = cls.__dict__.get("_azoai_class") or cls  # what the error pickles as
        twin = _TWINS[cls, target] = type(
            cls.__name__,
            (cls, target),
            {
                "__module__": cls.__module__,
                "__qualname__": cls.__qualname__,
                "__doc__": cls.__doc__,
                "_azoai_class": base,
            },
        )
    try:
        err.__class__ = twin
    except TypeError:  # layouts that cannot be combined: stays what it was
        pass
    return err


def translated(fn: F) -> F:
    """``fn`` (a method or coroutine method) with azoai errors leaving it as :func:`model_error`
    makes them. Streams wrap their loops in ``try`` themselves (no extra frame per chunk)."""
    wrapper: Callable[..., Any]
    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def acall(*args: Any, **kwargs: Any) -> Any:
            try:
                return await fn(*args, **kwargs)
            except E.AzoaiError as err:
                model_error(err)
                raise

        wrapper = acall
    else:

        @functools.wraps(fn)
        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                return fn(*args, **kwargs)
            except E.AzoaiError as err:
                model_error(err)
                raise

        wrapper = call
    # fn's signature, ready-made: langchain-core reads _generate's on every call (does it take
    # run_manager?), and unwrapping and rebuilding it each time costs more than the call's own
    # conversions. inspect.signature returns it as it would have computed it.
    try:
        cast("Any", wrapper).__signature__ = inspect.signature(fn)
    except (TypeError, ValueError, NameError):  # no signature to give: computed per call
        pass
    return cast("F", wrapper)
