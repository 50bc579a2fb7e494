"""The fleet's quota store: each deployment's TPM/RPM buckets and the routes' cool-downs in Redis.

With ``quota_store="redis://host:6379/0"`` (or ``AZOAI_QUOTA_STORE``), every process that names
the same store paces one deployment through one pair of buckets, so N workers on one or several
machines stay under its quota together, and a 429 one of them draws blocks all of them for the
``retry-after`` Azure gave. The policy (calibration, costs, waiting) stays in
:mod:`azoai.pipeline.pacing`; this module only keeps the state, with the same arithmetic as its
:class:`~azoai.pipeline.pacing.LocalBuckets`:

* Each operation is one Lua script that Redis runs atomically (``EVALSHA``, loaded on first use)
  on Redis's own clock (``TIME``), so machines with skewed clocks agree and two workers can never
  both take the last tokens. *Take* refills the buckets, reserves a request's tokens and one
  request when they fit, and returns the wait otherwise (or that a probe is out while no limit is
  known yet); *report* re-syncs the buckets from a response's ``x-ratelimit-*`` headers,
  corrected for every request of the fleet admitted after it (those in flight are listed in the
  store, each with its estimate), and records a 429's block.
* Keys, per endpoint and deployment, in one hash slot (``{...}``) for Redis Cluster:
  ``azoai:quota:{<endpoint>|<deployment>}:state`` (a hash: limits, levels, block, probe,
  shared calibration), ``...:inflight`` and ``...:answered`` (the fleet's requests in flight and
  recently answered); a route target's cool-down is ``azoai:cool:{<endpoint>|<deployment>}``,
  set to expire when the cool-down ends. Every key expires a while after its last use
  (:data:`TTL`, longer while a block lasts), so an idle deployment leaves nothing behind and
  starts with full buckets, as Azure's do after a minute.

The ``redis`` client is imported on first use (``pip install 'azoai[redis]'``); ``redis.asyncio``
serves async callers, with one client per event loop. When the store cannot be reached, or
refuses a command, the call raises :class:`~azoai.errors.QuotaStoreError` naming
``quota_store``: azoai never falls back to pacing each process alone, which would let the
fleet overrun the quota together unnoticed.
"""

from __future__ import annotations

import hashlib
import threading
import weakref
from collections.abc import Sequence
from typing import Any

from pydantic import SecretStr

from azoai.config.quota import shown_store
from azoai.errors import ConfigError, QuotaStoreError
from azoai.io.quota import Ask, Grant, News

__all__ = ["TTL", "RedisBuckets", "RedisQuotaStore", "store_for"]

#: Seconds a deployment's keys outlive their last use (past a minute the buckets are full anyway).
TTL = 180.0
#: Seconds a probe (the first request while no limit is known) may take before another goes.
PROBE_TTL = 20.0
_INFLIGHT_MAX = 120.0
STALE = 1.0  # as azoai.pipeline.pacing.STALE (io cannot import the pipeline)
RECHECK = 0.05
_CONNECT_TIMEOUT = 2.0
_TIMEOUT = 2.0

_COMMON = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local function fmt(x) return string.format('%.6f', x) end
local function num(x) if x then return tonumber(x) end return nil end
-- the token mirror fills up to the limit less what the requests in flight hold (see
-- azoai.pipeline.pacing.LocalBuckets._refill)
local function refill(level, dt, limit, held)
  local top = math.max(0, limit - held)
  if level < top then level = math.min(top, level + dt * limit / 60) end
  return level
end
"""

#: KEYS: state, inflight, line (a sorted set: places by arrival), asked (place -> last ask).
#: ARGV: cost, estimate, seed limit tokens, seed limit requests, ratio ('' none), margin, ttl ms,
#: probe ttl s, place ('' none), stale s, recheck s. Returns {wait, ticket, lt, lr, ratio, margin}.
TAKE = (
    _COMMON
    + """
local s = redis.call('HMGET', KEYS[1], 'lt', 'lr', 'tok', 'req', 'upd', 'blk', 'probe', 'last', 'ratio', 'margin', 'held')
local lt = num(s[1]) or 0
local lr = num(s[2]) or 0
if lt == 0 and tonumber(ARGV[3]) > 0 then lt = tonumber(ARGV[3]) end
if lr == 0 and tonumber(ARGV[4]) > 0 then lr = tonumber(ARGV[4]) end
local ratio = s[9] or ''
local margin = s[10] or ''
local ttl = tonumber(ARGV[7])
local taken = 0
local function reply(wait, ticket)
  return {fmt(wait), ticket, tostring(lt), tostring(lr), ratio, margin}
