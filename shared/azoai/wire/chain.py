"""Continuing a Responses conversation whose previous response Azure no longer has.

A continuation (``previous_response_id``) fails with ``previous_response_not_found`` when the
response was not stored (``store=False``: only a WebSocket's connection-local cache held it, and
only while that socket lived), was deleted or expired, or lives on another resource (a route
that failed over). Both transports follow one rule: when the whole conversation through that
response is known, the request is sent once more without ``previous_response_id``, with that
conversation ahead of the new items; reasoning items go back only with their encrypted content
(a bare id needs the store). Otherwise the error is raised with the fix.

What is known is what this process sent and received: :class:`Conversations` keeps the latest
conversations by response id (:mod:`azoai.io.ws_pool` as wire items, the HTTP calls of
:mod:`azoai.pipeline.chaining` as neutral messages).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, Generic, TypeVar

from azoai.errors import AzoaiError
from azoai.wire.types import Message

__all__ = [
    "HISTORY",
    "NOT_FOUND",
    "UNCHAIN_FIX",
    "Conversations",
    "previous_missing",
    "replayable",
    "replayable_messages",
    "with_unchain_fix",
]

#: Azure's code for a continuation whose previous response it does not have.
NOT_FOUND = "previous_response_not_found"
#: Conversations kept for resending a broken chain in full.
HISTORY = 32
UNCHAIN_FIX = (
    "send the full conversation without previous_response_id (the adapters do unless "
    "use_previous_response_id / track_previous_responses is on), or use store=True: Azure keeps "
    "an unstored response only in the WebSocket connection that created it"
)

T = TypeVar("T")


def previous_missing(err: AzoaiError) -> bool:
    """Whether ``err`` is Azure's answer to a continuation of a response it does not have."""
    return err.code == NOT_FOUND


def with_unchain_fix(err: AzoaiError) -> AzoaiError:
    """``err`` naming the fix, for when the conversation cannot be rebuilt."""
    err.fix = UNCHAIN_FIX
    err.args = (err._render(),)
    return err


def replayable(items: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Input items that can be sent without the store: a reasoning item needs its encrypted
    content (by bare id Azure looks it up, and an unstored or lost response has none)."""
    return [
        i for i in items if i.get("type") != "reasoning" or i.get("encrypted_content") is not None
    ]


def replayable_messages(messages: Sequence[Message]) -> list[Message]:
    """:func:`replayable` for neutral messages: reasoning items without encrypted content go."""
    out = []
    for m in messages:
        if any(not r.encrypted_content for r in m.reasoning):
            m = replace(m, reasoning=[r for r in m.reasoning if r.encrypted_content])
        out.append(m)
    return out


class Conversations(Generic[T]):
    """The latest conversations by response id (at most ``size``, least recently used out),
    safe to share between threads."""

    __slots__ = ("_items", "_lock", "_size")

    def __init__(self, size: int = HISTORY) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._items: OrderedDict[str, T] = OrderedDict()

    def get(self, response_id: str) -> T | None:
        with self._lock:
            found = self._items.get(response_id)
            if found is not None:
                self._items.move_to_end(response_id)
            return found

    def put(self, response_id: str, conversation: T) -> None:
        with self._lock:
            self._items[response_id] = conversation
            self._items.move_to_end(response_id)
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)
