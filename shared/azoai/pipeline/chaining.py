"""Chained Responses calls over HTTP when Azure no longer has the previous response.

The rule is the WebSocket transport's (:mod:`azoai.wire.chain`): a call sent with
``previous_response_id`` that Azure answers with ``previous_response_not_found`` (the response
was not stored, was deleted or expired, or lives on another resource of a route) is sent once
more without it, the conversation through that response ahead of the call's own messages (as
the chain would have had it: that response's input and output, not its instructions), when
this client made that response; otherwise the error is raised naming the fix. A warning says
so, since a call that keeps failing this way pays twice: chaining to unstored responses over
HTTP never works.

:class:`Chains` is the client's memory for it: after each Responses call, the conversation
through the response it returned (neutral messages, so nothing is serialised twice).
"""

from __future__ import annotations

import logging
from dataclasses import replace

from azoai.errors import AzoaiError
from azoai.wire.chain import Conversations, previous_missing, replayable_messages, with_unchain_fix
from azoai.wire.types import ChatRequest, ChatResult, Message

__all__ = ["Chains"]

log = logging.getLogger("azoai.client")

_INSTRUCTIONS = ("system", "developer")


def _split(messages: list[Message]) -> tuple[list[Message], list[Message]]:
    """The leading system/developer messages (the call's instructions, which a chain does not
    carry over) and the rest."""
    n = 0
    while n < len(messages) and messages[n].role in _INSTRUCTIONS:
        n += 1
    return messages[:n], messages[n:]


class Chains:
    """The conversations of this client's latest Responses calls, by response id, and the rule
    for a broken chain (see the module docstring)."""

    __slots__ = ("_known",)

    def __init__(self) -> None:
        self._known: Conversations[list[Message]] = Conversations()

    def _before(self, request: ChatRequest) -> list[Message] | None:
        """What comes before the request's own messages: nothing, or the conversation through
        the response it continues (``None`` when that one is unknown)."""
        previous = request.previous_response_id
        return self._known.get(previous) if previous else []

    def record(self, request: ChatRequest, result: ChatResult) -> ChatResult:
        """Remember the conversation through ``result``'s response (when it is fully known)."""
        rid = result.response_id
        if rid and result.api == "responses":
            before = self._before(request)
            if before is not None:
                turns = _split(list(request.messages))[1]
                self._known.put(rid, [*before, *turns, result.message])
        return result

    def unchained(self, request: ChatRequest, err: AzoaiError) -> ChatRequest | None:
        """The request to send instead after ``err``, or ``None`` when the rule does not apply
        (the caller raises ``err``). Raises ``err`` with the fix when the chain is broken and
        the conversation cannot be rebuilt."""
        previous = request.previous_response_id
        if not previous or not previous_missing(err):
            return None
        before = self._before(request)
        if before is None:
            raise with_unchain_fix(err)
        head, turns = _split(list(request.messages))
        log.warning(
            "azoai: Azure does not have response %r (previous_response_not_found); resending "
            "the conversation (%d messages) without previous_response_id",
            previous,
            len(before) + len(turns),
        )
        return replace(
            request,
            messages=[*head, *replayable_messages(before), *turns],
            previous_response_id=None,
        )
