"""Per-deployment TPM and RPM token buckets, as Azure enforces quota.

Each deployment has two buckets: requests (capacity ``rpm``) and tokens (capacity ``tpm``), both
full at start and refilling continuously at a minute's capacity per 60 seconds. A request needs
one request and its token *estimate*: prompt tokens plus the requested output limit
(``max_tokens`` and friends; 0 when absent), as Azure estimates before it runs the model (facts
§4.8). When either bucket is short, the request is refused with the wait until it would fit; a
refused request takes nothing. Time comes from the emulator's clock, so a fake clock makes this
exact in tests.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Decision", "RateLimiter", "TokenBucket"]


_EPSILON = 1e-3


@dataclass(slots=True)
class TokenBucket:
    capacity: float
    level: float
    updated: float

    @property
    def rate(self) -> float:
        """Refill per second."""
        return self.capacity / 60.0

    def refill(self, now: float) -> None:
        if now > self.updated:
            self.level = min(self.capacity, self.level + (now - self.updated) * self.rate)
        self.updated = max(self.updated, now)

    def wait_for(self, amount: float) -> float:
        """Seconds until ``amount`` is available (``inf`` if it never will be)."""
        if amount <= self.level + _EPSILON:  # refills are floating point: forgive rounding
            return 0.0
        if amount > self.capacity:
            return float("inf")
        return (amount - self.level) / self.rate


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    wait: float  # seconds; 0 when allowed
    kind: str  # "call" (requests) or "token": which limit refused
    limit_requests: int
    limit_tokens: int
    remaining_requests: int
    remaining_tokens: int

    def headers(self) -> dict[str, str]:
        return {
            "x-ratelimit-limit-requests": str(self.limit_requests),
            "x-ratelimit-limit-tokens": str(self.limit_tokens),
            "x-ratelimit-remaining-requests": str(self.remaining_requests),
            "x-ratelimit-remaining-tokens": str(self.remaining_tokens),
        }


#: How long a refusal says to wait when the estimate can never fit (Azure's "quota" wait).
NEVER_FITS_WAIT = 86400.0


class RateLimiter:
    """The buckets of every deployment; thread-safe."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[TokenBucket, TokenBucket]] = {}

    def _pair(self, name: str, rpm: int, tpm: int, now: float) -> tuple[TokenBucket, TokenBucket]:
        pair = self._buckets.get(name)
        if pair is None or pair[0].capacity != rpm or pair[1].capacity != tpm:
            pair = (TokenBucket(rpm, rpm, now), TokenBucket(tpm, tpm, now))
            self._buckets[name] = pair
        return pair

    def acquire(self, name: str, *, rpm: int, tpm: int, tokens: int) -> Decision:
        """Take one request and ``tokens`` from ``name``'s buckets, or refuse with the wait."""
        with self._lock:
            now = self._clock()
            requests, token_bucket = self._pair(name, rpm, tpm, now)
            requests.refill(now)
            token_bucket.refill(now)
            wait_requests = requests.wait_for(1)
            wait_tokens = token_bucket.wait_for(tokens)
            allowed = wait_requests == 0 and wait_tokens == 0
            if allowed:
                requests.level = max(0.0, requests.level - 1)
                token_bucket.level = max(0.0, token_bucket.level - tokens)
            wait = max(wait_requests, wait_tokens)
            return Decision(
                allowed=allowed,
                wait=0.0 if allowed else min(wait, NEVER_FITS_WAIT),
                kind="token" if wait_tokens >= wait_requests else "call",
                limit_requests=rpm,
                limit_tokens=tpm,
                remaining_requests=max(0, int(requests.level)),
                remaining_tokens=max(0, int(token_bucket.level)),
            )

    def reset(self) -> None:
        with self._lock:
            self._buckets.clear()
