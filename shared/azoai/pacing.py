"""Quota-aware pacing: stay under a deployment's TPM/RPM instead of bouncing off 429s.

Azure meters each deployment with two buckets (requests and tokens per minute) that refill
continuously, and reports them on every response (``x-ratelimit-limit-*`` and
``x-ratelimit-remaining-*``). A :class:`Pacer` mirrors those buckets on the client: before a
request it waits until the request's estimated cost fits, and after the response it re-syncs from
the headers. Concurrent senders share one pacer per deployment, so a burst of batches does not
stampede into 429s. A 429 blocks the deployment for the ``retry-after`` Azure gave. When the
headers are absent (some proxies strip them) the pacer never waits and the retry layer does the
work.

Token estimates are calibrated: the pacer compares Azure's reported token counts with its own
estimates and scales later estimates by the running ratio, so a conservative offline estimate
does not slow ingestion down.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping

__all__ = ["Pacer"]

_SLACK = 0.5  # refills are floating point: forgive rounding
_MIN_WAIT = 0.001
_PROBE_WAIT = 120.0


def _int(headers: Mapping[str, str], name: str) -> int | None:
    raw = headers.get(name)
    if raw is None:
        return None
    try:
        value = int(float(raw))
    except ValueError:
        return None
    return value if value >= 0 else None  # Azure sometimes sends -1: "unknown"


class Pacer:
    def __init__(
        self, *, limit_tokens: int | None = None, limit_requests: int | None = None
    ) -> None:
        self._lock = threading.Lock()
        self.limit_tokens = limit_tokens
        self.limit_requests = limit_requests
        self._tokens = float(limit_tokens) if limit_tokens else 0.0
        self._requests = float(limit_requests) if limit_requests else 0.0
        self._updated = time.monotonic()
        self._blocked_until = 0.0
        self._ratio = 1.0  # Azure's count / our estimate
        self._ratio_samples = 0
        #: Seconds spent waiting (for benchmarks and logs).
        self.waited = 0.0
        # Until the first answer tells us the limits, one request goes out alone (a probe), so a
        # burst of concurrent batches does not overrun a quota nobody knows yet.
        self._probe = "none"  # "none" -> "inflight" -> "done"
        self._probe_done = threading.Event()

    # -- state -----------------------------------------------------------------------------------

    def _refill(self, now: float) -> None:
        dt = now - self._updated
        if dt > 0:
            if self.limit_tokens:
                self._tokens = min(
                    float(self.limit_tokens), self._tokens + dt * self.limit_tokens / 60.0
                )
            if self.limit_requests:
                self._requests = min(
                    float(self.limit_requests), self._requests + dt * self.limit_requests / 60.0
                )
            self._updated = now

    def observe(self, headers: Mapping[str, str], sent_at: float | None = None) -> None:
        """Re-sync from a response's ``x-ratelimit-*`` headers (``{}`` after a failed request:
        it ends the probe without teaching anything). ``sent_at`` (from :meth:`acquire`) is when
        the request left: Azure's remaining count is as of then, and the bucket has refilled
        since."""
        if self._probe != "done":
            self._probe = "done"
            self._probe_done.set()
        lt = _int(headers, "x-ratelimit-limit-tokens")
        lr = _int(headers, "x-ratelimit-limit-requests")
        rt = _int(headers, "x-ratelimit-remaining-tokens")
        rr = _int(headers, "x-ratelimit-remaining-requests")
        with self._lock:
            now = time.monotonic()
            self._refill(now)
            if lt:
                self.limit_tokens = lt
            if lr:
                self.limit_requests = lr
            # The server's remaining count is as of the request's admission; add the refill since
            # then. Requests of ours still in flight are not in it yet, so keep the lower view.
            elapsed = max(0.0, now - sent_at) if sent_at is not None else 0.0
            if rt is not None and self.limit_tokens:
                server = min(float(self.limit_tokens), rt + elapsed * self.limit_tokens / 60.0)
                self._tokens = min(self._tokens, server) if self._tokens else server
            if rr is not None and self.limit_requests:
                server = min(float(self.limit_requests), rr + elapsed * self.limit_requests / 60.0)
                self._requests = min(self._requests, server) if self._requests else server

    def calibrate(self, estimated: int, actual: int) -> None:
        """Learn how Azure's token count compares with the offline estimate."""
        if estimated <= 0 or actual <= 0:
            return
        with self._lock:
            n = min(self._ratio_samples, 20)
            self._ratio = (self._ratio * n + actual / estimated) / (n + 1)
            self._ratio_samples += 1

    def blocked(self, seconds: float) -> None:
        """A 429 asked us to wait ``seconds``: every sender to this deployment waits."""
        with self._lock:
            self._blocked_until = max(self._blocked_until, time.monotonic() + seconds)

    def cost(self, estimated_tokens: int) -> int:
        """Azure's likely count for an estimate, with a 1% margin (calibration is not exact; a
        rare 429 costs one exact retry-after wait)."""
        return max(1, int(estimated_tokens * self._ratio * 1.01 + 0.5))

    def max_request_tokens(self) -> int | None:
        """The largest token cost one request can have and still fit the bucket."""
        return int(self.limit_tokens * 0.9) if self.limit_tokens else None

    def estimate_budget(self) -> int | None:
        """:meth:`max_request_tokens` in the units of the offline estimate."""
        most = self.max_request_tokens()
        return int(most / self._ratio) if most else None

    # -- admission -------------------------------------------------------------------------------

    def _try(self, tokens: int) -> float:
        """Reserve ``tokens`` and one request if they fit now; else the seconds to wait
        (``-1``: wait for the probe to come back)."""
        with self._lock:
            if self._probe == "none":
                self._probe = "inflight"
                return 0.0
            if self._probe == "inflight":
                return -1.0
            now = time.monotonic()
            if self._blocked_until > now:
                return self._blocked_until - now
            self._refill(now)
            wait = 0.0
            if self.limit_tokens and tokens <= self.limit_tokens and self._tokens + _SLACK < tokens:
                wait = max(wait, (tokens - self._tokens) / (self.limit_tokens / 60.0))
            if self.limit_requests and self._requests + _SLACK / 1000 < 1:
                wait = max(wait, (1 - self._requests) / (self.limit_requests / 60.0))
            if wait > 0:
                return max(wait, _MIN_WAIT)
            if self.limit_tokens:
                self._tokens -= min(tokens, self._tokens)
            if self.limit_requests:
                self._requests -= 1
            return 0.0

    def acquire(self, tokens: int) -> float:
        """Wait until ``tokens`` fit, reserve them; returns when (pacer clock) they were taken."""
        while True:
            wait = self._try(tokens)
            if wait == 0:
                return time.monotonic()
            if wait < 0:
                self._probe_done.wait(_PROBE_WAIT)
                continue
            self.waited += wait
            time.sleep(wait)

    async def aacquire(self, tokens: int) -> float:
        while True:
            wait = self._try(tokens)
            if wait == 0:
                return time.monotonic()
            if wait < 0:
                await _asleep(0.01)  # the probe is on another task: poll briefly
                continue
            self.waited += wait
            await _asleep(wait)


async def _asleep(seconds: float) -> None:
    # indirection so tests can run the pacer on a simulated clock
    import asyncio

    await asyncio.sleep(seconds)
