"""azoai's errors as the openai SDK's exceptions too, for code written against the replaced packages.

Users' ``except openai.RateLimitError`` and the frameworks' retry helpers (llama-index's tenacity
decorator, LangChain's ``with_retry(retry_if_exception_type=(openai.RateLimitError,))``) must
keep catching what azoai raises. Such code has imported openai, so only then, and never at
``import azoai``, each error is given a class that derives from both its azoai class and the
openai exception the SDK would have raised for the same answer (:func:`adopt`, called by
:class:`~azoai.errors.AzoaiError` itself, so every raise path gets it). The openai class is
picked as the SDK picks it, by HTTP status (400 ``BadRequestError``, 401
``AuthenticationError``, ..., 5xx ``InternalServerError``), else by what happened (a dropped
connection, a timeout, a completion the content filter stopped).

openai's ``__init__`` is not run (it needs httpx objects azoai has not kept): its attributes are
filled from the error instead. ``response`` is an ``httpx.Response`` (``httpx2`` under openai 3)
built on access from the status, the Azure headers azoai keeps (never a credential) and the
error body; ``request`` a ``POST`` with no URL. ``body`` stays azoai's (the whole error body
Azure sent), ``code``/``param``/``type`` come from its ``error`` object. Pickling and copying
go through the azoai class, so a copy made where openai is not imported is a plain azoai error.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # azoai.errors imports this module: the classes are read by name at run time
    from azoai import errors

__all__ = ["adopt", "azoai_class"]

#: The openai exception for an HTTP status, as the SDK's ``_make_status_error`` picks it.
_BY_STATUS = {
    400: "BadRequestError",
    401: "AuthenticationError",
    403: "PermissionDeniedError",
    404: "NotFoundError",
    409: "ConflictError",
    422: "UnprocessableEntityError",
    429: "RateLimitError",
}

#: The openai exception for an error with no HTTP answer behind it (refused before sending, a
#: dropped connection, a stream cut short), by azoai class: the first one in the error's MRO.
_BY_CLASS: tuple[tuple[str, str], ...] = (
    ("TimeoutError", "APITimeoutError"),
    ("APIConnectionError", "APIConnectionError"),
    # a stream cut mid-way is a dropped connection that the retry helpers should retry
    ("StreamInterruptedError", "APIConnectionError"),
    ("RateLimitError", "RateLimitError"),
    ("AuthenticationError", "AuthenticationError"),
    ("PermissionDeniedError", "PermissionDeniedError"),
    ("NotFoundError", "NotFoundError"),
    ("BadRequestError", "BadRequestError"),
    ("ServiceUnavailableError", "InternalServerError"),
    ("APIStatusError", "APIStatusError"),
    ("InvalidResponseError", "APIError"),
)


def _azoai_bases(err: errors.AzoaiError) -> set[str]:
    """The names of the azoai error classes ``err`` is an instance of."""
    return {c.__name__ for c in type(err).__mro__ if c.__module__ == "azoai.errors"}


#: The status a twin's ``response`` carries when azoai refused before sending.
_DEFAULT_STATUS = {
    "BadRequestError": 400,
    "AuthenticationError": 401,
    "PermissionDeniedError": 403,
    "NotFoundError": 404,
    "ConflictError": 409,
    "UnprocessableEntityError": 422,
    "RateLimitError": 429,
    "InternalServerError": 500,
    "APIStatusError": 500,
}


def _openai_name(err: errors.AzoaiError) -> str | None:
    status = err.status_code
    bases = _azoai_bases(err)
    if "ContentFilterError" in bases and status is None:
        # the SDK raises this one for a completion the filter stopped; a prompt is refused by 400
        return (
            "ContentFilterFinishReasonError"
            if getattr(err, "side", None) == "completion"
            else "BadRequestError"
        )
    if status is not None:
        fallback = "InternalServerError" if status >= 500 else "APIStatusError"
        return _BY_STATUS.get(status, fallback)
    for cls, name in _BY_CLASS:
        if cls in bases:
            return name
    return None


def adopt(err: errors.AzoaiError) -> None:
    """Make ``err`` an instance of the matching openai exception too, when openai is imported
    (its azoai class and attributes stay); nothing happens when it is not, or has no match."""
    openai = sys.modules.get("openai")
    if openai is None or type(err).__dict__.get("_azoai_class") is not None:
        return
    name = _openai_name(err)
    target = getattr(openai, name, None) if name is not None else None
    base = getattr(openai, "OpenAIError", None)
    if not (
        isinstance(base, type)
        and issubclass(base, Exception)
        and isinstance(target, type)
        and issubclass(target, base)
    ):
        return  # an openai too old or too new to have it, or one still being imported
    try:
        twin = _twin(type(err), target)
        err.__class__ = twin
    except TypeError:  # layouts that cannot be combined: stay a plain azoai error
        return
    inner = _error_object(err.body)
    err.__dict__.setdefault("param", _str_or_none(inner.get("param")))
    err.__dict__.setdefault("type", _str_or_none(inner.get("type")))


def azoai_class(cls: type[errors.AzoaiError]) -> type[errors.AzoaiError]:
    """The azoai class behind a twin (itself for any other class): what pickles by name."""
    found: type[errors.AzoaiError] | None = cls.__dict__.get("_azoai_class")
    return found if found is not None else cls


#: One twin class per (azoai class, openai class): a few dozen at most.
_TWINS: dict[tuple[type, type], type[errors.AzoaiError]] = {}


def _twin(cls: type[errors.AzoaiError], target: type[BaseException]) -> type[errors.AzoaiError]:
    """``class <name>(cls, target)``, named as ``cls`` so tracebacks and reprs read as before."""
    found = _TWINS.get((cls, target))
    if found is None:
        found = _TWINS[cls, target] = _make_twin(cls, target)
    return found


def _make_twin(
    cls: type[errors.AzoaiError], target: type[BaseException]
) -> type[errors.AzoaiError]:
    namespace: dict[str, Any] = {
        "__module__": cls.__module__,
        "__qualname__": cls.__qualname__,
        "__doc__": cls.__doc__,
        "_azoai_class": cls,
        "request": property(_request),
    }
    openai = sys.modules.get("openai")
    status_error = getattr(openai, "APIStatusError", None)
    if isinstance(status_error, type) and issubclass(target, status_error):
        namespace["response"] = property(_response)
    if target.__name__ == "ContentFilterFinishReasonError":
        namespace["completion"] = None  # azoai's partial result is ``partial_result``
    twin: type[errors.AzoaiError] = type(cls.__name__, (cls, target), namespace)
    return twin


def _http(target: type[BaseException]) -> Any:
    """The HTTP module openai's exceptions are typed with: httpx2 for openai 3, httpx before."""
    module = sys.modules.get(target.__module__)
    names = vars(module) if module is not None else {}
    for name in ("httpx2", "httpx"):
        found = names.get(name)
        if found is not None and hasattr(found, "Response"):
            return found
    import httpx

    return httpx


def _request(err: errors.AzoaiError) -> Any:
    # no URL: azoai's message names the deployment and route, and a URL may carry a gateway key
    return _http(type(err)).Request("POST", "")


def _response(err: errors.AzoaiError) -> Any:
    http = _http(type(err))
    status = err.status_code
    if status is None:
        openai_bases = [c for c in type(err).__mro__ if c.__module__.startswith("openai")]
        status = _DEFAULT_STATUS.get(openai_bases[0].__name__, 500) if openai_bases else 500
    body = err.body
    if body is None:
        content = b""
    elif isinstance(body, str | bytes):
        content = body.encode() if isinstance(body, str) else body
    else:
        content = json.dumps(body, default=str).encode()
    # err.headers holds only the Azure response headers azoai keeps: never a credential
    return http.Response(status, headers=err.headers, content=content, request=_request(err))


def _error_object(body: Any) -> Mapping[str, Any]:
    if isinstance(body, Mapping):
        inner = body.get("error")
        return inner if isinstance(inner, Mapping) else body
    return {}


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None
