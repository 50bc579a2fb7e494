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
does not slow ingestion down. The pacer remembers what it let out and when, so a response's
remaining count (as of that request's admission) is corrected for the requests sent since, rather
than trusted blindly or ignored.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections import deque
from collections.abc import Mapping

__all__ = ["Pacer", "pacer_for"]

_SLACK = 0.5  # refills are floating point: forgive rounding
_MIN_WAIT = 0.001
_PROBE_WAIT = 120.0
_INFLIGHT_MAX = 120.0  # a request unanswered this long is not counted as in flight any more
_SAMPLES = 32  # calibration: the ratios of the last this many batches
_MARGIN = 0.01  # the least margin over the mean ratio
_MAX_COUNT = 1e12  # a larger rate-limit count in a header is not a real quota
_MAX_MARGIN = 0.5
#: The longest a waiting sender sleeps before it looks again: a response in the meantime may
#: return tokens that an in-flight request had reserved beyond what Azure counted.
RECHECK = 0.05  # reservations older than this are no longer in flight (requests time out)


def _int(headers: Mapping[str, str], name: str) -> int | None:
    """A count from a header, or ``None``: headers are untrusted input, so anything but a finite
    number from 0 to 1e12 (``inf``, ``nan``, ``1e400``, text; Azure sends -1 for "unknown") is
    ignored rather than raised or let into the bucket arithmetic."""
    raw = headers.get(name)
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        return None
    return int(value) if 0 <= value <= _MAX_COUNT else None  # False for nan


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
        self._ratio = 1.0  # Azure's count / our estimate: the mean of recent samples
        self._margin = _MARGIN  # how far above the mean a batch's ratio is likely to be
        self._samples: deque[float] = deque(maxlen=_SAMPLES)
        #: Seconds spent waiting (for benchmarks and logs).
        self.waited = 0.0
        # Until the first answer tells us the limits, one request goes out alone (a probe), so a
        # burst of concurrent batches does not overrun a quota nobody knows yet.
        self._probe = "none"  # "none" -> "inflight" -> "done"
        self._probe_done = threading.Event()
        # A request's ticket is when (pacer clock) it was let out, unique per request.
        self._last_ticket = 0.0
        # ticket -> raw estimate of the requests let out and not answered yet
        self._inflight: dict[float, int] = {}
        # (ticket, answered at, raw estimate) of recent answers, oldest first
        self._answered: deque[tuple[float, float, int]] = deque()

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

    def observe(
        self, headers: Mapping[str, str], sent_at: float | None = None, *, settle: bool = True
    ) -> None:
        """Re-sync from a response's ``x-ratelimit-*`` headers (``{}`` after a failed request:
        it ends the probe without teaching anything). ``sent_at`` is the request's ticket from
        :meth:`acquire`. Azure's remaining count is as of the request's admission, which leaves
        out every request Azure admitted after it: those this pacer let out after it, and those
        let out before it that were still in flight when it left (concurrent senders race to the
        socket, so Azure may admit them in another order, and answer them in any order). Both
        are subtracted; when one of them was in fact counted the view is briefly low, until
        another answer re-syncs it. The refill since
        the admission is not added (the admission time is unknown; a response may take seconds):
        the view stays a little low, which delays each request by a constant cushion, never by
        an amount that grows, and avoids 429s. ``settle=False`` keeps a probe open until
        :meth:`calibrate` or :meth:`settle` (the caller still has to read the usage that
        calibrates the estimates)."""
        lt = _int(headers, "x-ratelimit-limit-tokens")
        lr = _int(headers, "x-ratelimit-limit-requests")
        rt = _int(headers, "x-ratelimit-remaining-tokens")
        rr = _int(headers, "x-ratelimit-remaining-requests")
        with self._lock:
            now = time.monotonic()
            if sent_at is not None:
                estimate_of = self._inflight.pop(sent_at, None)
                if estimate_of is not None:
                    answered = self._answered
                    answered.append((sent_at, now, estimate_of))
                    while answered[0][1] < now - _INFLIGHT_MAX:
                        answered.popleft()
            self._refill(now)
            if lt:
                self.limit_tokens = lt
            if lr:
                self.limit_requests = lr
            if rt is not None or rr is not None:
                later_tokens, later_requests = 0.0, 0
                if sent_at is not None:
                    # let out after this one, or before it and still in flight when it left
                    for at, estimate in self._inflight.items():
                        if at > sent_at or now - at < _INFLIGHT_MAX:
                            later_tokens += estimate * self._ratio
                            later_requests += 1
                    for at, answered_at, estimate in self._answered:
                        if at > sent_at or at < sent_at < answered_at:
                            later_tokens += estimate * self._ratio
                            later_requests += 1
                if rt is not None and self.limit_tokens:
                    self._tokens = max(0.0, min(float(self.limit_tokens), rt) - later_tokens)
                if rr is not None and self.limit_requests:
                    self._requests = max(0.0, min(float(self.limit_requests), rr) - later_requests)
        if settle or not headers:
            self.settle()

    def release(self, ticket: float | None) -> None:
        """A request let out with ``ticket`` will have no answer to observe (it was cancelled)."""
        if ticket is not None:
            with self._lock:
                self._inflight.pop(ticket, None)

    def settle(self) -> None:
        """End the probe: the first answer is in (or failed); concurrent senders may go."""
        if self._probe != "done":
            self._probe = "done"
            self._probe_done.set()

    def calibrate(self, estimated: int, actual: int) -> None:
        """Learn how Azure's token count compares with the offline estimate: the mean ratio of
        recent batches, and a margin of two standard deviations of it (at least 1%), so a batch
        that counts above the mean still fits."""
        if estimated > 0 and actual > 0:
            with self._lock:
                samples = self._samples
                samples.append(actual / estimated)
                mean = sum(samples) / len(samples)
                spread = 0.0
                if len(samples) > 1:
                    var = sum((r - mean) ** 2 for r in samples) / (len(samples) - 1)
                    spread = 2 * var**0.5 / mean
                self._ratio = mean
                self._margin = min(_MAX_MARGIN, max(_MARGIN, spread))
        self.settle()

    def blocked(self, seconds: float) -> None:
        """A 429 asked us to wait ``seconds``: every sender to this deployment waits."""
        with self._lock:
            self._blocked_until = max(self._blocked_until, time.monotonic() + seconds)

    def cost(self, estimated_tokens: int) -> int:
        """What to reserve for an estimate: Azure's likely count plus the calibration's margin
        (over-reserving costs little, since every response re-syncs the buckets; a rare 429 costs
        one exact retry-after wait)."""
        return max(1, int(estimated_tokens * self._ratio * (1 + self._margin) + 0.5))

    def max_request_tokens(self) -> int | None:
        """The largest token cost one request can have and still fit the bucket."""
        return int(self.limit_tokens * 0.9) if self.limit_tokens else None

    def estimate_budget(self) -> int | None:
        """:meth:`max_request_tokens` in the units of the offline estimate."""
        most = self.max_request_tokens()
        return int(most / self._ratio) if most else None

    # -- admission -------------------------------------------------------------------------------

    def try_acquire(self, estimate: int) -> tuple[float, float]:
        """Reserve the tokens ``estimate`` is likely to cost and one request if they fit now:
        ``(0, ticket)``; else ``(seconds to wait, 0)`` (``-1``: wait for the probe to come back).
        The non-blocking form of :meth:`acquire`, for callers with their own scheduler."""
        with self._lock:
            if self._probe == "inflight":
                return -1.0, 0.0
            now = time.monotonic()
            if self._probe == "none":
                self._probe = "inflight"
                return 0.0, self._remember(now, estimate)
            if self._blocked_until > now:
                return self._blocked_until - now, 0.0
            tokens = self.cost(estimate)
            self._refill(now)
            wait = 0.0
            if self.limit_tokens and tokens <= self.limit_tokens and self._tokens + _SLACK < tokens:
                wait = max(wait, (tokens - self._tokens) / (self.limit_tokens / 60.0))
            if self.limit_requests and self._requests + _SLACK / 1000 < 1:
                wait = max(wait, (1 - self._requests) / (self.limit_requests / 60.0))
            if wait > 0:
                return max(wait, _MIN_WAIT), 0.0
            if self.limit_tokens:
                self._tokens -= min(tokens, self._tokens)
            if self.limit_requests:
                self._requests -= 1
            return 0.0, self._remember(now, estimate)

    def _remember(self, now: float, estimate: int) -> float:
        """Record a request let out; its ticket is ``now``, nudged so tickets are unique (they
        order the requests, which :meth:`observe` relies on)."""
        if now <= self._last_ticket:
            now = self._last_ticket + 1e-6
        self._last_ticket = now
        inflight = self._inflight
        inflight[now] = estimate
        if len(inflight) > 64:  # answers that never came (a caller that forgot to release)
            for at in [at for at in inflight if now - at >= _INFLIGHT_MAX]:
                del inflight[at]
        return now

    def acquire(self, estimate: int) -> float:
        """Wait until a request of ``estimate`` tokens (the offline estimate; the pacer applies
        its calibration) fits, reserve it; returns the request's ticket for :meth:`observe`: when
        (pacer clock) it was let out, unique per request."""
        while True:
            wait, ticket = self.try_acquire(estimate)
            if wait == 0:
                return ticket
            if wait < 0:
                self._probe_done.wait(_PROBE_WAIT)
                continue
            wait = min(wait, RECHECK)
            self.waited += wait
            time.sleep(wait)

    async def aacquire(self, estimate: int) -> float:
        while True:
            wait, ticket = self.try_acquire(estimate)
            if wait == 0:
                return ticket
            if wait < 0:
                await _asleep(0.01)  # the probe is on another task: poll briefly
                continue
            wait = min(wait, RECHECK)
            self.waited += wait
            await _asleep(wait)


async def _asleep(seconds: float) -> None:
    # indirection so tests can run the pacer on a simulated clock
    import asyncio

    await asyncio.sleep(seconds)


_pacers: weakref.WeakKeyDictionary[object, dict[str, Pacer]] = weakref.WeakKeyDictionary()
_pacers_lock = threading.Lock()


def pacer_for(owner: object, deployment: str) -> Pacer:
    """The quota pacer for one deployment of ``owner`` (a pooled connection: every client on it
    shares its pacers), created on first use and forgotten with the owner."""
    with _pacers_lock:
        per = _pacers.get(owner)
        if per is None:
            per = _pacers[owner] = {}
        p = per.get(deployment)
        if p is None:
            p = per[deployment] = Pacer()
        return p