end
local function let_out()
  local ticket = now
  local last = num(s[8]) or 0
  if ticket <= last then ticket = last + 0.000001 end
  local id = fmt(ticket)
  redis.call('HSET', KEYS[2], id, ARGV[2] .. ' ' .. taken)
  redis.call('HSET', KEYS[1], 'last', id, 'held', fmt((num(s[11]) or 0) + taken))
  if ARGV[5] ~= '' then redis.call('HSET', KEYS[1], 'ratio', ARGV[5], 'margin', ARGV[6]) end
  for i = 1, 4 do redis.call('PEXPIRE', KEYS[i], ttl) end
  return id
end
if lt == 0 and lr == 0 then
  if s[7] ~= 'done' then
    local out = num(s[7])
    if out and out > now then return reply(-1, '') end
    redis.call('HSET', KEYS[1], 'probe', fmt(now + tonumber(ARGV[8])))
  end
  return reply(0, let_out())
end
local blk = num(s[6]) or 0
if blk > now then return reply(blk - now, '') end
local place = ARGV[9]
if place ~= '' then
  -- in the order places were issued: while an earlier sender waits for more tokens, later
  -- ones wait behind it
  redis.call('ZADD', KEYS[3], 'NX', tonumber(string.match(place, '^[^/]+')) or now, place)
  redis.call('HSET', KEYS[4], place, fmt(now))
  redis.call('PEXPIRE', KEYS[3], ttl)
  redis.call('PEXPIRE', KEYS[4], ttl)
  while true do
    local head = redis.call('ZRANGE', KEYS[3], 0, 0)[1]
    if not head then break end
    if tonumber(redis.call('HGET', KEYS[4], head) or '0') >= now - tonumber(ARGV[10]) then
      if head ~= place then return reply(tonumber(ARGV[11]), '') end
      break
    end
    redis.call('ZREM', KEYS[3], head)
    redis.call('HDEL', KEYS[4], head)
  end
end
local upd = num(s[5]) or now
local dt = math.max(0, now - upd)
local tok = num(s[3])
local req = num(s[4])
if lt > 0 then tok = refill(tok or lt, dt, lt, num(s[11]) or 0) end
if lr > 0 then req = math.min(lr, (req or lr) + dt * lr / 60) end
local cost = tonumber(ARGV[1])
local wait = 0
if lt > 0 then
  local need = math.min(cost, lt)
  if tok + 0.5 < need then wait = math.max(wait, (need - tok) / (lt / 60)) end
end
if lr > 0 and req + 0.0005 < 1 then wait = math.max(wait, (1 - req) / (lr / 60)) end
if wait > 0 then return reply(math.max(wait, 0.001), '') end
local fields = {'upd', fmt(now)}
if place ~= '' then
  redis.call('ZREM', KEYS[3], place)
  redis.call('HDEL', KEYS[4], place)
end
if lt > 0 then
  taken = math.min(cost, tok)
  tok = tok - taken
  table.insert(fields, 'lt'); table.insert(fields, tostring(lt))
  table.insert(fields, 'tok'); table.insert(fields, fmt(tok))
end
if lr > 0 then
  req = req - 1
  table.insert(fields, 'lr'); table.insert(fields, tostring(lr))
  table.insert(fields, 'req'); table.insert(fields, fmt(req))
end
redis.call('HSET', KEYS[1], unpack(fields))
return reply(0, let_out())
"""
)

#: KEYS: state, inflight, answered. ARGV: ticket (''), lt, lr, rt, rr ('' absent), ratio,
#: blocked seconds (''), release ('1'), ttl ms, in-flight max s, counted (''). Returns {lt, lr}.
REPORT = (
    _COMMON
    + """
local id = ARGV[1]
local sent = num(id ~= '' and id or nil)
local maxage = tonumber(ARGV[10])
local ratio = tonumber(ARGV[6]) or 1
local counted = num(ARGV[11] ~= '' and ARGV[11] or nil)
local refund = 0
local freed = 0
if sent then
  local entry = redis.call('HGET', KEYS[2], id)
  if entry then
    redis.call('HDEL', KEYS[2], id)
    local sp = string.find(entry, ' ')
    local est = tonumber(string.sub(entry, 1, sp - 1))
    local taken = tonumber(string.sub(entry, sp + 1))
    freed = taken
    if counted and taken > 0 then refund = taken - counted end
    if ARGV[8] ~= '1' then
      redis.call('HSET', KEYS[3], id, fmt(now) .. ' ' .. fmt(counted or est * ratio))
    end
  end
