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
does not slow ingestion down. The buckets remember what they let out and when, so a response's
remaining count (as of that request's admission) is corrected for the requests sent since, rather
than trusted blindly or ignored.

The policy (calibration, costs, waiting) is the :class:`Pacer`'s; the buckets live in a
:class:`Buckets` store: :class:`LocalBuckets` in this process, or, with the ``quota_store``
setting, a store every process of a fleet shares (:mod:`azoai.io.quota_store`, Redis), so N
workers on one deployment stay under its quota together and one worker's 429 makes all wait.
"""

from __future__ import annotations

import itertools
import os
import sys
import threading
import time
import weakref
from collections import deque
from collections.abc import Mapping, Sequence
from time import time as _wall  # places are ordered by the wall clock: a fleet shares it
from typing import TYPE_CHECKING, Any, Protocol

from azoai.io.quota import MIN_MARGIN, Ask, Grant, News
from azoai.pipeline.waits import WaitNotice

if TYPE_CHECKING:
    from azoai.config.settings import Settings

__all__ = [
    "Ask",
    "Buckets",
    "Grant",
    "LocalBuckets",
    "News",
    "Pacer",
    "QuotaStore",
    "pacer_for",
    "quota_key",
    "store_for",
]

SLACK = 0.5  # refills are floating point: forgive rounding
_MIN_WAIT = 0.001
_PROBE_WAIT = 120.0
#: A request unanswered this long is not counted as in flight any more (requests time out).
INFLIGHT_MAX = 120.0
_SAMPLES = 32  # calibration: the ratios of the last this many batches
_MARGIN = MIN_MARGIN  # the least margin over the mean ratio
_MAX_COUNT = 1e12  # a larger rate-limit count in a header is not a real quota
_MAX_MARGIN = 0.5
#: The longest a waiting sender sleeps before it looks again: a response in the meantime may
#: return tokens that an in-flight request had reserved beyond what Azure counted.
RECHECK = 0.05
#: A sender in line that has not asked again for this long has gone (cancelled, or its process
#: died): the line moves on without it.
STALE = 1.0


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


# -- the store interface ----------------------------------------------------------------------------


class Buckets(Protocol):
    """One deployment's token and request buckets, and its probe: in this process
    (:class:`LocalBuckets`) or shared by a fleet (``azoai.io.quota_store.RedisBuckets``)."""

    shared: bool

    def take(self, ask: Ask) -> Grant: ...

    async def atake(self, ask: Ask) -> Grant: ...

    def report(self, news: News) -> None: ...

    async def areport(self, news: News) -> None: ...

    def settle(self) -> None:
        """The probe's answer is in and calibrated (or it failed): concurrent senders may go."""
        ...

    def wait_probe(self, timeout: float) -> None:
        """Block a sync sender while another request probes the limits."""
        ...


class QuotaStore(Protocol):
    """Where a fleet keeps its quota state (``azoai.io.quota_store.RedisQuotaStore``): each
    deployment's buckets, and the cool-downs of route targets. ``tag`` names the store without
    its URL (which may hold a password)."""

    tag: str

    def buckets(self, key: str) -> Buckets: ...

    def cool(self, key: str, seconds: float) -> None: ...

    async def acool(self, key: str, seconds: float) -> None: ...

    def cooling(self, keys: Sequence[str]) -> list[float]:
        """Seconds each key still cools (0: healthy)."""
        ...

    async def acooling(self, keys: Sequence[str]) -> list[float]: ...


# -- the in-process store (the default) ---------------------------------------------------------


class LocalBuckets:
    """The buckets in this process (thread-safe): what every pacer uses without ``quota_store``."""

    shared = False

    def __init__(self, limit_tokens: int | None = None, limit_requests: int | None = None) -> None:
        self._lock = threading.Lock()
        self.limit_tokens = limit_tokens
        self.limit_requests = limit_requests
        self._tokens = float(limit_tokens) if limit_tokens else 0.0
        self._requests = float(limit_requests) if limit_requests else 0.0
        self._updated = time.monotonic()
        self._blocked_until = 0.0
        # Until the first answer tells us the limits, one request goes out alone (a probe), so a
        # burst of concurrent batches does not overrun a quota nobody knows yet.
        self._probe = "none"  # "none" -> "inflight" -> "done"
        self._probe_done = threading.Event()
        # A request's ticket is when (monotonic clock) it was let out, unique per request.
        self._last_ticket = 0.0
        # ticket -> (raw estimate, tokens reserved) of the requests let out and not answered yet
        self._inflight: dict[float, tuple[int, int]] = {}
        # (ticket, answered at, tokens: Azure's count, else the calibrated estimate) of recent
        # answers, oldest first
        self._answered: deque[tuple[float, float, float]] = deque()
        # the senders waiting for tokens: place -> when it last asked; the line is ordered by
        # when each place was issued (see Pacer.place)
        self._line: dict[str, float] = {}

    def _refill(self, now: float) -> None:
        """Refill since the last look. The token mirror fills up to the limit less what the
        requests in flight hold: Azure has not charged them yet (or not long ago), so its own
        bucket may be full while the mirror is not, and a full bucket wastes its refill."""
        dt = now - self._updated
        if dt > 0:
            if self.limit_tokens:
                held = sum(taken for _, taken in self._inflight.values())
                top = max(0.0, float(self.limit_tokens) - held)
                if self._tokens < top:
                    self._tokens = min(top, self._tokens + dt * self.limit_tokens / 60.0)
            if self.limit_requests:
                self._requests = min(
                    float(self.limit_requests), self._requests + dt * self.limit_requests / 60.0
                )
            self._updated = now

    def take(self, ask: Ask) -> Grant:
        with self._lock:
            if ask.limit_tokens and not self.limit_tokens:
                self.limit_tokens = ask.limit_tokens  # discovery knows the quota up front
            if ask.limit_requests and not self.limit_requests:
                self.limit_requests = ask.limit_requests
            lt, lr = self.limit_tokens, self.limit_requests
            if self._probe == "inflight":
                return Grant(-1.0, 0.0, lt, lr)
            now = time.monotonic()
            if self._probe == "none":
                self._probe = "inflight"
                return Grant(0.0, self._remember(now, ask.estimate, 0), lt, lr)
            if self._blocked_until > now:
                return Grant(self._blocked_until - now, 0.0, lt, lr)
            if ask.place and not self._first(ask.place, now):
                return Grant(RECHECK, 0.0, lt, lr)  # an earlier sender waits: it goes first
            self._refill(now)
            wait = 0.0
            # A request over the whole bucket waits for a full one (Azure admits what fits the
            # limit; the count may be lower than the reservation), never goes out at once.
            need = min(ask.cost, lt) if lt else 0
            if lt and self._tokens + SLACK < need:
                wait = max(wait, (need - self._tokens) / (lt / 60.0))
            if lr and self._requests + SLACK / 1000 < 1:
                wait = max(wait, (1 - self._requests) / (lr / 60.0))
            if wait > 0:
                return Grant(max(wait, _MIN_WAIT), 0.0, lt, lr)
            taken = min(ask.cost, self._tokens) if lt else 0
            self._tokens -= taken
            if lr:
                self._requests -= 1
            self._line.pop(ask.place, None)
            return Grant(0.0, self._remember(now, ask.estimate, int(taken)), lt, lr)

    def _first(self, place: str, now: float) -> bool:
        """Whether ``place`` heads the line (the earliest issued of those still asking);
        senders that stopped asking are dropped from it."""
        line = self._line
        line[place] = now
        for gone in [p for p, asked in line.items() if asked < now - STALE]:
            del line[gone]
        return min(line, key=issued) == place

    async def atake(self, ask: Ask) -> Grant:
        return self.take(ask)

    def _remember(self, now: float, estimate: int, taken: int) -> float:
        """Record a request let out (``taken``: the tokens its reservation took from the
        bucket); its ticket is ``now``, nudged so tickets are unique (they order the requests,
        which :meth:`report` relies on)."""
        if now <= self._last_ticket:
            now = self._last_ticket + 1e-6
        self._last_ticket = now
        inflight = self._inflight
        inflight[now] = (estimate, taken)
        if len(inflight) > 64:  # answers that never came (a caller that forgot to release)
            for at in [at for at in inflight if now - at >= INFLIGHT_MAX]:
                del inflight[at]
        return now

    def report(self, news: News) -> None:
        """Azure's remaining count is as of the request's admission, which leaves out every
        request Azure admitted after it: those let out after it, and those let out before it that
        were still in flight when it left (concurrent senders race to the socket, so Azure may
        admit them in another order, and answer them in any order). Subtracting both gives a
        level no higher than the truth (``low``); the remaining count plus the refill since the
        request was let out is no lower (``high``: the admission came after the let-out). The
        mirror (what the store reserved, with the reservation of this request corrected to
        Azure's count when the answer carries it) is kept when it lies between the two, so
        neither a slow response nor the pessimistic ``low`` delays the next request; outside
        them, the nearer bound wins."""
        with self._lock:
            now = time.monotonic()
            self._refill(now)  # with this request still holding its tokens until now
            sent_at = news.ticket
            refund = 0.0
            if sent_at is not None:
                entry = self._inflight.pop(sent_at, None)
                if entry is not None and not news.release:
                    estimate, taken = entry
                    counted = news.counted
                    if counted is not None and taken:
                        refund = float(taken - counted)  # negative when Azure counted more
                    answered = self._answered
                    answered.append(
                        (sent_at, now, counted if counted is not None else estimate * news.ratio)
                    )
                    while answered[0][1] < now - INFLIGHT_MAX:
                        answered.popleft()
            if news.release:
                return
            if refund and self.limit_tokens:
                self._tokens = max(0.0, min(float(self.limit_tokens), self._tokens + refund))
            if news.limit_tokens:
                self.limit_tokens = news.limit_tokens
            if news.limit_requests:
                self.limit_requests = news.limit_requests
            rt, rr = news.remaining_tokens, news.remaining_requests
            if rt is not None or rr is not None:
                later_tokens, later_requests = 0.0, 0
                if sent_at is not None:
                    # let out after this one, or before it and still in flight when it left
                    for at, (estimate, taken) in self._inflight.items():
                        if at > sent_at or now - at < INFLIGHT_MAX:
                            # what it holds of the mirror, so its own correction later adds
                            # up (a probe held nothing: its calibrated estimate)
                            later_tokens += taken or estimate * news.ratio
                            later_requests += 1
                    for at, answered_at, tokens in self._answered:
                        if at > sent_at or at < sent_at < answered_at:
                            later_tokens += tokens
                            later_requests += 1
                since = max(0.0, now - sent_at) if sent_at is not None else None
                if rt is not None and self.limit_tokens:
                    self._tokens = _resync(self._tokens, rt, later_tokens, self.limit_tokens, since)
                if rr is not None and self.limit_requests:
                    self._requests = _resync(
                        self._requests, rr, later_requests, self.limit_requests, since
                    )
            if news.blocked is not None:
                self._blocked_until = max(self._blocked_until, now + news.blocked)
        if news.settle:
            self.settle()

    async def areport(self, news: News) -> None:
        self.report(news)

    def settle(self) -> None:
        if self._probe != "done":
            self._probe = "done"
            self._probe_done.set()

    def wait_probe(self, timeout: float) -> None:
        self._probe_done.wait(timeout)


def issued(place: str) -> float:
    """When a place in line was issued (its prefix, see :meth:`Pacer.place`)."""
    try:
        return float(place.partition("/")[0])
    except ValueError:
        return 0.0


def _resync(
    mirror: float, remaining: float, later: float, limit: int, since: float | None
) -> float:
    """A bucket's level after an answer (see :meth:`LocalBuckets.report`): Azure's
    ``remaining`` count less what may have been admitted after it (``later``), at least; that
    count plus the refill in the ``since`` seconds since the request left, at most (Azure admits
    it after its let-out); the mirror when it lies between. Without a ticket (``since`` is
    ``None``) the count is taken as it is."""
    low = max(0.0, min(float(limit), remaining - later))
    if since is None:
        return low
    high = max(low, min(float(limit), remaining + since * limit / 60.0))
    return max(low, min(mirror, high))


# -- the policy -------------------------------------------------------------------------------------


class Pacer:
    """Calibrated admission over one deployment's :class:`Buckets`."""

    def __init__(
        self,
        *,
        limit_tokens: int | None = None,
        limit_requests: int | None = None,
        buckets: Buckets | None = None,
    ) -> None:
        self._lock = threading.Lock()
        self.buckets: Buckets = buckets or LocalBuckets(limit_tokens, limit_requests)
        self.limit_tokens = limit_tokens
        self.limit_requests = limit_requests
        self._ratio = 1.0  # Azure's count / our estimate: the mean of recent samples
        self._margin = _MARGIN  # how far above the mean a batch's ratio is likely to be
        self._samples: deque[tuple[float, float]] = deque(maxlen=_SAMPLES)  # (ratio, weight)
        self._heard = False  # an answer came back (with or without limits)
        self._probing = False  # a caller sends a probe batch (see claim_probe)
        self._probed = threading.Event()
        self._places = itertools.count(1)
        self._name = f"{os.getpid()}-{id(self):x}"  # places unique across a fleet's processes
        # places issued here and not let out yet -> when last seen: a later one waits for them
        self._pending: dict[str, float] = {}
        #: Seconds spent waiting (for benchmarks and logs).
        self.waited = 0.0

    # -- what answers teach ----------------------------------------------------------------------

    def quota_unknown(self) -> bool:
        """No limit is known and no answer has come back yet: the first request is a probe."""
        return self.limit_tokens is None and self.limit_requests is None and not self._heard

    def claim_probe(self) -> bool:
        """While the quota is unknown, the first caller to ask sends a small probe batch and
        plans the rest after its answer; other callers wait for it (:meth:`wait_probe`) and
        then plan under the quota it reported. The claimer calls :meth:`end_probe` after."""
        with self._lock:
            if self._probing or not self.quota_unknown():
                return False
            self._probing = True
            self._probed.clear()
            return True

    def probing(self) -> bool:
        """Another caller's probe batch is out and its answer not in yet."""
        return self._probing and self.quota_unknown()

    def end_probe(self) -> None:
        with self._lock:
            self._probing = False
        self._probed.set()

    def wait_probe(self, timeout: float = _PROBE_WAIT) -> None:
        if self.probing():
            self._probed.wait(timeout)

    async def await_probe(self, most: float = _PROBE_WAIT) -> None:
        waited = 0.0
        while self.probing() and waited < most:
            await _asleep(0.01)
            waited += 0.01

    def _news(
        self,
        headers: Mapping[str, str],
        sent_at: float | None,
        settle: bool,
        blocked: float | None,
        counted: int | None = None,
    ) -> News:
        lt = _int(headers, "x-ratelimit-limit-tokens")
        lr = _int(headers, "x-ratelimit-limit-requests")
        if lt:
            self.limit_tokens = lt
        if lr:
            self.limit_requests = lr
        if sent_at is not None or headers:
            self._heard = True
            self._probed.set()
        return News(
            ticket=sent_at,
            limit_tokens=lt,
            limit_requests=lr,
            remaining_tokens=_int(headers, "x-ratelimit-remaining-tokens"),
            remaining_requests=_int(headers, "x-ratelimit-remaining-requests"),
            ratio=self._ratio,
            counted=counted,
            blocked=blocked,
            settle=settle or not headers,
        )

    def observe(
        self,
        headers: Mapping[str, str],
        sent_at: float | None = None,
        *,
        settle: bool = True,
        blocked: float | None = None,
        counted: int | None = None,
    ) -> None:
        """Re-sync from a response's ``x-ratelimit-*`` headers (``{}`` after a failed request:
        it ends the probe without teaching anything). ``sent_at`` is the request's ticket from
        :meth:`acquire`; ``blocked`` is the ``retry-after`` of a 429, which every sender to the
        deployment waits out; ``counted`` is Azure's token count for the request, when the
        answer gives it (see :meth:`LocalBuckets.report` for how the buckets are corrected).
        ``settle=False`` keeps a probe open until :meth:`calibrate` or :meth:`settle` (the caller
        still has to read the usage that calibrates the estimates)."""
        self.buckets.report(self._news(headers, sent_at, settle, blocked, counted))

    async def aobserve(
        self,
        headers: Mapping[str, str],
        sent_at: float | None = None,
        *,
        settle: bool = True,
        blocked: float | None = None,
        counted: int | None = None,
    ) -> None:
        await self.buckets.areport(self._news(headers, sent_at, settle, blocked, counted))

    def release(self, ticket: float | None) -> None:
        """A request let out with ``ticket`` will have no answer to observe (it was cancelled)."""
        if ticket is None:
            return
        news = News(ticket=ticket, release=True, settle=False)
        if self.buckets.shared:
            asyncio = sys.modules.get("asyncio")  # no asyncio imported: no loop is running
            loop = None
            if asyncio is not None:
                try:
                    loop = asyncio.get_running_loop()
                except RuntimeError:
                    loop = None
            if loop is not None:  # cancelled on an event loop: tell the store off the loop
                _background(loop, self.buckets.areport(news))
                return
        self.buckets.report(news)

    def settle(self) -> None:
        """End the probe: the first answer is in (or failed); concurrent senders may go."""
        self.buckets.settle()

    def calibrate(self, estimated: int, actual: int) -> None:
        """Learn how Azure's token count compares with the offline estimate: the mean ratio of
        recent batches, and a margin of two standard deviations of it (at least 1%), so a batch
        that counts above the mean still fits. Each batch weighs by its estimated tokens: a
        handful of short queries, whose ratio strays far from a corpus's, neither moves the mean
        nor widens the margin the corpus's large batches are reserved with."""
        if estimated > 0 and actual > 0:
            with self._lock:
                samples = self._samples
                samples.append((actual / estimated, float(estimated)))
                total = sum(w for _, w in samples)
                mean = sum(r * w for r, w in samples) / total
                spread = 0.0
                n = len(samples)
                if n > 1:
                    var = sum(w * (r - mean) ** 2 for r, w in samples) / total * n / (n - 1)
                    spread = 2 * var**0.5 / mean
                self._ratio = mean
                self._margin = min(_MAX_MARGIN, max(_MARGIN, spread))
        self.settle()

    def blocked(self, seconds: float) -> None:
        """A 429 asked us to wait ``seconds``: every sender to this deployment waits."""
        self.buckets.report(News(blocked=seconds, ratio=self._ratio, settle=False))

    def cost(self, estimated_tokens: int) -> int:
        """What to reserve for an estimate: Azure's likely count plus the calibration's margin
        (over-reserving costs little, since every response re-syncs the buckets; a rare 429 costs
        one exact retry-after wait)."""
        return max(1, int(estimated_tokens * self._ratio * (1 + self._margin) + 0.5))

    def max_request_tokens(self) -> int | None:
        """The largest token cost one request can have and still fit the bucket."""
        return int(self.limit_tokens * 0.9) if self.limit_tokens else None

    def estimate_budget(self) -> int | None:
        """:meth:`max_request_tokens` in the units of the offline estimate, with the margin."""
        most = self.max_request_tokens()
        return int(most / (self._ratio * (1 + self._margin))) if most else None

    # -- admission -------------------------------------------------------------------------------

    def _ask(self, estimate: int, place: str = "") -> Ask:
        return Ask(
            place=place,
            cost=self.cost(estimate),
            estimate=estimate,
            limit_tokens=self.limit_tokens,
            limit_requests=self.limit_requests,
            ratio=self._ratio if self._samples else None,
            margin=self._margin,
        )

    def _granted(self, grant: Grant, place: str = "") -> tuple[float, float]:
        if grant.wait == 0 and place:
            with self._lock:
                self._pending.pop(place, None)
        if grant.limit_tokens:
            self.limit_tokens = grant.limit_tokens
        if grant.limit_requests:
            self.limit_requests = grant.limit_requests
        if grant.ratio and not self._samples:  # a fleet's calibration, until our own
            with self._lock:
                if not self._samples:
                    self._ratio = grant.ratio
                    self._margin = grant.margin or _MARGIN
        return grant.wait, grant.ticket

    def try_acquire(self, estimate: int, place: str = "") -> tuple[float, float]:
        """Reserve the tokens ``estimate`` is likely to cost and one request if they fit now:
        ``(0, ticket)``; else ``(seconds to wait, 0)`` (``-1``: wait for the probe to come back).
        The non-blocking form of :meth:`acquire`, for callers with their own scheduler;
        ``place`` (from :meth:`place`) queues the caller behind earlier ones that wait."""
        if place and self._behind(place):
            return RECHECK, 0.0
        return self._granted(self.buckets.take(self._ask(estimate, place)), place)

    async def atry_acquire(self, estimate: int, place: str = "") -> tuple[float, float]:
        if place and self._behind(place):
            return RECHECK, 0.0
        return self._granted(await self.buckets.atake(self._ask(estimate, place)), place)

    def _behind(self, place: str) -> bool:
        """Whether a place issued earlier by this pacer still waits (or has not asked yet: a
        batch whose body is still being built): the planned order holds in this process even
        when a later batch reaches the pacer first."""
        with self._lock:
            now = time.monotonic()
            pending = self._pending
            pending[place] = now
            for gone in [p for p, seen in pending.items() if seen < now - STALE]:
                del pending[gone]
            return min(pending, key=issued) != place

    def place(self) -> str:
        """A new place in the line of senders waiting for tokens: the line is ordered by when
        places were issued (wall clock, so a fleet's processes agree), whatever the order in
        which their senders first ask; the embeddings engine takes one per batch as it plans,
        so batches go out in the planned order, the largest first and the remainder last."""
        place = f"{_wall():.6f}/{self._name}-{next(self._places)}"
        with self._lock:
            self._pending[place] = time.monotonic()
        return place

    def acquire(self, estimate: int, place: str = "") -> float:
        """Wait until a request of ``estimate`` tokens (the offline estimate; the pacer applies
        its calibration) fits, reserve it; returns the request's ticket for :meth:`observe`: when
        (the store's clock) it was let out, unique per request. Senders wait their turn
        (``place``: one from :meth:`place`, else a new one)."""
        place = place or self.place()
        notice = WaitNotice()  # tells a listening progress bar why it waits
        while True:
            wait, ticket = self.try_acquire(estimate, place)
            if wait == 0:
                notice.done()
                return ticket
            if wait < 0:
                self.buckets.wait_probe(_PROBE_WAIT)
                continue
            notice.waiting(wait)
            wait = min(wait, RECHECK)
            self.waited += wait
            time.sleep(wait)

    async def aacquire(self, estimate: int, place: str = "") -> float:
        place = place or self.place()
        notice = WaitNotice()
        while True:
            wait, ticket = await self.atry_acquire(estimate, place)
            if wait == 0:
                notice.done()
                return ticket
            if wait < 0:
                await _asleep(0.01)  # the probe is on another task: poll briefly
                continue
            notice.waiting(wait)
            wait = min(wait, RECHECK)
            self.waited += wait
            await _asleep(wait)


async def _asleep(seconds: float) -> None:
    # indirection so tests can run the pacer on a simulated clock
    import asyncio

    await asyncio.sleep(seconds)


_background_tasks: set[Any] = set()


def _background(loop: Any, coro: Any) -> None:
    """Run ``coro`` on ``loop`` without waiting; a failure is logged, not lost."""
    task = loop.create_task(coro)
    _background_tasks.add(task)

    def done(t: Any) -> None:
        _background_tasks.discard(t)
        if not t.cancelled() and t.exception() is not None:
            import logging

            logging.getLogger("azoai.pacing").warning(
                "azoai: the quota store did not record a cancelled request: %s", t.exception()
            )

    task.add_done_callback(done)


# -- one pacer per deployment --------------------------------------------------------------------

_pacers: weakref.WeakKeyDictionary[object, dict[tuple[str, str | None], Pacer]] = (
    weakref.WeakKeyDictionary()
)
_pacers_lock = threading.Lock()


def quota_key(settings: Settings, deployment: str) -> str:
    """What a fleet's store files one deployment's quota under: the endpoint and the deployment
    (two endpoints are two quotas; a gateway's host in front of a resource is its own)."""
    return f"{settings.endpoint.base}|{deployment}"


def store_for(settings: Settings | None) -> QuotaStore | None:
    """The fleet's quota store named by ``settings.quota_store`` (``None``: none configured)."""
    url = getattr(settings, "quota_store", None) if settings is not None else None
    if url is None:
        return None
    from azoai.io.quota_store import store_for as open_store

    return open_store(url)


def pacer_for(owner: object, deployment: str, settings: Settings | None = None) -> Pacer:
    """The quota pacer for one deployment of ``owner`` (a pooled connection: every client on it
    shares its pacers), created on first use and forgotten with the owner. With
    ``settings.quota_store`` set its buckets live in that store, shared with every process that
    names it."""
    store = store_for(settings)
    tag = store.tag if store is not None else None
    with _pacers_lock:
        per = _pacers.get(owner)
        if per is None:
            per = _pacers[owner] = {}
        p = per.get((deployment, tag))
        if p is None:
            buckets = None
            if store is not None and settings is not None:
                buckets = store.buckets(quota_key(settings, deployment))
            p = per[(deployment, tag)] = Pacer(buckets=buckets)
        return p
