"""Everything an emulator remembers between requests, behind one lock.

The server thread's handlers and the test thread (scripting replies, injecting faults, reading
the request log) share this object, so every mutable part is read and changed under ``lock``.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from azoai_emulator.batch_state import BatchState
from azoai_emulator.config import EmulatorDeployment
from azoai_emulator.entra import EntraDirectory
from azoai_emulator.faults import AppliedFaults, Fault, FaultBook
from azoai_emulator.fine_tuning_state import FineTuningState
from azoai_emulator.identity import TokenIssuer
from azoai_emulator.model import Reply, Turn
from azoai_emulator.protocol import RequestRecord
from azoai_emulator.ratelimit import RateLimiter

__all__ = ["EmulatorState", "PromptCache", "StopServing", "StoredResponse"]

_SCRIPT_KEYS = frozenset({"content", "tool_calls", "finish_reason"})
_WAIT_SLICE = 0.05


class StopServing(Exception):
    """The emulator is stopping: drop the request instead of finishing it."""


class PromptCache:
    """Azure's prompt caching, approximated: prompts of at least 1,024 tokens are cached in
    128-token steps; a later prompt sharing such a prefix reports it as ``cached_tokens``."""

    FIRST = 1024
    STEP = 128
    LIMIT = 200_000

    def __init__(self) -> None:
        self._seen: set[tuple[str, str]] = set()

    def lookup_and_store(self, deployment: str, tokens: Sequence[str]) -> int:
        if len(tokens) < self.FIRST:
            return 0
        digest = hashlib.blake2b(digest_size=16)
        prefixes: list[tuple[int, str]] = []
        for i, token in enumerate(tokens, start=1):
            digest.update(token.encode("utf-8", "replace") + b"\x00")
            if i >= self.FIRST and (i - self.FIRST) % self.STEP == 0:
                prefixes.append((i, digest.copy().hexdigest()))
        cached = 0
        for length, key in prefixes:
            if (deployment, key) in self._seen:
                cached = length
        if len(self._seen) > self.LIMIT:
            self._seen.clear()
        self._seen.update((deployment, key) for _, key in prefixes)
        return cached


@dataclass(slots=True)
class StoredResponse:
    """A Responses API response kept for ``previous_response_id`` and ``GET /responses/{id}``."""

    body: dict[str, Any]
    history: list[Turn]  # the conversation, including this response's output
    input_items: list[dict[str, Any]]
    deployment: str


@dataclass
class EmulatorState:
    deployments: dict[str, EmulatorDeployment]
    api_key: str
    identity_header: str
    region: str
    subscription_id: str
    resource_group: str
    account: str
    arm_page_size: int
    clock: Callable[[], float] = time.time
    token_lifetime: float = 3600.0
    lock: threading.Lock = field(default_factory=threading.Lock)
    faults: FaultBook = field(default_factory=FaultBook)
    scripts: dict[str, deque[Reply]] = field(default_factory=dict)
    requests: list[RequestRecord] = field(default_factory=list)
    responses: dict[str, StoredResponse] = field(default_factory=dict)
    prompt_cache: PromptCache = field(default_factory=PromptCache)
    issuer: TokenIssuer = field(init=False)
    limiter: RateLimiter = field(init=False)
    #: Set by the server: closes the TCP connection of the request whose ASGI scope is given.
    drop_connection: Callable[[Mapping[str, Any]], bool] | None = None
    #: Set while the server stops: simulated waits end early and their requests are dropped.
    stopping: threading.Event = field(default_factory=threading.Event)
    #: Seconds a Responses WebSocket may live before ``websocket_connection_limit_reached``.
    ws_max_age: float = 3600.0
    #: Seconds every HTTP inference request and every WebSocket handshake waits: the cost of a
    #: new request through Azure's front end. Messages on an open WebSocket do not pay it.
    request_latency: float = 0.0
    #: Open Responses WebSockets: id -> (the server's event loop, the connection's ASGI scope).
    websockets: dict[int, tuple[asyncio.AbstractEventLoop, Mapping[str, Any]]] = field(
        default_factory=dict
    )
    #: How many Responses WebSockets were accepted since the start (or the last reset).
    websockets_opened: int = 0
    #: The Entra token service's app registrations and federated identity credentials.
    entra: EntraDirectory = field(default_factory=EntraDirectory)
    #: Seals reasoning items' ``encrypted_content`` (``include: ["reasoning.encrypted_content"]``)
    #: so that only content this emulator issued is accepted back.
    reasoning_key: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    #: Foundry project names served below ``/api/projects/``; ``None``: any name.
    projects: frozenset[str] | None = None
    #: Files and batches (azoai_emulator.api_files, api_batches).
    batch: BatchState = field(default_factory=BatchState)
    #: Fine-tuning jobs and their speed (azoai_emulator.api_fine_tuning).
    fine_tuning: FineTuningState = field(default_factory=FineTuningState)

    def __post_init__(self) -> None:
        if self.arm_page_size < 1:
            raise ValueError("arm_page_size must be >= 1")
        if self.ws_max_age <= 0:
            raise ValueError("ws_max_age must be > 0 seconds")
        if self.request_latency < 0:
            raise ValueError("request_latency must be >= 0 seconds")
        self.issuer = TokenIssuer(clock=self.clock, lifetime=self.token_lifetime)
        self.limiter = RateLimiter(self.clock)

    async def wait(self, seconds: float) -> None:
        """A simulated delay (latency, token pacing). Raises :class:`StopServing` when the
        emulator stops meanwhile, so stopping never waits for simulated time."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            if self.stopping.is_set():
                raise StopServing()
            await asyncio.sleep(min(left, _WAIT_SLICE))
        if self.stopping.is_set():
            raise StopServing()

    def reset(self) -> None:
        """Forget requests, faults, scripted replies, stored responses and spent quota."""
        with self.lock:
            self.requests.clear()
            self.faults.clear()
            self.scripts.clear()
            self.responses.clear()
            self.websockets_opened = len(self.websockets)
        self.limiter.reset()
        self.batch.reset()
        self.fine_tuning.reset()

    # --- deployments ----------------------------------------------------------------------------

    def deployment(self, name: str) -> EmulatorDeployment | None:
        with self.lock:
            return self.deployments.get(name)

    def all_deployments(self) -> list[EmulatorDeployment]:
        with self.lock:
            return list(self.deployments.values())

    def put_deployment(self, deployment: EmulatorDeployment) -> None:
        with self.lock:
            self.deployments[deployment.name] = deployment

    def remove_deployment(self, name: str) -> None:
        with self.lock:
            if self.deployments.pop(name, None) is None:
                raise KeyError(f"no deployment named {name!r}")
            self.scripts.pop(name, None)
            self.faults.clear(name)

    def _require(self, name: str, *, allow_all: bool = False) -> None:
        if not (allow_all and name == "*") and name not in self.deployments:
            known = ", ".join(sorted(self.deployments)) or "none"
            raise KeyError(f"no deployment named {name!r} (deployments: {known})")

    # --- scripted replies -----------------------------------------------------------------------

    def script(self, deployment: str, replies: Iterable[Mapping[str, Any] | str]) -> None:
        parsed = []
        for entry in replies:
            if isinstance(entry, str):
                entry = {"content": entry}
            unknown = set(entry) - _SCRIPT_KEYS
            if unknown:
                raise ValueError(
                    f"scripted reply has unknown key(s) {', '.join(sorted(unknown))}; use content, tool_calls, finish_reason"
                )
            if "content" not in entry and "tool_calls" not in entry:
                raise ValueError("a scripted reply needs content or tool_calls")
            for call in entry.get("tool_calls") or ():
                if not isinstance(call, Mapping) or "name" not in call:
                    raise ValueError("each scripted tool call needs a name (and arguments)")
            parsed.append(Reply.from_script(entry))
        with self.lock:
            self._require(deployment)
            self.scripts.setdefault(deployment, deque()).extend(parsed)

    def next_scripted(self, deployment: str) -> Reply | None:
        with self.lock:
            queue = self.scripts.get(deployment)
            return queue.popleft() if queue else None

    # --- faults ---------------------------------------------------------------------------------

    def inject(self, deployment: str, fault: Fault) -> None:
        with self.lock:
            self._require(deployment, allow_all=True)
            self.faults.add(deployment, fault)

    def clear_faults(self, deployment: str | None = None) -> None:
        with self.lock:
            self.faults.clear(deployment)

    def take_faults(
        self, deployment: str, *, operation: str, stream: bool, extra: Iterable[Fault]
    ) -> AppliedFaults:
        with self.lock:
            return self.faults.take(deployment, operation=operation, stream=stream, extra=extra)

    def is_paused(self, deployment: str) -> bool:
        with self.lock:
            return self.faults.paused(deployment)

    # --- request log ----------------------------------------------------------------------------

    def log(self, record: RequestRecord) -> None:
        with self.lock:
            self.requests.append(record)

    def logged(self) -> list[RequestRecord]:
        with self.lock:
            return list(self.requests)

    def clear_log(self) -> None:
        with self.lock:
            self.requests.clear()

    # --- WebSockets --------------------------------------------------------------------------------

    def websocket_opened(self, key: int, scope: Mapping[str, Any]) -> None:
        with self.lock:
            self.websockets[key] = (asyncio.get_running_loop(), scope)
            self.websockets_opened += 1

    def websocket_closed(self, key: int) -> None:
        with self.lock:
            self.websockets.pop(key, None)

    def open_websockets(self) -> list[tuple[asyncio.AbstractEventLoop, Mapping[str, Any]]]:
        with self.lock:
            return list(self.websockets.values())

    # --- prompt cache and Responses store ---------------------------------------------------------

    def cached_tokens(self, deployment: str, tokens: Sequence[str]) -> int:
        with self.lock:
            return self.prompt_cache.lookup_and_store(deployment, tokens)

    def store_response(self, response_id: str, stored: StoredResponse) -> None:
        with self.lock:
            self.responses[response_id] = stored

    def stored_response(self, response_id: str) -> StoredResponse | None:
        with self.lock:
            return self.responses.get(response_id)

    def delete_response(self, response_id: str) -> bool:
        with self.lock:
            return self.responses.pop(response_id, None) is not None