end
local s = redis.call('HMGET', KEYS[1], 'lt', 'lr', 'tok', 'req', 'upd', 'blk', 'probe', 'held')
local held = num(s[8]) or 0
if ARGV[8] == '1' then
  if freed > 0 then redis.call('HSET', KEYS[1], 'held', fmt(math.max(0, held - freed))) end
  return {'', ''}
end
local lt = num(s[1]) or 0
local lr = num(s[2]) or 0
local upd = num(s[5]) or now
local dt = math.max(0, now - upd)
local tok = num(s[3])
local req = num(s[4])
if lt > 0 then tok = math.max(0, math.min(lt, refill(tok or lt, dt, lt, held) + refund)) end
held = math.max(0, held - freed)
if lr > 0 then req = math.min(lr, (req or lr) + dt * lr / 60) end
local nlt = num(ARGV[2] ~= '' and ARGV[2] or nil)
local nlr = num(ARGV[3] ~= '' and ARGV[3] or nil)
if nlt and nlt > 0 then
  if lt == 0 then tok = 0 end
  lt = nlt
  tok = math.min(lt, tok)
end
if nlr and nlr > 0 then
  if lr == 0 then req = 0 end
  lr = nlr
  req = math.min(lr, req)
end
local rt = num(ARGV[4] ~= '' and ARGV[4] or nil)
local rr = num(ARGV[5] ~= '' and ARGV[5] or nil)
local later_t, later_r = 0, 0
local inflight = redis.call('HGETALL', KEYS[2])
for i = 1, #inflight, 2 do
  local at = tonumber(inflight[i])
  if now - at >= maxage then
    redis.call('HDEL', KEYS[2], inflight[i])
    local sp = string.find(inflight[i + 1], ' ')
    held = math.max(0, held - tonumber(string.sub(inflight[i + 1], sp + 1)))
  elseif sent then
    local sp = string.find(inflight[i + 1], ' ')
    local held = tonumber(string.sub(inflight[i + 1], sp + 1))
    if held <= 0 then held = tonumber(string.sub(inflight[i + 1], 1, sp - 1)) * ratio end
    later_t = later_t + held
    later_r = later_r + 1
  end
end
local answered = redis.call('HGETALL', KEYS[3])
for i = 1, #answered, 2 do
  local at = tonumber(answered[i])
  local sp = string.find(answered[i + 1], ' ')
  local answered_at = tonumber(string.sub(answered[i + 1], 1, sp - 1))
  if answered_at < now - maxage then
    redis.call('HDEL', KEYS[3], answered[i])
  elseif sent and (at > sent or (at < sent and sent < answered_at)) then
    later_t = later_t + tonumber(string.sub(answered[i + 1], sp + 1))
    later_r = later_r + 1
  end
end
local function resync(mirror, remaining, later, limit)
  local low = math.max(0, math.min(limit, remaining - later))
  if not sent then return low end
  local high = math.max(low, math.min(limit, remaining + math.max(0, now - sent) * limit / 60))
  return math.max(low, math.min(mirror, high))
end
if rt and lt > 0 then tok = resync(tok, rt, later_t, lt) end
if rr and lr > 0 then req = resync(req, rr, later_r, lr) end
local blk = num(s[6]) or 0
local blocked = num(ARGV[7] ~= '' and ARGV[7] or nil)
if blocked then blk = math.max(blk, now + blocked) end
local fields = {'upd', fmt(now), 'blk', fmt(blk), 'held', fmt(held)}
if lt > 0 then
  table.insert(fields, 'lt'); table.insert(fields, tostring(lt))
  table.insert(fields, 'tok'); table.insert(fields, fmt(tok))
end
if lr > 0 then
  table.insert(fields, 'lr'); table.insert(fields, tostring(lr))
  table.insert(fields, 'req'); table.insert(fields, fmt(req))
