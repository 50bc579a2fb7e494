"""The :class:`Emulator`: the app served by uvicorn on a background thread on ``127.0.0.1``.

Starting binds the sockets first (so the ports are known at once, even with ``port=0``), then
runs uvicorn on its own thread and event loop and returns when it accepts connections; stopping
asks uvicorn to exit, joins the thread and closes the sockets. Both take a fraction of a second.
starlette and uvicorn are imported only by :meth:`Emulator.start`, so configuring an emulator
(and ``import azoai_emulator``) works without them.

Two listeners share that thread and loop: Azure OpenAI over plain HTTP (:attr:`Emulator.endpoint`),
and the Entra token service over HTTPS (:attr:`Emulator.authority_host`), with a certificate from
a throwaway CA made at start (:mod:`.tls`; :attr:`Emulator.ca_bundle`), removed at stop.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from azoai_emulator.config import (
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
from azoai_emulator.entra import (
    DEFAULT_TENANT_ID,
    EntraDirectory,
    handle_entra,
    mint_federated_token,
)
from azoai_emulator.faults import Fault
from azoai_emulator.identity import DEFAULT_AUDIENCE
from azoai_emulator.protocol import RequestRecord
from azoai_emulator.state import EmulatorState

__all__ = ["Emulator"]

_START_TIMEOUT = 10.0
_STOP_TIMEOUT = 5.0


class _DenialLogFilter(logging.Filter):
    """uvicorn's sans-I/O WebSocket protocol logs an error after every handshake the app refused
    with an HTTP response (the emulator's 401s), although that is a completed exchange."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "returned without completing handshake" not in record.getMessage()


_DENIAL_FILTER = _DenialLogFilter()


def _tls_server_class() -> type[Any]:
    """A uvicorn server that aborts its connections when it shuts down. Closing a TLS connection
    politely waits for the client's close_notify, which an idle keep-alive client (a requests
    session in the test process) never sends, so a graceful stop would wait its full timeout."""
    import uvicorn

    class _AbortingServer(uvicorn.Server):
        async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
            for connection in list(self.server_state.connections):
                transport = getattr(connection, "transport", None)
                if transport is not None:
                    transport.abort()
            await super().shutdown(sockets=sockets)

    return _AbortingServer


class Emulator:
    """A local Azure OpenAI resource. Use as a context manager, or :meth:`start` / :meth:`stop`::

        with Emulator() as emu:
            client = AzureOpenAI(azure_endpoint=emu.endpoint, api_key=emu.api_key, api_version="2024-10-21")

    ``deployments`` default to :data:`~azoai_emulator.DEFAULT_DEPLOYMENTS`; ``token_lifetime`` is
    the lifetime of Entra tokens it issues; ``port=0`` picks a free port; ``clock`` (epoch
    seconds) drives token expiry, the rate-limit buckets and WebSocket ages, so tests can control
    time; ``ws_max_age`` is how long a Responses WebSocket lives before
    ``websocket_connection_limit_reached`` (Azure: 60 minutes). ``request_latency`` delays every
    HTTP inference request and every WebSocket handshake (a new request's trip through Azure's
    front end), but not the messages on an open WebSocket; a deployment's ``latency`` delays
    every response, whichever the transport.

    Entra: ``entra_clients`` maps the client ids of the app registrations its token service
    knows to their secrets (``None``: an app without a secret, for federated tokens only); by
    default one app, :attr:`entra_client_id` with :attr:`entra_client_secret`. Point
    azure-identity at :attr:`authority_host` (``AZURE_AUTHORITY_HOST``) with :attr:`tenant_id`
    (any tenant works), trust :attr:`ca_bundle` (``REQUESTS_CA_BUNDLE``), and
    ``ClientSecretCredential`` and ``WorkloadIdentityCredential`` (with a token file holding
    :meth:`issue_federated_token`) get tokens from the emulator. ``entra_port=0`` picks a free
    port for that HTTPS listener.

    Foundry project endpoints: :meth:`project_endpoint` gives
    ``{endpoint}/api/projects/<name>``, which serves the v1 API for any project name unless
    ``projects`` lists the names that exist (others answer 404).
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
        entra_clients: Mapping[str, str | None] | None = None,
        entra_port: int = 0,
        projects: Iterable[str] | None = None,
        batch_lines_per_second: float | None = None,
        batch_stage_seconds: float = 0.0,
        batch_max_requests_per_file: int = 100_000,
        batch_max_file_bytes: int = 200_000_000,
        fine_tuning_stage_seconds: float = 1.0,
        fine_tuning_deploy_seconds: float = 0.5,
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
            entra=EntraDirectory.of(entra_clients),
            projects=None if projects is None else frozenset(projects),
        )
        self.set_batch_speed(
            batch_lines_per_second,
            batch_stage_seconds,
            max_requests_per_file=batch_max_requests_per_file,
            max_file_bytes=batch_max_file_bytes,
        )
        self.set_fine_tuning_speed(fine_tuning_stage_seconds, fine_tuning_deploy_seconds)
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._requested_entra_port = entra_port
        self._entra_port: int | None = None
        self._entra_server: Any = None
        self._tls_dir: tempfile.TemporaryDirectory[str] | None = None
        self._ca_bundle: str | None = None
        self._entra_unavailable: str | None = None

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
            import uvicorn  # noqa: F401  (imported here to fail early with a clear message)

            from azoai_emulator.app import build_app
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError(
                "the emulator needs starlette and uvicorn: pip install 'azoai[emulator]'"
            ) from exc
        sock = self._bind(self._requested_port)
        self._port = sock.getsockname()[1]
        pairs = [(self._uvicorn_server(build_app(self._state)), sock)]
        self._server = pairs[0][0]
        try:
            entra = self._start_entra(build_app)
        except BaseException:
            sock.close()
            self._cleanup_tls()
            raise
        if entra is not None:
            pairs.append(entra)
        self._error = None
        self._state.drop_connection = self._drop_connection
        thread = threading.Thread(
            target=self._run, args=(pairs,), name=f"azoai-emulator:{self._port}", daemon=True
        )
        self._thread = thread
        thread.start()
        deadline = time.monotonic() + _START_TIMEOUT
        while not all(server.started for server, _ in pairs):
            if not thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the emulator did not start: {self._error!r}")
            time.sleep(0.002)
        return self

    def _bind(self, port: int) -> socket.socket:
        # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets whose proto says TCP;
        # without it, Nagle's algorithm and delayed ACKs hold every second write back ~40 ms.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self._host, port))
        except OSError:
            sock.close()
            raise
        return sock

    def _uvicorn_server(
        self, app: Any, *, ssl_certfile: str | None = None, ssl_keyfile: str | None = None
    ) -> Any:
        import uvicorn

        server_class = uvicorn.Server if ssl_certfile is None else _tls_server_class()

        logging.getLogger("uvicorn.error").addFilter(_DENIAL_FILTER)  # idempotent
        config = uvicorn.Config(
            app,
            loop="asyncio",
            http="h11",
            ws="websockets-sansio",
            lifespan="off",
            log_config=None,
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=1,
            ssl_certfile=ssl_certfile,
            ssl_keyfile=ssl_keyfile,
        )
        return server_class(config)

    def _start_entra(self, build_app: Callable[..., Any]) -> tuple[Any, socket.socket] | None:
        """The HTTPS listener for the Entra token service, or ``None`` when ``cryptography``
        (needed for its certificate) is missing."""
        try:
            import cryptography  # noqa: F401

            from azoai_emulator.tls import write_tls_files
        except ImportError:  # pragma: no cover - depends on the environment
            self._entra_unavailable = (
                "the emulator's Entra token service needs the cryptography package for its TLS "
                "certificate: pip install 'azoai[emulator]'"
            )
            return None
        self._entra_unavailable = None
        self._tls_dir = tempfile.TemporaryDirectory(prefix="azoai-emulator-tls-")
        files = write_tls_files(Path(self._tls_dir.name), self._host)
        self._ca_bundle = str(files.ca_bundle)
        sock = self._bind(self._requested_entra_port)
        self._entra_port = sock.getsockname()[1]
        server = self._uvicorn_server(
            build_app(self._state, handler=handle_entra, websocket=False),
            ssl_certfile=str(files.certfile),
            ssl_keyfile=str(files.keyfile),
        )
        self._entra_server = server
        return server, sock

    def _run(self, pairs: list[tuple[Any, socket.socket]]) -> None:
        try:
            asyncio.run(self._serve(pairs))
        except BaseException as exc:  # reported by start(); a thread must not raise
            self._error = exc
        finally:
            for _, sock in pairs:
                sock.close()

    @staticmethod
    async def _serve(pairs: list[tuple[Any, socket.socket]]) -> None:
        """Run the servers on one loop; when one ends (stopped, or failed), stop the others."""
        tasks = [asyncio.ensure_future(server.serve(sockets=[sock])) for server, sock in pairs]
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for server, _ in pairs:
            server.should_exit = True
        for task in tasks:
            await task  # re-raises a server's failure

    def stop(self) -> None:
        """Stop serving and join the thread. Safe to call twice."""
        server, thread = self._server, self._thread
        if thread is None:
            return
        entra = self._entra_server
        self._state.stopping.set()  # simulated waits end and drop their connections
        for s in (server, entra):
            if s is not None:
                s.should_exit = True
        thread.join(timeout=_STOP_TIMEOUT)
        if thread.is_alive():
            for s in (server, entra):
                if s is not None:
                    s.force_exit = True
            thread.join(timeout=_STOP_TIMEOUT)
        self._thread = None
        self._server = None
        self._entra_server = None
        self._state.drop_connection = None
        self._state.stopping.clear()
        self._cleanup_tls()

    def _cleanup_tls(self) -> None:
        tls_dir, self._tls_dir = self._tls_dir, None
        self._ca_bundle = None
        if tls_dir is not None:
            tls_dir.cleanup()

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

    def project_endpoint(self, project: str = "proj") -> str:
        """A Foundry project endpoint on this emulator: ``{endpoint}/api/projects/<project>``
        (its OpenAI-compatible base URL is that plus ``/openai/v1``)."""
        return f"{self.endpoint}/api/projects/{project}"

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

    # --- Entra (service principals and workload identity) ----------------------------------------

    @property
    def authority_host(self) -> str:
        """The Entra authority, ``https://127.0.0.1:PORT``: set ``AZURE_AUTHORITY_HOST`` to it
        (or pass ``authority=``), and trust :attr:`ca_bundle`."""
        if self._entra_unavailable is not None:
            raise RuntimeError(self._entra_unavailable)
        if self._entra_port is None:
            raise RuntimeError("the emulator has not been started")
        return f"https://{self._host}:{self._entra_port}"

    @property
    def ca_bundle(self) -> str:
        """Path of the PEM file with the CA that signed :attr:`authority_host`'s certificate
        (for ``REQUESTS_CA_BUNDLE`` or ``SSL_CERT_FILE``). A fresh CA per start; the file is
        removed when the emulator stops."""
        if self._entra_unavailable is not None:
            raise RuntimeError(self._entra_unavailable)
        if self._ca_bundle is None:
            raise RuntimeError("the emulator is not running")
        return self._ca_bundle

    @property
    def tenant_id(self) -> str:
        """A tenant id for ``AZURE_TENANT_ID`` (the token service answers for any tenant)."""
        return DEFAULT_TENANT_ID

    @property
    def entra_client_id(self) -> str | None:
        """The first app registration's client id (``AZURE_CLIENT_ID``)."""
        return self._state.entra.first_client()[0]

    @property
    def entra_client_secret(self) -> str | None:
        """The first app registration's secret (``AZURE_CLIENT_SECRET``), ``None`` if it has none."""
        return self._state.entra.first_client()[1]

    def issue_federated_token(
        self,
        client_id: str | None = None,
        *,
        subject: str = "system:serviceaccount:default:workload",
        lifetime: float = 3600.0,
    ) -> str:
        """A federated token for a workload identity's token file (``AZURE_FEDERATED_TOKEN_FILE``):
        what Kubernetes projects into a pod, exchangeable at the token service by ``client_id``
        (default :attr:`entra_client_id`) until it expires (``lifetime`` seconds on the
        emulator's clock). Write a new one to the file to rotate it."""
        chosen = client_id or self.entra_client_id
        if chosen is None:
            raise ValueError("the emulator has no Entra app registrations (entra_clients={})")
        return mint_federated_token(self._state, chosen, subject=subject, lifetime=lifetime)

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

    # --- fine-tuning --------------------------------------------------------------------------------

    def set_fine_tuning_speed(
        self, stage_seconds: float = 1.0, deploy_seconds: float = 0.5
    ) -> None:
        """How fast fine-tuning goes (see :mod:`.api_fine_tuning`): a job spends
        ``stage_seconds`` of the emulator's clock in each stage (validating files, queued, each
        epoch); a new deployment of a fine-tuned model is ``Creating`` for ``deploy_seconds``."""
        self._state.fine_tuning.configure(
            stage_seconds=stage_seconds, deploy_seconds=deploy_seconds
        )

    @property
    def fine_tuning_jobs(self) -> list[dict[str, Any]]:
        """Every fine-tuning job, as its job object (without advancing it)."""
        return [j.to_json() for j in self._state.fine_tuning.all_jobs()]

    # --- files and batches ------------------------------------------------------------------------

    def set_batch_speed(
        self,
        lines_per_second: float | None = None,
        stage_seconds: float = 0.0,
        *,
        max_requests_per_file: int = 100_000,
        max_file_bytes: int = 200_000_000,
    ) -> None:
        """How batches run (see :mod:`.api_batches`): ``lines_per_second`` lines of a batch run
        per second of the emulator's clock (``None``: as many as each read allows), a batch
        spends ``stage_seconds`` validating, finalizing and cancelling; input files may hold at
        most ``max_requests_per_file`` requests (else ``too_many_tasks``) and
        ``max_file_bytes`` bytes (Azure: 100,000 and 200 MB)."""
        self._state.batch.configure(
            lines_per_second=lines_per_second,
            stage_seconds=stage_seconds,
            max_requests=max_requests_per_file,
            max_file_bytes=max_file_bytes,
        )

    def expire_batches(self) -> int:
        """Make every batch still validating or in progress expire on its next read (as after
        its 24 hours); returns how many."""
        from azoai_emulator.api_batches import expire

        return expire(self._state)

    @property
    def batches(self) -> list[dict[str, Any]]:
        """Every batch, as its batch object (without advancing it)."""
        return [b.to_json() for b in self._state.batch.all_batches()]

    @property
    def files(self) -> list[dict[str, Any]]:
        """Every stored file, as its file object."""
        return [f.to_json() for f in self._state.batch.all_files()]

    # --- tokens ---------------------------------------------------------------------------------

    def issue_token(
        self, lifetime: float | None = None, *, audience: str = DEFAULT_AUDIENCE
    ) -> str:
        """A valid Entra token, minted directly (not counted in :attr:`tokens_issued`)."""
        return self._state.issuer.mint(audience, lifetime=lifetime)[0]

    @property
    def tokens_issued(self) -> int:
        """Tokens minted through the token endpoints (managed identity and Entra)."""
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
        """Forget requests, faults, scripted replies, stored responses, spent quota, files and
        batches."""
        self._state.reset()

    def __repr__(self) -> str:
        where = self.endpoint if self._port is not None else "not started"
        return f"Emulator({where}, deployments={[d.name for d in self.deployments]})"
