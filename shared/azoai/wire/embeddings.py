"""The embeddings response, decoded defensively: each input's vector (base64 float32s or a list
of numbers) or why it has none, by the items' ``index``; the usage and the model."""

from __future__ import annotations

import array
import binascii
import math
import re
import sys
from typing import Any

from azoai.errors import InvalidResponseError
from azoai.wire.common import int_or_zero, loads
from azoai.wire.types import Usage

__all__ = ["Decoded", "decode_vector", "prompt_tokens", "vectors"]

_LITTLE_ENDIAN = sys.byteorder == "little"

Decoded = tuple[list[list[float] | str], Usage, str | None]
"""A response's vectors by position (or why a position has none), its usage and its model."""

_MISSING = object()
_REPEATED = object()
_PROMPT_TOKENS = re.compile(rb'"prompt_tokens"\s*:\s*(\d{1,12})')
#: Where the usage is looked for: it follows the vectors (the tail of a body of megabytes).
_TAIL = 512


def prompt_tokens(content: bytes) -> int | None:
    """Azure's token count from an embeddings response without decoding it (the quota pacer
    corrects its reservation with it as soon as the answer arrives): the ``usage`` object's
    ``prompt_tokens`` near the end of the body, or ``None`` when it is not there."""
    found = _PROMPT_TOKENS.findall(content[-_TAIL:])
    return int(found[-1]) if len(found) == 1 else None


def decode_vector(emb: Any) -> list[float] | str:
    """One item's vector, or why it is malformed: base64 (little-endian float32s, what Azure sends
    with ``encoding_format="base64"``) or a list of numbers; every value finite."""
    if isinstance(emb, str):
        try:
            raw = binascii.a2b_base64(emb, strict_mode=True)
        except (binascii.Error, ValueError):  # ValueError: a non-ASCII string
            return "its base64 text does not decode"
        if not raw or len(raw) % 4:
            return f"its {len(raw)} bytes are not a whole number of float32 values"
        arr = array.array("f")
        arr.frombytes(raw)
        if not _LITTLE_ENDIAN:
            arr.byteswap()
        vector = arr.tolist()
        # A float32 is nan or inf only when its top byte is 0x7f or 0xff (magnitudes from 2**127
        # up): scan the top bytes in C, and sum only when one of them looks suspicious.
        top = raw[3::4]
        if (b"\x7f" in top or b"\xff" in top) and not math.isfinite(sum(vector)):
            return "it holds a value that is not a finite number"
        return vector
    if isinstance(emb, list):
        try:
            vector = array.array("d", emb).tolist()
        except (TypeError, OverflowError):
            return "it holds a value that is not a number"
        if not vector:
            return "it is empty"
        if not math.isfinite(sum(vector)):
            return "it holds a value that is not a finite number"
        return vector
    return "it has no embedding" if emb is None else "its embedding is neither base64 nor a list"


def vectors(content: bytes, size: int) -> Decoded:
    """Each of ``size`` inputs' vector from a response, by the items' ``index`` (by position
    only when the response has exactly one item per input); a position with no item, several
    items or a malformed one gets the reason instead of a vector. A body that is not an
    embeddings response at all is an :class:`InvalidResponseError` for the whole batch."""
    body = loads(content)
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, list):
        raise InvalidResponseError("the embeddings response holds no 'data' list of vectors")
    positional = len(data) == size
    items: list[Any] = [_MISSING] * size
    for pos, item in enumerate(data):
        idx = item.get("index") if isinstance(item, dict) else None
        if idx is None and positional:
            idx = pos
        if isinstance(idx, bool) or not isinstance(idx, int) or not 0 <= idx < size:
            continue  # belongs nowhere: the input it was for is left without one
        items[idx] = item if items[idx] is _MISSING else _REPEATED
    out: list[list[float] | str] = []
    for item in items:
        if item is _MISSING:
            out.append("the response has no vector for it")
        elif item is _REPEATED:
            out.append("the response has several vectors for it")
        elif not isinstance(item, dict):
            out.append("its item is not an object")
        else:
            out.append(decode_vector(item.get("embedding")))
    u = body.get("usage")
    u = u if isinstance(u, dict) else {}
    usage = Usage(
        input_tokens=max(0, int_or_zero(u.get("prompt_tokens"))),
        total_tokens=max(0, int_or_zero(u.get("total_tokens"))),
    )
    model = body.get("model") if isinstance(body.get("model"), str) else None
    return out, usage, model