end
if s[7] and s[7] ~= 'done' then table.insert(fields, 'probe'); table.insert(fields, 'done') end
redis.call('HSET', KEYS[1], unpack(fields))
local ttl = math.max(tonumber(ARGV[9]), math.floor((blk - now) * 1000) + 60000)
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('PEXPIRE', KEYS[2], ttl)
redis.call('PEXPIRE', KEYS[3], ttl)
return {tostring(lt), tostring(lr)}
"""
)

#: KEYS: the cool-down key. ARGV: milliseconds. A longer cool-down already set is kept.
COOL = """
local ms = tonumber(ARGV[1])
if redis.call('PTTL', KEYS[1]) < ms then redis.call('SET', KEYS[1], '1', 'PX', ms) end
return 1
"""


def _redis() -> Any:
    try:
        import redis
        import redis.asyncio
    except ImportError:
        raise ConfigError(
            "quota_store needs the redis client, which is not installed",
            setting="quota_store",
            fix="pip install 'azoai[redis]', or unset quota_store (AZOAI_QUOTA_STORE)",
        ) from None
    return redis


def _tag(key: str) -> str:
    """A key part safe inside a Redis Cluster hash tag."""
    return key.replace("{", "(").replace("}", ")")


def _ticket(ticket: float | None) -> str:
    return "" if ticket is None else f"{ticket:.6f}"


def _opt(value: int | float | None) -> str:
    return "" if value is None else repr(value)


class RedisQuotaStore:
    """One Redis server (or cluster endpoint) as a fleet's quota store; see the module
    docstring. Built by :func:`store_for`, one per URL per process."""

    def __init__(self, url: SecretStr) -> None:
        self._url = url
        self.shown = shown_store(url)
        #: Names this store in pacer caches without the URL (which may hold a password).
        self.tag = hashlib.sha256(url.get_secret_value().encode()).hexdigest()[:16]
        self._lock = threading.Lock()
        self._sync: tuple[Any, Any, Any, Any] | None = None
        self._async: weakref.WeakKeyDictionary[Any, tuple[Any, Any, Any, Any]] = (
            weakref.WeakKeyDictionary()
        )

    # -- clients ---------------------------------------------------------------------------------

    def _options(self, retry: Any, backoff: Any) -> dict[str, Any]:
        return {
            "socket_connect_timeout": _CONNECT_TIMEOUT,
            "socket_timeout": _TIMEOUT,
            # a few quick tries, then a typed error: an unreachable store must not stall a
            # worker for long before it says so
            "retry": retry(backoff.ExponentialBackoff(cap=0.25, base=0.02), 3),
            "decode_responses": True,
        }

    def _client(self) -> tuple[Any, Any, Any, Any]:
        """The sync client and its scripts (take, report, cool)."""
        sync = self._sync
        if sync is None:
            redis = _redis()
            from redis import backoff
            from redis.retry import Retry

            with self._lock:
                if self._sync is None:
                    client = redis.Redis.from_url(
                        self._url.get_secret_value(), **self._options(Retry, backoff)
                    )
                    self._sync = (
                        client,
                        client.register_script(TAKE),
                        client.register_script(REPORT),
                        client.register_script(COOL),
                    )
                sync = self._sync
        return sync

    def _aclient(self) -> tuple[Any, Any, Any, Any]:
        """The async client for the running event loop, and its scripts (``redis.asyncio``
        connections belong to the loop that opened them; a closed loop's client is dropped)."""
        import asyncio

        loop = asyncio.get_running_loop()
        entry = self._async.get(loop)
        if entry is None:
            redis = _redis()
            from redis import backoff
            from redis.asyncio.retry import Retry

            for old in [lp for lp in list(self._async.keys()) if lp.is_closed()]:
                self._async.pop(old, None)
            client = redis.asyncio.Redis.from_url(
                self._url.get_secret_value(), **self._options(Retry, backoff)
            )
            entry = self._async.setdefault(
                loop,
                (
                    client,
                    client.register_script(TAKE),
                    client.register_script(REPORT),
                    client.register_script(COOL),
                ),
            )
        return entry

    def _failed(self, exc: BaseException) -> QuotaStoreError:
        detail = str(exc)
        secret = self._url.get_secret_value()
        password = secret.rpartition("@")[0].rpartition(":")[2] if "@" in secret else ""
        for hidden in (secret, password):
            if hidden:
                detail = detail.replace(hidden, "***")
        return QuotaStoreError(
            f"the quota store {self.shown} (setting quota_store) failed: "
            f"{type(exc).__name__}: {detail}",
            fix="check that Redis runs there and the URL is right, or unset quota_store "
            "(AZOAI_QUOTA_STORE) to pace each process on its own",
        )

    def _call(self, index: int, keys: list[str], args: list[str]) -> Any:
        try:
            return self._client()[index](keys=keys, args=args)
        except (ConfigError, QuotaStoreError):
            raise
        except Exception as exc:  # redis.RedisError and OSError, whatever the client version
            raise self._failed(exc) from None

    async def _acall(self, index: int, keys: list[str], args: list[str]) -> Any:
        try:
            return await self._aclient()[index](keys=keys, args=args)
        except (ConfigError, QuotaStoreError):
            raise
        except Exception as exc:
            raise self._failed(exc) from None

    # -- the QuotaStore interface ----------------------------------------------------------------

    def buckets(self, key: str) -> RedisBuckets:
        return RedisBuckets(self, key)

    @staticmethod
    def _cool_key(key: str) -> str:
        return f"azoai:cool:{{{_tag(key)}}}"

    def cool(self, key: str, seconds: float) -> None:
        self._call(3, [self._cool_key(key)], [str(max(1, int(seconds * 1000)))])

    async def acool(self, key: str, seconds: float) -> None:
        await self._acall(3, [self._cool_key(key)], [str(max(1, int(seconds * 1000)))])

    def cooling(self, keys: Sequence[str]) -> list[float]:
        try:
            pipe = self._client()[0].pipeline(transaction=False)
            for key in keys:
                pipe.pttl(self._cool_key(key))
            return [max(0, int(ms)) / 1000.0 for ms in pipe.execute()]
        except (ConfigError, QuotaStoreError):
            raise
        except Exception as exc:
            raise self._failed(exc) from None

    async def acooling(self, keys: Sequence[str]) -> list[float]:
        try:
            pipe = self._aclient()[0].pipeline(transaction=False)
            for key in keys:
                pipe.pttl(self._cool_key(key))
            return [max(0, int(ms)) / 1000.0 for ms in await pipe.execute()]
        except (ConfigError, QuotaStoreError):
            raise
        except Exception as exc:
            raise self._failed(exc) from None


class RedisBuckets:
    """One deployment's buckets in a :class:`RedisQuotaStore` (a
    :class:`~azoai.pipeline.pacing.Buckets`)."""

    shared = True

    def __init__(self, store: RedisQuotaStore, key: str) -> None:
        self.store = store
        base = f"azoai:quota:{{{_tag(key)}}}"
        state, inflight = f"{base}:state", f"{base}:inflight"
        self._take_keys = [state, inflight, f"{base}:line", f"{base}:asked"]
        self._report_keys = [state, inflight, f"{base}:answered"]

    def _take_args(self, ask: Ask) -> list[str]:
        return [
            str(ask.cost),
            str(ask.estimate),
            str(ask.limit_tokens or 0),
            str(ask.limit_requests or 0),
            _opt(ask.ratio),
            repr(ask.margin),
            str(int(TTL * 1000)),
            repr(PROBE_TTL),
            ask.place,
            repr(STALE),
            repr(RECHECK),
        ]

    @staticmethod
    def _grant(reply: Any) -> Grant:
        wait, ticket, lt, lr, ratio, margin = reply
        return Grant(
            wait=float(wait),
            ticket=float(ticket) if ticket else 0.0,
            limit_tokens=int(float(lt)) or None,
            limit_requests=int(float(lr)) or None,
            ratio=float(ratio) if ratio else None,
            margin=float(margin) if margin else None,
        )

    def _report_args(self, news: News) -> list[str]:
        return [
            _ticket(news.ticket),
            _opt(news.limit_tokens),
            _opt(news.limit_requests),
            _opt(news.remaining_tokens),
            _opt(news.remaining_requests),
            repr(news.ratio),
            _opt(news.blocked),
            "1" if news.release else "",
            str(int(TTL * 1000)),
            repr(_INFLIGHT_MAX),
            _opt(news.counted),
        ]

    def take(self, ask: Ask) -> Grant:
        return self._grant(self.store._call(1, self._take_keys, self._take_args(ask)))

    async def atake(self, ask: Ask) -> Grant:
        return self._grant(await self.store._acall(1, self._take_keys, self._take_args(ask)))

    def report(self, news: News) -> None:
        self.store._call(2, self._report_keys, self._report_args(news))

    async def areport(self, news: News) -> None:
        await self.store._acall(2, self._report_keys, self._report_args(news))

    def settle(self) -> None:
        pass  # the store ends a probe when its answer is reported

    def wait_probe(self, timeout: float) -> None:
        import time

        time.sleep(min(timeout, 0.02))  # another process may be probing: look again soon


_stores: dict[str, RedisQuotaStore] = {}
_stores_lock = threading.Lock()


def store_for(url: SecretStr) -> RedisQuotaStore:
    """The store for ``url`` in this process (one client pool per URL, made on first use)."""
    with _stores_lock:
        tag = hashlib.sha256(url.get_secret_value().encode()).hexdigest()
        store = _stores.get(tag)
        if store is None:
            store = _stores[tag] = RedisQuotaStore(url)
        return store
