"""Signatures handed over ready-made.

llama-index's instrumentation wraps each span-decorated method (``chat``, ``complete``, their
async and streaming twins, ``_prepare_chat_with_tools``...) and on every call reads the wrapped
method's signature to bind its arguments (``inspect.signature(func).bind(...)``);
``FunctionCallingLLM.chat_with_tools`` also reads ``_prepare_chat_with_tools``'s on every call.
``inspect`` rebuilds a signature each time unless the function carries one in
``__signature__``, so :func:`presign` computes each once, when the class is made, and puts it
there: ``inspect.signature`` returns the same :class:`inspect.Signature` it would have built.
"""

from __future__ import annotations

import inspect
from types import FunctionType

__all__ = ["presign"]


def presign(cls: type) -> type:
    """A class decorator: the span-wrapped methods ``cls`` defines get their signatures."""
    for value in vars(cls).values():
        inner = inspect.unwrap(value) if hasattr(value, "__wrapped__") else None
        if isinstance(inner, FunctionType) and "__signature__" not in vars(inner):
            try:
                inner.__signature__ = inspect.signature(inner)  # type: ignore[attr-defined]
            except (TypeError, ValueError, NameError):  # no signature to give: computed per call
                continue
    return cls
