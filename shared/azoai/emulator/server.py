"""The :class:`Emulator`: the app served by uvicorn on a background thread on ``127.0.0.1``.

Starting binds the socket first (so the port is known at once, even with ``port=0``), then runs
uvicorn on its own thread and event loop and returns when it accepts connections; stopping asks
uvicorn to exit, joins the thread and closes the socket. Both take a fraction of a second.
starlette and uvicorn are imported only by :meth:`Emulator.start`, so configuring an emulator
(and ``import azoai.emulator``) works without them.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from azoai.emulator.config import (
    DEFAULT_ACCOUNT,
    DEFAULT_API_KEY,
    DEFAULT_DEPLOYMENTS,
    DEFAULT_IDENTITY_HEADER,
    DEFAULT_REGION,
    DEFAULT_RESOURCE_GROUP,
    DEFAULT_SUBSCRIPTION_ID,
    EmulatorConfig,
    EmulatorDeployment,
    load_config,
)
from azoai.emulator.faults import Fault
from azoai.emulator.identity import DEFAULT_AUDIENCE
from azoai.emulator.protocol import RequestRecord
from azoai.emulator.state import EmulatorState

__all__ = ["Emulator"]

_START_TIMEOUT = 10.0
_STOP_TIMEOUT = 5.0


class _DenialLogFilter(logging.Filter):
    """uvicorn's sans-I/O WebSocket protocol logs an error after every handshake the app refused
    with an HTTP response (the emulator's 401s), although that is a completed exchange."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "returned without completing handshake" not in record.getMessage()


_DENIAL_FILTER = _DenialLogFilter()


class Emulator:
    """A local Azure OpenAI resource. Use as a context manager, or :meth:`start` / :meth:`stop`::

        with Emulator() as emu:
            client = AzureOpenAI(azure_endpoint=emu.endpoint, api_key=emu.api_key, api_version="2024-10-21")

    ``deployments`` default to :data:`~azoai.emulator.DEFAULT_DEPLOYMENTS`; ``token_lifetime`` is
    the lifetime of Entra tokens it issues; ``port=0`` picks a free port; ``clock`` (epoch
    seconds) drives token expiry, the rate-limit buckets and WebSocket ages, so tests can control
    time; ``ws_max_age`` is how long a Responses WebSocket lives before
    ``websocket_connection_limit_reached`` (Azure: 60 minutes). ``request_latency`` delays every
    HTTP inference request and every WebSocket handshake (a new request's trip through Azure's
    front end), but not the messages on an open WebSocket; a deployment's ``latency`` delays
    every response, whichever the transport.
    """

    def __init__(
        self,
        deployments: Iterable[EmulatorDeployment] | None = None,
        *,
        api_key: str = DEFAULT_API_KEY,
        token_lifetime: float = 3600.0,
        port: int = 0,
        host: str = "127.0.0.1",
        region: str = DEFAULT_REGION,
        arm_page_size: int = 100,
        identity_header: str = DEFAULT_IDENTITY_HEADER,
        subscription_id: str = DEFAULT_SUBSCRIPTION_ID,
        resource_group: str = DEFAULT_RESOURCE_GROUP,
        account: str = DEFAULT_ACCOUNT,
        clock: Callable[[], float] | None = None,
        ws_max_age: float = 3600.0,
        request_latency: float = 0.0,
    ) -> None:
        chosen = tuple(DEFAULT_DEPLOYMENTS if deployments is None else deployments)
        names = [d.name for d in chosen]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate deployment names in {names}")
        if not api_key:
            raise ValueError("api_key must not be empty")
        self._host = host
        self._requested_port = port
        self._port: int | None = None
        self._state = EmulatorState(
            deployments={d.name: d for d in chosen},
            api_key=api_key,
            identity_header=identity_header,
            region=region,
            subscription_id=subscription_id,
            resource_group=resource_group,
            account=account,
            arm_page_size=arm_page_size,
            clock=clock or time.time,
            token_lifetime=token_lifetime,
            ws_max_age=ws_max_age,
            request_latency=request_latency,
        )
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    @classmethod
    def from_config(cls, config: EmulatorConfig | str | Path, **overrides: Any) -> Emulator:
        """An emulator from an :class:`EmulatorConfig` or a TOML file (see :mod:`.config`)."""
        if not isinstance(config, EmulatorConfig):
            config = load_config(config)
        return cls(**{**config.emulator_kwargs(), **overrides})

    # --- lifecycle ------------------------------------------------------------------------------

    def start(self) -> Self:
        """Serve on a background thread; returns once connections are accepted."""
        if self._thread is not None:
            raise RuntimeError("the emulator is already running")
        try:
            import uvicorn

            from azoai.emulator.app import build_app
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError(
                "the emulator needs starlette and uvicorn: pip install 'azoai[emulator]'"
            ) from exc
        # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets whose proto says TCP;
        # without it, Nagle's algorithm and delayed ACKs hold every second write back ~40 ms.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self._host, self._requested_port))
        except OSError:
            sock.close()
            raise
        self._port = sock.getsockname()[1]
        logging.getLogger("uvicorn.error").addFilter(_DENIAL_FILTER)  # idempotent
        config = uvicorn.Config(
            build_app(self._state),
            loop="asyncio",
            http="h11",
            ws="websockets-sansio",
            lifespan="off",
            log_config=None,
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=1,
        )
        server = uvicorn.Server(config)
        self._server = server
        self._error = None
        self._state.drop_connection = self._drop_connection
        thread = threading.Thread(
            target=self._run, args=(server, sock), name=f"azoai-emulator:{self._port}", daemon=True
        )
        self._thread = thread
        thread.start()
        deadline = time.monotonic() + _START_TIMEOUT
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the emulator did not start: {self._error!r}")
            time.sleep(0.002)
        return self

    def _run(self, server: Any, sock: socket.socket) -> None:
        try:
            server.run(sockets=[sock])
        except BaseException as exc:  # reported by start(); a thread must not raise
            self._error = exc
        finally:
            sock.close()

    def stop(self) -> None:
        """Stop serving and join the thread. Safe to call twice."""
        server, thread = self._server, self._thread
        if thread is None:
            return
        self._state.stopping.set()  # simulated waits end and drop their connections
        server.should_exit = True
        thread.join(timeout=_STOP_TIMEOUT)
        if thread.is_alive():
            server.force_exit = True
            thread.join(timeout=_STOP_TIMEOUT)
        self._thread = None
        self._server = None
        self._state.drop_connection = None
        self._state.stopping.clear()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _drop_connection(self, scope: Mapping[str, Any]) -> bool:
        """Close the TCP connection serving ``scope`` (runs on the server's event loop)."""
        server = self._server
        client = scope.get("client")
        if server is None or client is None:
            return False
        for connection in list(server.server_state.connections):
            if getattr(connection, "client", None) == tuple(client):
                connection.transport.close()
                return True
        return False

    # --- WebSockets -----------------------------------------------------------------------------

    @property
    def websockets_open(self) -> int:
        """Responses WebSockets open right now."""
        return len(self._state.open_websockets())

    @property
    def websockets_opened(self) -> int:
        """Responses WebSockets accepted since the start (or the last :meth:`reset`)."""
        return self._state.websockets_opened

    def drop_websockets(self, timeout: float = 5.0) -> int:
        """Close every open Responses WebSocket's TCP connection without a close frame (a
        network drop), and wait until the server has let go of them. Returns how many."""
        sockets = self._state.open_websockets()
        dropper = self._state.drop_connection
        if dropper is not None:
            for loop, scope in sockets:
                loop.call_soon_threadsafe(dropper, scope)
        deadline = time.monotonic() + timeout
        while self._state.open_websockets() and time.monotonic() < deadline:
            time.sleep(0.005)
        return len(sockets)

    # --- where to connect -----------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the emulator has not been started")
        return self._port

    @property
    def endpoint(self) -> str:
        """The resource endpoint, e.g. ``http://127.0.0.1:8123`` (clients append ``/openai/...``)."""
        return f"http://{self._host}:{self.port}"

    @property
    def v1_base_url(self) -> str:
        """``base_url`` for the plain OpenAI client: ``{endpoint}/openai/v1/``."""
        return f"{self.endpoint}/openai/v1/"

    @property
    def api_key(self) -> str:
        return self._state.api_key

    @property
    def identity_endpoint(self) -> str:
        """The App Service token endpoint (set ``IDENTITY_ENDPOINT`` to it)."""
        return f"{self.endpoint}/msi/token"

    @property
    def identity_header(self) -> str:
        """The secret the App Service endpoint expects (set ``IDENTITY_HEADER`` to it)."""
        return self._state.identity_header

    @property
    def imds_endpoint(self) -> str:
        """The IMDS host (set ``AZURE_POD_IDENTITY_AUTHORITY_HOST`` to it)."""
        return self.endpoint

    @property
    def arm_endpoint(self) -> str:
        """The management API host (the same server)."""
        return self.endpoint

    @property
    def subscription_id(self) -> str:
        return self._state.subscription_id

    @property
    def resource_group(self) -> str:
        return self._state.resource_group

    @property
    def account(self) -> str:
        return self._state.account

    @property
    def region(self) -> str:
        return self._state.region

    # --- deployments ----------------------------------------------------------------------------

    @property
    def deployments(self) -> tuple[EmulatorDeployment, ...]:
        return tuple(self._state.all_deployments())

    def add_deployment(self, deployment: EmulatorDeployment) -> None:
        """Add (or replace) a deployment while running."""
        self._state.put_deployment(deployment)

    def remove_deployment(self, name: str) -> None:
        self._state.remove_deployment(name)

    # --- tokens ---------------------------------------------------------------------------------

    def issue_token(
        self, lifetime: float | None = None, *, audience: str = DEFAULT_AUDIENCE
    ) -> str:
        """A valid Entra token, minted directly (not counted in :attr:`tokens_issued`)."""
        return self._state.issuer.mint(audience, lifetime=lifetime)[0]

    @property
    def tokens_issued(self) -> int:
        """Tokens minted through the managed-identity endpoints."""
        return self._state.issuer.endpoint_tokens

    # --- request log ----------------------------------------------------------------------------

    @property
    def requests(self) -> list[RequestRecord]:
        """Every request received, oldest first (secrets redacted; see :class:`RequestRecord`)."""
        return self._state.logged()

    def clear_requests(self) -> None:
        self._state.clear_log()

    # --- scripted replies and faults ------------------------------------------------------------

    def script(self, deployment: str, replies: Iterable[Mapping[str, Any] | str]) -> None:
        """Queue exact replies for ``deployment``'s next chat or Responses requests, one per
        request: ``{"content": "..."}`` (or just the string), ``{"tool_calls": [{"name": ...,
        "arguments": {...}}]}``, optionally ``"finish_reason"``."""
        self._state.script(deployment, replies)

    def inject(self, deployment: str, fault: Fault) -> None:
        """Add a fault for ``deployment`` (``"*"``: every deployment); see :class:`Fault`."""
        self._state.inject(deployment, fault)

    def clear_faults(self, deployment: str | None = None) -> None:
        self._state.clear_faults(deployment)

    def reset(self) -> None:
        """Forget requests, faults, scripted replies, stored responses and spent quota."""
        self._state.reset()

    def __repr__(self) -> str:
        where = self.endpoint if self._port is not None else "not started"
        return f"Emulator({where}, deployments={[d.name for d in self.deployments]})"
