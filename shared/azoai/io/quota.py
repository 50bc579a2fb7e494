"""What the quota pacer and its bucket stores say to each other (:mod:`azoai.pipeline.pacing`
decides; :class:`~azoai.pipeline.pacing.LocalBuckets` or :mod:`azoai.io.quota_store` keeps the
state). Plain values, so a store in another process or machine can carry them."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["MIN_MARGIN", "Ask", "Grant", "News"]

#: The least margin over the mean calibration ratio.
MIN_MARGIN = 0.01


@dataclass(frozen=True, slots=True)
class Ask:
    """A request that wants to go out: ``cost`` tokens to reserve (Azure's likely count plus the
    calibration's margin), its raw offline ``estimate`` (counted while it is in flight), the
    limits this process knows (discovery), and its calibration (shared with a fleet)."""

    cost: int
    estimate: int
    limit_tokens: int | None = None
    limit_requests: int | None = None
    ratio: float | None = None  # None: this process has no sample yet
    margin: float = MIN_MARGIN
    #: The sender's place in line ("": none): while an earlier sender waits for more tokens,
    #: later ones wait behind it, so a large batch is not starved by small ones
    place: str = ""


@dataclass(frozen=True, slots=True)
class Grant:
    """The store's answer: ``wait == 0`` lets the request out with ``ticket`` (when the store let
    it out, unique per request); ``wait > 0`` is the seconds until it would fit; ``-1`` means a
    probe is out and the limits are unknown until it returns. The store's limits come back, and
    a fleet's calibration for a process that has none."""

    wait: float
    ticket: float = 0.0
    limit_tokens: int | None = None
    limit_requests: int | None = None
    ratio: float | None = None
    margin: float | None = None


@dataclass(frozen=True, slots=True)
class News:
    """What an attempt taught, for the store: the answer to ``ticket`` (its rate-limit headers,
    ``None`` where absent), ``blocked`` seconds a 429 asked every sender to wait, ``release``
    (the request was cancelled: no answer will come), ``settle`` (end the probe), ``ratio``
    (Azure's count per estimated token, to count the requests still in flight) and ``counted``
    (Azure's token count for this request, when the answer says: its reservation is corrected
    to it)."""

    ticket: float | None = None
    limit_tokens: int | None = None
    limit_requests: int | None = None
    remaining_tokens: int | None = None
    remaining_requests: int | None = None
    ratio: float = 1.0
    counted: int | None = None
    blocked: float | None = None
    release: bool = False
    settle: bool = True
