"""Deployment discovery wired to the request loop: ARM GETs retried under the retry policy,
and the management token from its own token cache (single-flight, like every credential)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from azoai.config.catalog import lookup_model
from azoai.config.deployments import DeploymentDiscovery, DiscoverySettings
from azoai.config.settings import RetryPolicy
from azoai.error_reading import error_from_response
from azoai.errors import AzoaiError
from azoai.io.arm import ArmGet, ArmTransport
from azoai.pipeline.loop import run
from azoai.pipeline.policy import DEFAULT_OPTIONS, Attempts, Call

if TYPE_CHECKING:
    from azoai.config.settings import Settings

__all__ = ["arm_get", "discovery_for", "management_token"]


def arm_get(
    settings: DiscoverySettings, retry: RetryPolicy | None = None
) -> Callable[[str, Mapping[str, str]], tuple[int, Any]]:
    """``http_get`` for :class:`DeploymentDiscovery`: each page is one request through the
    request loop, so a 429 or 5xx from ARM is retried like any call to Azure."""
    transport = ArmTransport(settings.timeout)
    policy = retry if retry is not None else RetryPolicy()

    def get(url: str, headers: Mapping[str, str]) -> tuple[int, Any]:
        call = Call("(deployment listing)", "arm", url, b"", lookup_model(None), False, [])

        def error_for(status: int, content: bytes, h: Mapping[str, str]) -> AzoaiError:
            return error_from_response(status, content, h)

        attempts = Attempts(policy, call, DEFAULT_OPTIONS, lambda _auth: False, error_for)
        req = ArmGet(url, headers)
        return run(attempts, lambda: transport.send(req))  # type: ignore[no-any-return]

    return get


def discovery_for(settings: Settings) -> DeploymentDiscovery:
    """Discovery for a client's settings: the discovery credential (or the client's own, or a
    default Azure credential), its token cache, and ARM GETs through the request loop."""
    d = settings.discovery
    assert d is not None
    return DeploymentDiscovery(
        d,
        get_token=management_token(settings, d),
        http_get=arm_get(d, settings.retry),
        fallback=settings.deployments,
    )


def management_token(settings: Settings, d: DiscoverySettings) -> Callable[[], str]:
    """A bearer token for the management API (``d.scope``), from ``d.credential``, else the
    client's own credential, else one built from the client's auth settings (a default Azure
    credential), kept in its own single-flight token cache. Discovery and deploying a
    fine-tuned model share these rules."""
    from azoai.io.auth import TokenCache, build_credential, credential_fetchers

    auth = settings.auth
    cred = d.credential
    if cred is None and auth.mode == "credential":
        cred = auth.credential
    holder: list[Any] = [cred]

    def fetch() -> Any:
        if holder[0] is None:
            mode = (
                auth.mode
                if auth.mode
                in (
                    "managed_identity",
                    "default_credential",
                    "workload_identity",
                    "client_secret",
                    "azure_cli",
                )
                else "default_credential"
            )
            holder[0] = build_credential(
                mode,
                client_id=auth.client_id,
                tenant_id=auth.tenant_id,
                client_secret=auth.client_secret,
            )
        sync_fetch, _ = credential_fetchers(holder[0], d.scope)
        if sync_fetch is None:
            raise AzoaiError("discovery needs a sync credential")
        return sync_fetch()

    cache = TokenCache(fetch, None, source="discovery credential")
    return lambda: cache.get().token.get_secret_value()
